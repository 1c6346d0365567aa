"""The `strangler` command: one verb per step of the migration loop."""

from __future__ import annotations

import importlib

import click

from strangler import __version__

# Verbs load lazily so `strangler --help` stays fast and a verb's heavy imports
# (mitmproxy, sqlglot, kafka) are paid only by the verb that needs them.
# name -> (module:attribute, one-line purpose shown by --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": (
        "strangler.cli.analyze:analyze",
        "Suggest bounded contexts, table owners and an extraction order from SQL.",
    ),
    "cdc": (
        "strangler.cli.cdc:cdc",
        "Capture changes as Debezium events and apply them to another database.",
    ),
    "demo": ("strangler.cli.demo:demo", "Run the bundled ShopCo demo on embedded defaults."),
    "monolith": (
        "strangler.cli.monolith:monolith",
        "Serve, seed, migrate and drive traffic at the legacy ShopCo monolith.",
    ),
    "router": (
        "strangler.cli.router_serve:router",
        "Run the strangler router (mitmproxy data plane + admin API) before the monolith.",
    ),
    "routes": (
        "strangler.cli.routes:routes",
        "Move endpoints monolith → shadow → canary → service live; history, rollback, export.",
    ),
    "upstreams": (
        "strangler.cli.router_upstreams:upstreams",
        "Register the services routes send traffic to (URLs, health checks, breakers).",
    ),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="strangler")
def main() -> None:
    """Split a monolith one endpoint at a time: analyze, route, sync, verify.

    Every verb works on the bundled ShopCo monolith and on your own system.
    Run `strangler VERB --help` for details.
    """
