"""`strangler config`: the settings in effect here, and the reference of every setting."""

from __future__ import annotations

import click

from strangler.cli._common import print_json, user_errors


@click.group("config")
def config() -> None:
    """Show the settings in effect, or the reference of every setting.

    Settings come from the defaults, `[section]` tables of strangler.toml (or the file in
    STRANGLER_CONFIG), and STRANGLER_<SECTION>_<FIELD> variables, in rising precedence;
    command-line options win over all of them. docs/configuration.md lists every key.
    """


@config.command(short_help="Print the settings in effect for sections (default: all).")
@click.argument("sections", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: section -> settings.")
def show(sections: tuple[str, ...], as_json: bool) -> None:
    """Print the values of SECTIONS (monolith, router, gate, dashboard, analyze, cdc,
    catalog, reviews or any extracted service's name) as loaded here: defaults, then
    strangler.toml, then the environment. A bad key or value fails, naming it, exactly
    as the command that reads the section would."""
    from strangler.config_reference import SECTIONS, effective, toml_value
    from strangler_settings import ConfigError

    names = list(sections) or [n for s in SECTIONS for n in (s.names or (s.name,))]
    with user_errors(ConfigError, ValueError):
        values = {name: effective(name) for name in names}
    if as_json:
        print_json(values)
        return
    for name, fields in values.items():
        click.echo(f"[{name}]")
        for key, value in fields.items():
            click.echo(f"{key} = {toml_value(value)}")
        click.echo()


@config.command(short_help="Print docs/configuration.md: every setting of every section.")
def reference() -> None:
    """Print the reference of every setting (Markdown), generated from the settings
    dataclasses: keys, types, defaults, environment variables and what each is for."""
    from strangler.config_reference import render

    click.echo(render(), nl=False)
