"""cdc.bootstrap: the embedding example of docs/cdc.md runs as written; one source of defaults."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import pytest

from cdc.bootstrap import capture_from, open_pipeline, open_transport, sink_from
from cdc.capture_sqlite import SqliteCapture
from cdc.config import CdcConfig
from cdc.errors import CdcError
from cdc.pipeline import Options
from tests.cdc.helpers import checksum

DOC = Path(__file__).resolve().parents[2] / "docs" / "cdc.md"


def _embedding_example() -> str:
    section = DOC.read_text().split("## Embed CDC in your program", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/cdc.md has no python example under 'Embed CDC in your program'"
    return match.group(1)


def test_the_embedding_example_in_the_docs_copies_the_tables(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    conn = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    conn.executescript(
        "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER);"
    )
    conn.executemany("INSERT INTO products VALUES (?, ?)", [(i, f"p{i}") for i in range(20)])
    conn.executemany("INSERT INTO stock VALUES (?, ?)", [(i, i) for i in range(20)])
    exec(compile(_embedding_example(), str(DOC), "exec"), {})
    assert "40 published, 40 applied" in capsys.readouterr().out
    conn.execute("UPDATE stock SET qty = qty + 1")
    exec(compile(_embedding_example(), str(DOC), "exec"), {})  # re-run: streams the change
    assert "20 published, 20 applied" in capsys.readouterr().out
    for table in ("products", "stock"):
        assert checksum("sqlite:///shop.db", table) == checksum("sqlite:///catalog.db", table)
    conn.close()


def test_the_source_url_chooses_the_capture(tmp_path):
    (tmp_path / "a.db").touch()
    sqlite = capture_from(CdcConfig(source=f"sqlite:///{tmp_path / 'a.db'}"))
    assert isinstance(sqlite, SqliteCapture)
    sqlite.close()
    with pytest.raises(CdcError, match="cannot connect to the source"):
        capture_from(CdcConfig(source="postgresql://u@127.0.0.1:1/x"))


def test_missing_pieces_are_named():
    with pytest.raises(CdcError, match="no source to capture"):
        capture_from(CdcConfig())
    assert sink_from(CdcConfig()) is None
    with pytest.raises(CdcError, match="nothing to run"), open_pipeline(CdcConfig()):
        pass
    sink_only = CdcConfig(sink="sqlite://")
    with pytest.raises(CdcError, match="needs the topics"), open_pipeline(sink_only):
        pass
    with pytest.raises(CdcError, match="unknown transport kind 'carrier'"):
        open_transport("carrier:x")


def test_pipeline_options_default_to_the_config_defaults():
    assert Options.from_config(CdcConfig()) == Options()
    shared = {f.name for f in dataclasses.fields(CdcConfig)} & {
        f.name for f in dataclasses.fields(Options)
    }
    assert shared >= {"batch", "chunk_rows", "group", "tombstones", "txn_buffer"}
    changed = Options.from_config(CdcConfig(batch=7, group="g", worker="1/3"))
    assert (changed.batch, changed.group, str(changed.worker)) == (7, "g", "1/3")
