"""`strangler tutorial`: docs/tutorial.md's steps in the terminal — explain, run, check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

import extracted.catalog

if TYPE_CHECKING:
    from strangler.tutorial_steps import Step

RULES = Path(extracted.catalog.__file__).parent / "parity.toml"
PORTS = (5100, 5101, 8180, 8181)


def config_text(monolith_db: str, catalog_db: str, kafka: str) -> str:
    """The tutorial's strangler.toml: where everything runs, on SQLite or real engines."""
    transport = f"kafka:{kafka}" if kafka else "embedded:var/cdc-log.db"
    return f"""# written by `strangler tutorial --init`
[monolith]
database_url = "{monolith_db}"
port = {PORTS[0]}
log_level = "WARNING"

[catalog]
database_url = "{catalog_db}"
port = {PORTS[1]}
log_level = "WARNING"
cdc_source = "{monolith_db}"
cdc_transport = "{transport}"

[router]
listen = "127.0.0.1:{PORTS[2]}"
admin = "127.0.0.1:{PORTS[3]}"
monolith = "http://127.0.0.1:{PORTS[0]}"
store = "sqlite:///var/router.db"
token_file = "var/router-admin-token"
access_log = "var/router-access.log"
shadow_rules = "{RULES}"

[gate]
# the gate judges each route's newest 20 comparisons (the reads made once CDC caught up);
# latency is not judged here (one busy moment of a laptop decides a p99)
min_comparisons = 20
window = 20
p99_margin = 1000.0
cdc_sink = "{catalog_db}"
cdc_pipeline = "catalog"
"""


@click.command("tutorial")
@click.option("--step", "start", type=click.IntRange(0, 10), default=0, help="Resume at step N.")
@click.option("--auto", is_flag=True, help="Run every step without asking, checking each.")
@click.option("--init", is_flag=True, help="Write the tutorial's strangler.toml here (step 0).")
@click.option("--monolith-db", default="sqlite:///var/shopco.db", show_default=True,
              help="With --init: the monolith's database URL.")  # fmt: skip
@click.option("--catalog-db", default="sqlite:///var/catalog.db", show_default=True,
              help="With --init: the catalog service's database URL.")  # fmt: skip
@click.option(
    "--kafka", default="", help="With --init: HOST:PORT of Kafka for CDC (else embedded)."
)
@click.option("--check", "check", type=click.IntRange(0, 10), default=None,
              help="Only check that step N worked (waits up to 60 s for servers).")  # fmt: skip
@click.option("--print-db", is_flag=True, help="Print the monolith's database URL (for analyze).")
@click.option("--render", is_flag=True, help="Print docs/tutorial.md (rendered from the steps).")
def tutorial(
    start: int, auto: bool, init: bool, monolith_db: str, catalog_db: str, kafka: str,
    check: int | None, print_db: bool, render: bool,
) -> None:  # fmt: skip
    """Move ShopCo's catalog out of the monolith step by step (docs/tutorial.md).

    Each step explains what it does and which pattern it applies, runs its commands (or
    waits while you run them yourself), then checks that it worked before going on.
    Run it in an empty folder; `--step N` resumes, `--auto` runs everything.
    """
    from strangler.tutorial_checks import TutorialError, run_check
    from strangler.tutorial_steps import STEPS
    from strangler.tutorial_steps import render as render_doc

    if render:
        click.echo(render_doc(), nl=False)
        return
    if init:
        Path("var").mkdir(exist_ok=True)
        Path("strangler.toml").write_text(config_text(monolith_db, catalog_db, kafka), "utf-8")
        engines = "PostgreSQL" if monolith_db.startswith("postgres") else "SQLite"
        log = f"Kafka at {kafka}" if kafka else "embedded CDC log"
        ports = ", ".join(map(str, PORTS))
        click.echo(f"wrote strangler.toml ({engines}, {log}; ports {ports})")
        return
    if print_db:
        from monolith.config import load_config

        click.echo(load_config().database_url)
        return
    try:
        if check is not None:
            click.echo(f"step {check} holds: {run_check(check)}")
            return
        for step in STEPS[start:]:
            _run_step(step, auto)
            if step.check:
                click.secho(f"  ✓ {run_check(step.number)}", fg="green")
    except TutorialError as exc:
        if auto:
            _stop_servers()
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        if auto:
            _stop_servers()
        click.echo("\nstopped; resume with `strangler tutorial --step N`", err=True)
        raise SystemExit(130) from None


def _run_step(step: Step, auto: bool) -> None:
    from strangler.tutorial_checks import TutorialError

    click.secho(f"\n{step.number}. {step.title}", bold=True)
    if step.pattern:
        click.secho(f"   pattern: {step.pattern}", fg="cyan")
    click.echo(click.wrap_text(step.explain, initial_indent="   ", subsequent_indent="   "))
    for command in step.commands:
        click.secho(f"\n   $ {command.text}", fg="yellow")
        if not auto:
            answer = click.prompt(
                "   [Enter] run it, [s] I ran it myself, [q] quit", default="",
                show_default=False,
            )  # fmt: skip
            if answer.strip().lower() == "q":
                raise KeyboardInterrupt
            if answer.strip().lower() == "s":
                continue
        done = subprocess.run(command.text, shell=True, executable="/bin/bash", env=_env(),
                              capture_output=True, text=True)  # fmt: skip
        for line in (done.stdout + done.stderr).splitlines():
            click.echo(f"   {line}")
        if done.returncode != 0:
            raise TutorialError(f"step {step.number}: `{command.text}` exited {done.returncode}")


def _stop_servers() -> None:
    """Stop the servers the tutorial started here (their pids are in var/)."""
    import contextlib
    import signal

    for pid_file in Path("var").glob("*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        pid_file.unlink()


def _env() -> dict[str, str]:
    """The commands find this `strangler` first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
