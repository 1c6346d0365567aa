"""The `strangler` command: verbs and help (the demo: test_demo.py)."""

from __future__ import annotations

import re
import subprocess
import sys

from click.testing import CliRunner

from strangler import __version__
from strangler.cli import COMMANDS, main, missing_extra_message


def test_help_lists_every_verb_with_its_purpose():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, (_target, purpose) in COMMANDS.items():
        assert name in result.output
        assert purpose.split()[0] in result.output


def test_every_registered_verb_loads_and_explains_itself():
    for name in COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert len(result.output.splitlines()) > 3


def test_version_is_printed():
    result = CliRunner().invoke(main, ["--version"])
    assert result.output.strip() == f"strangler, version {__version__}"


def test_unknown_verb_is_a_usage_error():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


def test_python_dash_m_runs_the_same_command():
    proc = subprocess.run(
        [sys.executable, "-m", "strangler", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_a_verb_whose_extra_is_missing_names_the_extra_in_one_line(tmp_path) -> None:
    # None in sys.modules makes `import kafka`/`import orjson` fail as if not installed.
    code = (
        "import sys; sys.modules['kafka'] = sys.modules['orjson'] = None\n"
        "from strangler.cli import main\n"
        f"main(['cdc', 'run', '--source', 'sqlite:///{tmp_path}/a.db',"
        f" '--sink', 'sqlite:///{tmp_path}/b.db', '--once'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert re.fullmatch(
        r"Error: strangler cdc needs the 'cdc' extra \(module '(kafka|orjson)' is not "
        r"installed\): pip install 'strangler\[cdc\]'",
        done.stderr.strip(),
    ), done.stderr


def test_the_missing_extra_falls_back_to_the_verbs_extra_then_all() -> None:
    assert "strangler[shopco]" in missing_extra_message("monolith", "alembic.config")
    assert "strangler[all]" in missing_extra_message("demo", "rich")
    assert "'router' extra (module 'mitmproxy'" in missing_extra_message("demo", "mitmproxy.http")
