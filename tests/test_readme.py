"""Every command in README.md runs, as written, and does what the README says.

The README's `sh` blocks are read with markdown-it-py (CommonMark; a dev dependency),
and every command in them must be listed in `COMMANDS` below with how it is run: so a
command added to the README without a test, or a README command that no longer exists
here, fails `test_every_readme_command_is_run`.

They run in one scratch folder that looks like a checkout to `make` (Makefile, scripts/,
pyproject.toml and .venv are links to this repository's), in README order, with the
README's literal ports. Servers the README starts in the foreground (ShopCo, the catalog
service, the CDC run) are started in the background here and stopped after their block,
as a user would in a second terminal. Two commands are not run here, each for a reason
checked below: `make test` is what CI runs (.ci/run) on every submission, and the two
install lines are the fresh-venv installs of tests/strangler/test_app_install.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BIN = REPO / ".venv" / "bin"
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class How:
    """How one README command is run: `run` (wait for it, exit 0), `serve` (background
    until its block ends; ready when `ready` answers 200), or `elsewhere` (why not here)."""

    kind: str = "run"
    ready: str = ""  # URL that answers 200 once a served command is up
    elsewhere: str = ""


SERVE = How("serve")
COMMANDS: dict[str, How] = {
    "make demo": How("demo"),
    "make test": How("elsewhere", elsewhere="CI: .ci/run runs `make test` on a clean clone"),
    "pipx install 'strangler[all]'": How(
        "elsewhere", elsewhere="tests/strangler/test_app_install.py and scripts/bootstrap.sh"
    ),
    "pip install strangler": How("elsewhere", elsewhere="tests/strangler/test_app_install.py"),
    "strangler monolith migrate": How(),
    "strangler monolith seed --scale 1": How(),
    "strangler monolith serve --sql-log var/sql.jsonl": How(
        "serve", ready="http://127.0.0.1:5000/health"
    ),
    "strangler monolith traffic --base-url http://127.0.0.1:5000 --requests 300": How(),
    "strangler analyze --log var/demo/sql.jsonl --out var/analysis": How(),
    "strangler analyze --schema schema.sql --pg-log postgresql.log --out var/pg-analysis --json": (
        How()
    ),
    "export STRANGLER_ADMIN_TOKEN=change-me": How(),
    "strangler router serve --listen 127.0.0.1:8080 --admin 127.0.0.1:8081 "
    "--monolith http://127.0.0.1:5000 &": How("serve", ready="http://127.0.0.1:8081/health"),
    "strangler upstreams add catalog http://127.0.0.1:5001": How(),
    "strangler routes add --path '/api/products/**' --target catalog": How(),
    "strangler routes promote '/api/products/**'": How(),
    "strangler routes history; strangler routes rollback 3": How(),
    "strangler routes export --format nginx > strangler.conf": How(),
    "strangler extract migrate catalog": How(),
    "strangler extract sync catalog --source sqlite:///var/shopco.db &": SERVE,
    "strangler extract serve catalog --port 5001 --workers 4": How(
        "serve", ready="http://127.0.0.1:5001/ready"
    ),
    "strangler extract scaffold customers --context customers --report var/analysis/report.json"
    " --db sqlite:///var/shopco.db": How(),
    "pytest extracted/customers": How(),
    "strangler cdc setup  --source sqlite:///shop.db --tables products,stock_levels": How(),
    "strangler cdc run    --source sqlite:///shop.db --sink sqlite:///copy.db &": SERVE,
    "strangler cdc status --source sqlite:///shop.db --sink sqlite:///copy.db --json": How(),
}


def readme_blocks() -> list[list[str]]:
    """The commands of each `sh` block of the README, comments and blank lines removed."""
    from markdown_it import MarkdownIt

    blocks = []
    for token in MarkdownIt().parse(README.read_text(encoding="utf-8")):
        if token.type != "fence" or token.info.strip() != "sh":
            continue
        commands = []
        for line in token.content.splitlines():
            command = re.split(r"\s{2,}#|^\s*#", line)[0].rstrip()
            if command:
                commands.append(command)
        blocks.append(commands)
    return blocks


def test_every_readme_command_is_run() -> None:
    written = [c for block in readme_blocks() for c in block]
    assert sorted(set(written)) == sorted(COMMANDS), "README commands and this test differ"
    assert "make test" in (REPO / ".ci" / "run").read_text().splitlines()
    assert (REPO / "tests" / "strangler" / "test_app_install.py").exists()
    assert "pip install --quiet -e '.[all,dev]'" in (REPO / "scripts" / "bootstrap.sh").read_text()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


class Shell:
    """Runs README commands in one folder, keeping `export`s and background servers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
        for name in [k for k in self.env if k.startswith("STRANGLER_")]:
            del self.env[name]  # the README's defaults, not the suite's settings
        self.env.pop("DATABASE_URL", None)
        self.served: list[tuple[str, subprocess.Popen[str]]] = []
        self.outputs: dict[str, str] = {}

    def run(self, command: str) -> str:
        how = COMMANDS[command]
        if command.startswith("export "):
            name, _, value = command.removeprefix("export ").partition("=")
            self.env[name] = value
            return ""
        if how.kind == "serve":
            port = int(how.ready.split(":")[2].split("/")[0]) if how.ready else 0
            # else a server left over from elsewhere would answer for this one
            assert not port or _port_free(port), f"port {port} is taken before: {command}"
            line = command.removesuffix("&").strip()
            log = open(self.folder / f"serve-{len(self.served)}.log", "w")  # noqa: SIM115
            child = subprocess.Popen(
                ["bash", "-c", f"exec {line}"], cwd=self.folder, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            )  # fmt: skip
            self.served.append((command, child))
            if how.ready:
                _until(lambda: _answers(how.ready) or child.poll() is not None, 120, command)
                assert child.poll() is None, (self.folder / log.name).read_text()
            return ""
        done = subprocess.run(
            ["bash", "-c", command], cwd=self.folder, env=self.env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        self.outputs[command] = done.stdout
        return done.stdout

    def stop_servers(self) -> None:
        for _, child in reversed(self.served):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
        self.served.clear()
        for port in (5000, 5001, 8080, 8081):
            _until(lambda: _port_free(port), 30, f"port {port} freed")  # noqa: B023


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    folder = tmp_path_factory.mktemp("readme")
    for name in ("Makefile", "scripts", "pyproject.toml", ".venv"):
        (folder / name).symlink_to(REPO / name)
    runner = Shell(folder)
    yield runner
    runner.stop_servers()


def _block(words: str) -> list[str]:
    """The README block holding a command that contains `words`."""
    return next(b for b in readme_blocks() if any(words in c for c in b))


def test_make_demo_migrates_the_catalog_and_stops_on_ctrl_c(shell: Shell) -> None:
    assert all(_port_free(p) for p in (5000, 5001, 5002, 5003)), "the demo's ports are taken"
    # `make demo` runs `make venv`: with the install stamp missing it would reinstall the
    # checkout from this scratch folder (which only links pyproject.toml) into the venv
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()[:16]
    assert (REPO / ".venv" / f".installed-{digest}").exists(), "run `make venv` first"
    demo = subprocess.Popen(
        ["make", "demo"], cwd=shell.folder, env=shell.env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert demo.stdout is not None
        for line in iter(demo.stdout.readline, ""):
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches make and the demo
        rest = demo.stdout.read()  # until the demo and make have exited
        demo.wait(60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    text = "".join(seen)
    assert "Press Ctrl-C" in text, text
    assert "stopping" in rest and "Traceback" not in text + rest, rest
    with pytest.raises(ProcessLookupError):
        os.killpg(demo.pid, 0)  # nothing the demo started is left running
    assert (shell.folder / "var" / "demo" / "sql.jsonl").exists()
    assert (shell.folder / "var" / "demo" / "verify.html").exists()
    _until(lambda: all(_port_free(p) for p in (5000, 5001, 5002, 5003)), 30, "demo stopped")


def test_the_shopco_block(shell: Shell) -> None:
    for command in _block("strangler monolith migrate"):
        shell.run(command)
    shell.stop_servers()
    log = (shell.folder / "var" / "sql.jsonl").read_text().splitlines()
    assert len(log) > 300 and "endpoint" in json.loads(log[-1])


def test_the_analyze_block(shell: Shell) -> None:
    from tests.analysis.corpus.generate import materialise

    tpcc = materialise("tpcc", shell.folder / "corpus")  # a PostgreSQL server log + DDL
    (shell.folder / "schema.sql").write_bytes(tpcc.schema.read_bytes())
    (shell.folder / "postgresql.log").write_bytes(tpcc.workload.read_bytes())
    block = _block("strangler analyze")
    for command in block:
        shell.run(command)
    assert (shell.folder / "var" / "analysis" / "report.md").exists()
    report = json.loads(shell.outputs[block[-1]])
    assert report["verdict"]["kind"] == "one-context"  # TPC-C: one tightly coupled context


def test_the_router_block(shell: Shell) -> None:
    for command in _block("strangler router serve"):
        shell.run(command)
    history = shell.outputs["strangler routes history; strangler routes rollback 3"]
    assert "promote api-products-all" in history and "restored version 3" in history
    assert "location" in (shell.folder / "strangler.conf").read_text()
    shell.stop_servers()


def test_the_extracted_services_block(shell: Shell) -> None:
    for command in _block("strangler extract migrate"):
        shell.run(command)
    with urllib.request.urlopen("http://127.0.0.1:5001/api/products/1", timeout=5) as reply:
        assert json.loads(reply.read())["id"] == 1  # filled by CDC from ShopCo's database
    shell.stop_servers()


def test_the_scaffold_block(shell: Shell) -> None:
    for command in _block("strangler extract scaffold"):
        shell.run(command)
    assert "xfailed" in shell.outputs["pytest extracted/customers"]


def test_the_cdc_block(shell: Shell) -> None:
    seeded = {**shell.env, "DATABASE_URL": "sqlite:///shop.db"}  # "your" database
    for step in (["migrate"], ["seed", "--scale", "1"]):
        subprocess.run([str(BIN / "strangler"), "monolith", *step], cwd=shell.folder,
                       env=seeded, check=True, capture_output=True)  # fmt: skip
    block = _block("strangler cdc setup")
    status_command = block[-1]
    for command in block[:-1]:
        shell.run(command)

    def applied() -> bool:
        status = json.loads(shell.run(status_command))
        rows = {t["table"]: t for t in status["tables"]}
        return all(rows[t]["applied"] > 0 and rows[t]["lag_events"] == 0
                   for t in ("products", "stock_levels"))  # fmt: skip

    _until(applied, 60, "the CDC run applied the snapshot")
    shell.stop_servers()
    with sqlite3.connect(shell.folder / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM products").fetchone() == (200,)
