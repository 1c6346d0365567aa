"""The `strangler` command: one verb per step of the migration loop."""

from __future__ import annotations

import importlib

import click

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
    "config": (
        "strangler.cli.config:config",
        "Show the settings in effect here, or the reference of every setting.",
    ),
    "demo": (
        "strangler.cli.demo:demo",
        "Migrate ShopCo's catalog to its own service in one command (embedded defaults).",
    ),
    "extract": (
        "strangler.cli.extract:extract",
        "Migrate, sync and serve the services extracted from the monolith.",
    ),
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
    "tutorial": (
        "strangler.cli.tutorial:tutorial",
        "Move ShopCo's catalog out step by step: explain, run, check (docs/tutorial.md).",
    ),
    "upstreams": (
        "strangler.cli.router_upstreams:upstreams",
        "Register the services routes send traffic to (URLs, health checks, breakers).",
    ),
    "verify": (
        "strangler.cli.verify:verify",
        "Replay traffic to the monolith and a candidate; report differences per route and field.",
    ),
}


# A verb whose third-party imports are missing names the extra that brings them. The
# module's own extra wins; otherwise the verb's; otherwise "all".
MODULE_EXTRAS: dict[str, str] = {
    "mitmproxy": "router",
    "uvloop": "router",
    "kafka": "cdc",
    "crc32c": "cdc",
    "orjson": "cdc",
    "sqlglot": "analyze",
    "graphviz": "analyze",
    "networkx": "analyze",
}
VERB_EXTRAS: dict[str, str] = {
    "analyze": "analyze",
    "cdc": "cdc",
    "extract": "shopco",
    "monolith": "shopco",
    "router": "router",
    "routes": "router",
    "upstreams": "router",
}


# Our own packages: a missing one is a broken install or a bug, never an extra to add.
OWN_PACKAGES = frozenset(
    {"analysis", "cdc", "extracted", "handover", "monolith", "parity", "router", "scaffold"}
)


def missing_extra(verb: str, exc: ModuleNotFoundError) -> Exception:
    """Turn a missing third-party module into one line naming the extra; re-raise ours."""
    top = (exc.name or "").split(".")[0]
    if not top or top in OWN_PACKAGES or top.startswith("strangler"):
        return exc
    return click.ClickException(missing_extra_message(verb, top))


def missing_extra_message(verb: str, module: str) -> str:
    """One line naming the extra to install for `verb`, whose import of `module` failed."""
    top = module.split(".")[0]
    extra = MODULE_EXTRAS.get(top) or VERB_EXTRAS.get(verb, "all")
    return (
        f"strangler {verb} needs the '{extra}' extra (module '{top}' is not installed): "
        f"pip install 'strangler[{extra}]'"
    )


class LazyGroup(click.Group):
    """A group whose sub-commands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise missing_extra(cmd_name, exc) from None
        command: click.Command = getattr(module, attr)
        return command

    def invoke(self, ctx: click.Context) -> object:
        # Verbs import their heavy dependencies late (inside commands), so a missing extra
        # surfaces here too, not only when the verb's module is imported.
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            raise missing_extra(ctx.invoked_subcommand or "", exc) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="strangler", prog_name="strangler")
def main() -> None:
    """Split a monolith one endpoint at a time: analyze, route, sync, verify.

    Every verb works on the bundled ShopCo monolith and on your own system.
    Run `strangler VERB --help` for details.
    """
