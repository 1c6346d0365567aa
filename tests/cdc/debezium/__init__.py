"""Real Debezium for tests and benchmarks: Kafka Connect standalone + the PostgreSQL connector.

The jars (io.debezium:debezium-connector-postgres and Kafka Connect from Maven Central)
are resolved by scripts/ensure-services.sh (`make services`) from scripts/debezium/pom.xml
into a cache outside the repository; a test never downloads them.
`start_connect` runs one standalone worker with one connector; tests/cdc/test_debezium.py
and bench/cdc_debezium.py share it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.services._common import HOW_TO_INSTALL, REPO_ROOT, cache_root, free_port, unavailable
from tests.services.postgres import PostgresServer

POM = REPO_ROOT / "scripts" / "debezium" / "pom.xml"
DEBEZIUM = re.search(r"<debezium\.version>([^<]+)<", POM.read_text()).group(1)  # type: ignore[union-attr]
# The test's JVM: small and quick to start. A benchmark passes the JVM's defaults instead.
TEST_JVM = ("-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def debezium_libs() -> Path:
    """Return the folder of Connect + Debezium jars that `make services` resolved.

    Missing jars or Java skip the test locally and fail it under CI=true, like any
    missing service (tests/services/_common.py)."""
    libs = cache_root() / f"debezium-{DEBEZIUM}" / "libs"
    if shutil.which("java") is None:
        unavailable("Debezium", "no `java` to run Kafka Connect", HOW_TO_INSTALL)
    if not any(libs.glob("debezium-connector-postgres-*.jar")):
        unavailable("Debezium", f"no Debezium {DEBEZIUM} connector jars in {libs}", HOW_TO_INSTALL)
    return libs


def write_props(path: Path, props: Mapping[str, object]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


@dataclass
class Connect:
    """A running Kafka Connect worker with one Debezium connector named ``prefix``."""

    process: subprocess.Popen[bytes]
    log: Path
    prefix: str

    def topic(self, table: str) -> str:
        """Debezium's topic for a table given as "schema.table"."""
        return f"{self.prefix}.{table}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_connect(
    workdir: Path,
    bootstrap: str,
    server: PostgresServer,
    database: str,
    *,
    prefix: str,
    tables: Sequence[str],
    connector: Mapping[str, object] | None = None,
    jvm: Sequence[str] = TEST_JVM,
) -> Connect:
    """Start Connect standalone with Debezium's PostgreSQL connector on ``database``.

    The connector creates slot ``<prefix>_slot`` and publication ``<prefix>_pub`` unless
    ``connector`` settings say otherwise (they override the defaults here); it takes an
    initial snapshot by default. Converters write plain JSON without schemas.
    """
    libs = debezium_libs()
    worker = write_props(workdir / "worker.properties", {
        "bootstrap.servers": bootstrap,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "offset.storage.file.filename": workdir / "offsets",
        "offset.flush.interval.ms": 1000,
        "listeners": f"http://127.0.0.1:{free_port()}",
    })  # fmt: skip
    props = write_props(workdir / "connector.properties", {
        "name": prefix,
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": server.host,
        "database.port": server.port,
        "database.user": server.user,
        "database.password": server.password or "",
        "database.dbname": database,
        "topic.prefix": prefix,
        "table.include.list": ",".join(tables),
        "plugin.name": "pgoutput",
        "slot.name": f"{prefix}_slot",
        "publication.name": f"{prefix}_pub",
        "publication.autocreate.mode": "filtered",
        "snapshot.mode": "initial",
        **(connector or {}),
    })  # fmt: skip
    log = workdir / "connect.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["java", *jvm, "-cp", f"{libs}/*", "org.apache.kafka.connect.cli.ConnectStandalone",
             str(worker), str(props)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Connect(process, log, prefix)
