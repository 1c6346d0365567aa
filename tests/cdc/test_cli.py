"""`strangler cdc`: the verbs work end to end and user mistakes get one clear line."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from strangler.cli.cdc import cdc
from tests.cdc.helpers import checksum
from tests.services._common import free_port


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRANGLER_CONFIG", raising=False)
    conn = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    conn.executescript(
        """
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2));
        CREATE TABLE stock (product_id INTEGER PRIMARY KEY, qty INTEGER NOT NULL);
        CREATE TABLE loose (body TEXT);
        """
    )
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, ?)", [(i, f"p{i}", i * 1.25) for i in range(50)]
    )
    conn.executemany("INSERT INTO stock VALUES (?, ?)", [(i, i) for i in range(50)])
    yield conn, f"sqlite:///{tmp_path / 'shop.db'}", f"sqlite:///{tmp_path / 'svc.db'}"
    conn.close()


def invoke(*args: str):
    return CliRunner().invoke(cdc, list(args), catch_exceptions=False)


def test_setup_run_status_apply_changes_to_the_sink(shop, tmp_path):
    conn, src, dst = shop
    assert invoke("setup", "--source", src, "--tables", "products,stock").exit_code == 0
    transport = f"embedded:{tmp_path / 'log.db'}"
    result = invoke("run", "--source", src, "--sink", dst, "--transport", transport, "--once")
    assert result.exit_code == 0, result.output
    assert "100 published" in result.output
    conn.execute("UPDATE stock SET qty = qty - 1 WHERE product_id < 10")
    conn.execute("DELETE FROM products WHERE id = 3")
    invoke("run", "--source", src, "--sink", dst, "--transport", transport, "--once")
    assert checksum(src, "products") == checksum(dst, "products")
    assert checksum(src, "stock", "product_id") == checksum(dst, "stock", "product_id")
    status = invoke("status", "--source", src, "--sink", dst, "--json")
    tables = {t["table"]: t for t in json.loads(status.output)["tables"]}
    assert tables["stock"]["captured"] == 10
    assert tables["stock"]["applied"] == 60  # 50 snapshot rows + 10 updates
    assert tables["products"]["dead_letters"] == 0
    assert tables["products"]["snapshot"] == "50 rows, done"
    assert tables["products"]["topic"] == "strangler.main.products"


def test_snapshot_verb_republishes_chosen_tables(shop, tmp_path):
    _, src, _ = shop
    invoke("setup", "--source", src, "--tables", "products,stock")
    transport = f"embedded:{tmp_path / 'log.db'}"
    result = invoke("snapshot", "--source", src, "--tables", "stock", "--transport", transport)
    assert result.exit_code == 0, result.output
    assert "snapshot of stock: 50 rows published" in result.output


def test_dlq_list_and_retry(shop, tmp_path):
    _conn, src, dst = shop
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables.products]\ntarget = "items"\n')
    invoke("setup", "--source", src, "--tables", "products,stock")
    transport = f"embedded:{tmp_path / 'log.db'}"
    invoke("run", "--source", src, "--sink", dst, "--transport", transport,
           "--mapping", str(mapping), "--once")  # fmt: skip
    listed = invoke("dlq", "list", "--sink", dst, "--json")
    letters = json.loads(listed.output)
    assert len(letters) == 50
    assert letters[0]["reason"] == "no mapping for table 'stock' (topic 'strangler.main.stock')"
    mapping.write_text('[tables.products]\ntarget = "items"\n[tables.stock]\n')
    retried = invoke("dlq", "retry", "--sink", dst, "--mapping", str(mapping))
    assert "50 applied, 0 still failing" in retried.output
    assert checksum(src, "stock", "product_id") == checksum(dst, "stock", "product_id")


def test_teardown_and_reset(shop, tmp_path):
    conn, src, dst = shop
    invoke("setup", "--source", src, "--tables", "stock")
    transport = f"embedded:{tmp_path / 'log.db'}"
    invoke("run", "--source", src, "--sink", dst, "--transport", transport, "--once")
    result = invoke("reset", "--source", src, "--sink", dst, "--yes")
    assert "next run takes an initial snapshot" in result.output
    again = invoke("run", "--source", src, "--sink", dst, "--transport", transport, "--once")
    assert "50 published" in again.output
    assert invoke("teardown", "--source", src).exit_code == 0
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert tables == set()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["setup", "--source", "sqlite:///nope.db", "--tables", "a"], "does not exist"),
        (["setup", "--tables", "stock"], "--source is required"),
        (["setup", "--source", "{src}", "--tables", "loose"], "has no primary key"),
        (["setup", "--source", "{src}", "--tables", "ghost"], "table 'ghost' does not exist"),
        (["run", "--source", "{src}", "--sink", "{dst}", "--transport", "carrier:x"],
         "transport must be embedded:PATH or kafka:HOST:PORT"),
        (["run", "--source", "{src}", "--sink", "{dst}"], "capture is not set up"),
        (["run", "--source", "postgresql://u@127.0.0.1:1/x"], "cannot connect to the source"),
        (["run", "--sink", "{dst}"], "--topics is required"),
        (["run", "--sink", "{dst}", "--topics", "t", "--mapping", "missing.toml"],
         "mapping file missing.toml does not exist"),
        (["dlq", "list"], "--sink is required"),
    ],
)  # fmt: skip
def test_user_mistakes_give_one_clear_line(shop, args, message):
    _, src, dst = shop
    args = [a.format(src=src, dst=dst) for a in args]
    result = CliRunner().invoke(cdc, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_kafka_at_start_up_is_named_and_nothing_is_acked(shop):
    conn, src, _ = shop
    assert invoke("setup", "--source", src, "--tables", "stock").exit_code == 0
    conn.execute("UPDATE stock SET qty = qty + 1 WHERE product_id < 5")
    dead = f"kafka:127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cdc, ["run", "--source", src, "--transport", dead, "--once"])
    assert result.exit_code != 0
    assert f"cannot reach Kafka at {dead.removeprefix('kafka:')}" in result.output
    assert "Traceback" not in result.output
    status = invoke("status", "--source", src, "--json")
    stock = json.loads(status.output)["tables"][0]
    assert (stock["captured"], stock["delivered"]) == (5, 0)  # all kept for the next run


def test_sigterm_stops_run_cleanly_with_positions_committed(shop, tmp_path):
    conn, src, dst = shop
    invoke("setup", "--source", src, "--tables", "stock")
    transport = f"embedded:{tmp_path / 'log.db'}"
    code = "from strangler.cli.cdc import cdc; cdc()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "run", "--source", src, "--sink", dst,
         "--transport", transport],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(_repo())},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(tmp_path / "svc.db") and _count(tmp_path / "svc.db") == 50:
            break
        time.sleep(0.1)
    conn.execute("UPDATE stock SET qty = 0")
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip().startswith("stopped:")
    assert "Traceback" not in err
    again = invoke("run", "--source", src, "--sink", dst, "--transport", transport, "--once")
    assert checksum(src, "stock", "product_id") == checksum(dst, "stock", "product_id")
    assert "0 dead-lettered" in again.output


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def _count(path) -> int:
    try:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT COUNT(*) FROM stock").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_run_with_atomic_transactions_applies_and_says_so_in_help(shop, tmp_path):
    conn, src, dst = shop
    assert "--atomic-transactions" in invoke("run", "--help").output
    invoke("setup", "--source", src, "--tables", "products,stock")
    transport = f"embedded:{tmp_path / 'log.db'}"
    args = ("run", "--source", src, "--sink", dst, "--transport", transport,
            "--atomic-transactions", "--once")  # fmt: skip
    assert invoke(*args).exit_code == 0
    conn.execute("BEGIN")
    conn.execute("UPDATE stock SET qty = qty - 1 WHERE product_id < 10")
    conn.execute("DELETE FROM products WHERE id = 3")
    conn.execute("COMMIT")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert checksum(src, "products") == checksum(dst, "products")
    assert checksum(src, "stock", "product_id") == checksum(dst, "stock", "product_id")
    log = sqlite3.connect(tmp_path / "log.db")
    topics = {t for (t,) in log.execute("SELECT name FROM topics")}
    log.close()
    assert "strangler.transaction" in topics
    status = invoke("status", "--source", src, "--sink", dst, "--json")
    assert status.exit_code == 0


def test_a_table_added_to_a_streaming_capture_says_how_to_publish_its_rows(shop, tmp_path):
    _, src, dst = shop
    transport = f"embedded:{tmp_path / 'log.db'}"
    assert invoke("setup", "--source", src, "--tables", "products").exit_code == 0
    assert "note:" not in invoke("setup", "--source", src, "--tables", "products").output
    assert invoke("run", "--source", src, "--sink", dst, "--transport", transport,
                  "--once").exit_code == 0  # fmt: skip
    added = invoke("setup", "--source", src, "--tables", "products,stock")
    assert added.exit_code == 0, added.output
    assert "already streaming" in added.output
    assert f"strangler cdc snapshot --source {src} --tables stock`" in added.output
    # what the note says to do works: the rows reach the sink
    assert invoke("snapshot", "--source", src, "--tables", "stock",
                  "--transport", transport).exit_code == 0  # fmt: skip
    assert invoke("run", "--source", src, "--sink", dst, "--transport", transport,
                  "--once").exit_code == 0  # fmt: skip
    with sqlite3.connect(tmp_path / "svc.db") as svc:
        assert svc.execute("SELECT count(*) FROM stock").fetchone() == (50,)
