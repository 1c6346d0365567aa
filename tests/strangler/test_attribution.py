"""The SQL attribution log ties each statement to the endpoint that issued it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import click
import flask
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from strangler.attribution import SqlLogWriter, install_sql_log


@pytest.fixture
def app_and_log(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    app = flask.Flask("sample")
    log = tmp_path / "sql.jsonl"
    writer = install_sql_log(app, engine, log)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int):
        with engine.connect() as conn:
            row = conn.execute(text("SELECT name FROM items WHERE id = :id"), {"id": item_id})
            return {"name": row.scalar()}

    @app.post("/items")
    def add_item():
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO items (name) VALUES (:n)"), {"n": flask.request.json["n"]}
            )
        return {}, 201

    yield app, engine, writer, log
    writer.close()
    engine.dispose()


def read_log(writer: SqlLogWriter, log: Path) -> list[dict]:
    writer.flush()
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_statement_in_a_request_is_attributed_to_the_url_rule(app_and_log):
    app, _engine, writer, log = app_and_log
    app.test_client().get("/items/7")
    app.test_client().get("/items/8")
    records = read_log(writer, log)
    assert [r["endpoint"] for r in records] == ["GET /items/<int:item_id>"] * 2
    assert records[0]["sql"].startswith("SELECT name FROM items")
    assert records[0]["dialect"] == "sqlite"
    assert records[0]["duration_ms"] >= 0
    assert records[0]["ts"].endswith("+00:00")


def test_statement_outside_a_request_is_attributed_to_background(app_and_log):
    _app, engine, writer, log = app_and_log
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM items"))
    assert read_log(writer, log)[-1]["endpoint"] == "background"


def test_statement_in_a_cli_command_is_attributed_to_the_command(app_and_log):
    _app, engine, writer, log = app_and_log

    @click.command("seed")
    def seed() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO items (name) VALUES ('x')"))

    assert CliRunner().invoke(seed).exit_code == 0
    assert read_log(writer, log)[-1]["endpoint"] == "cli seed"


def test_failed_statement_is_logged_with_its_error(app_and_log):
    app, _engine, writer, log = app_and_log
    client = app.test_client()
    assert client.post("/items", json={"n": "a"}).status_code == 201
    assert client.post("/items", json={"n": "a"}).status_code == 500
    inserts = [r for r in read_log(writer, log) if r["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert "error" not in inserts[0]
    assert inserts[1]["error"] == "IntegrityError"
    assert inserts[1]["endpoint"] == "POST /items"


def test_concurrent_requests_write_whole_lines_with_the_right_endpoint(app_and_log):
    app, _engine, writer, log = app_and_log

    def hit(n: int) -> None:
        client = app.test_client()
        for i in range(50):
            client.get(f"/items/{n * 100 + i}")

    threads = [threading.Thread(target=hit, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = read_log(writer, log)
    assert len(records) == 400
    assert {r["endpoint"] for r in records} == {"GET /items/<int:item_id>"}


def test_buffered_lines_reach_the_file_on_close(tmp_path):
    writer = SqlLogWriter(tmp_path / "sub" / "log.jsonl", batch=1000, interval=60)
    for i in range(10):
        writer.add((1.5e9, "background", f"SELECT {i}", 0.1, "sqlite", None))
    assert (tmp_path / "sub" / "log.jsonl").read_text() == ""
    writer.close()
    lines = (tmp_path / "sub" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 10
    writer.add((1.5e9, "background", "SELECT late", 0.1, "sqlite", None))
    writer.flush()  # dropped after close, without error
    assert json.loads(lines[0])["ts"] == "2017-07-14T02:40:00.000+00:00"
