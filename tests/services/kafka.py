"""The `kafka` session fixture: a throwaway single-node KRaft Apache Kafka 4.x broker.

The broker jars come from Maven Central via scripts/ensure-services.sh (cached in
``~/.cache/strangler/kafka-<version>/libs``; override with ``STRANGLER_KAFKA_LIBS``).
One combined broker+controller node runs on free loopback ports with a temp data dir,
small heap and single-replica internal topics, logging to a file; it is killed with
its process group at session end. Set ``STRANGLER_TEST_KAFKA_BOOTSTRAP`` (host:port)
to use an existing cluster instead.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ._common import (
    HOW_TO_INSTALL,
    PortTaken,
    broken,
    cache_root,
    check_port_clash,
    die_with_parent,
    free_port,
    kafka_version,
    port_open,
    require_marker,
    start_with_retries,
    unavailable,
    wait_until,
)

ENV_BOOTSTRAP = "STRANGLER_TEST_KAFKA_BOOTSTRAP"
ENV_LIBS = "STRANGLER_KAFKA_LIBS"
SERVICE = "Apache Kafka"
MARKER = "kafka"  # a test that reaches this broker must carry it (see require_marker)
# Small, fast JVM: C1-only JIT and serial GC start quicker on 2 cores; ample for tests.
JVM_OPTS = ["-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true"]  # fmt: skip
READY_LINE = "Kafka Server started"
LOG4J2 = """\
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
"""


@dataclass(frozen=True)
class KafkaBroker:
    """A Kafka cluster for tests: ``bootstrap`` is "host:port" for kafka-python clients.

    ``address`` is the same, unchecked; ``log`` is the broker's log file (None for a
    cluster given by the env var).
    """

    address: str
    log: Path | None = None
    restarter: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers, for the tests marked `kafka` (see require_marker)."""
        require_marker(MARKER, SERVICE)
        return self.address

    def restart(self) -> None:
        """Stop the broker and start it again on the same ports and log dir (private only).

        Call it from the main thread: the new broker is tied to the thread that starts it
        (PR_SET_PDEATHSIG) and is stopped when that thread ends.
        """
        if self.restarter is None:
            unavailable(
                SERVICE,
                f"a cluster given by {ENV_BOOTSTRAP} cannot be restarted",
                f"unset {ENV_BOOTSTRAP} to let the tests start a private broker",
            )
        self.restarter()

    def unique_topic(self, prefix: str = "test") -> str:
        """Return a topic name no other test uses, so tests sharing the broker don't mix."""
        return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _server_properties(data: Path, port: int, controller_port: int) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _libs_dir() -> Path:
    explicit = os.environ.get(ENV_LIBS)
    libs = Path(explicit) if explicit else cache_root() / f"kafka-{kafka_version()}" / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        unavailable(SERVICE, f"no Kafka broker jars in {libs}",
                    f"{HOW_TO_INSTALL} or set {ENV_BOOTSTRAP}")  # fmt: skip
    return libs


@dataclass
class _Node:
    root: Path
    process: subprocess.Popen[bytes]
    broker: KafkaBroker
    archive: _ClassArchive
    java: list[str]  # the JVM and its options, without the class-data archive flags
    config: Path

    def _terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.archive.publish(clean_exit=self.process.returncode in (0, 143, -15))

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """Stop the broker cleanly (SIGTERM) and start it again with the same config."""
        self._terminate()
        assert self.broker.log is not None
        self.process = _launch(
            self.root, [*self.java, *self.archive.use_flags(), "kafka.Kafka", str(self.config)]
        )
        if not _wait_ready(self, self.broker.log.stat().st_size):
            broken(SERVICE, f"broker did not come back after a restart (exit code "
                   f"{self.process.poll()})", self.broker.log)  # fmt: skip


def _launch(root: Path, command: list[str]) -> subprocess.Popen[bytes]:
    with (root / "stdout.log").open("ab") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent(signal.SIGTERM),
        )  # fmt: skip


def _wait_ready(node: _Node, log_offset: int) -> bool:
    """Wait until the broker logged READY_LINE after ``log_offset`` and takes connections."""
    log = node.broker.log
    assert log is not None
    port = int(node.broker.address.rpartition(":")[2])

    def ready() -> bool:
        with log.open("rb") as text:
            text.seek(log_offset)
            return READY_LINE.encode() in text.read() and port_open(port)

    return wait_until(ready, lambda: node.process.poll() is None, 90)


@dataclass(frozen=True)
class _ClassArchive:
    """An AppCDS class-data archive of the broker's classes, which halves JVM start-up.

    The first session records it when its broker exits; later sessions map it. It is
    keyed by the java binary and the jar set, and the JVM itself ignores (with a
    warning) an archive that does not match, so a stale one only costs speed.
    """

    path: Path
    pending: Path

    @classmethod
    def for_(cls, java: str, libs: Path) -> _ClassArchive:
        real = Path(java).resolve()
        jars = sorted((jar.name, jar.stat().st_size) for jar in libs.glob("*.jar"))
        key = repr((str(real), real.stat().st_mtime_ns, str(libs), jars))
        path = cache_root() / "kafka-cds" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"
        return cls(path, path.with_name(f"{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp"))

    def use_flags(self) -> list[str]:
        return [f"-XX:SharedArchiveFile={self.path}"] if self.path.is_file() else []

    def broker_flags(self) -> list[str]:
        if self.path.is_file():
            return self.use_flags()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return []
        return [f"-XX:ArchiveClassesAtExit={self.pending}"]

    def publish(self, clean_exit: bool) -> None:
        """Move a freshly recorded archive into place (atomically: sessions run at once)."""
        with contextlib.suppress(OSError):
            if clean_exit and self.pending.is_file() and self.pending.stat().st_size:
                os.replace(self.pending, self.path)
            self.pending.unlink(missing_ok=True)


def start_broker() -> _Node:
    """Format a KRaft data dir and start one broker+controller node; fail with its log."""
    require_marker(MARKER, SERVICE)
    java = shutil.which("java")
    if java is None:
        unavailable(SERVICE, "no `java` (Java 17+) to run the broker",
                    f"{HOW_TO_INSTALL} or set {ENV_BOOTSTRAP}")  # fmt: skip
    libs = _libs_dir()
    root = Path(tempfile.mkdtemp(prefix="strangler-kafka-"))
    log, config = root / "broker.log", root / "server.properties"
    port, controller_port = free_port(), free_port()
    config.write_text(_server_properties(root / "data", port, controller_port))
    (root / "log4j2.properties").write_text(LOG4J2.format(log=log))
    log.touch()
    base = [java, *JVM_OPTS, f"-Dlog4j2.configurationFile={root / 'log4j2.properties'}",
            "-cp", f"{libs}/*"]  # fmt: skip
    archive = _ClassArchive.for_(java, libs)
    # Kafka's own ids are urlsafe base64 of 16 bytes; one starting with "-" would be read
    # by the storage tool as an option, so the first character is forced to a letter.
    cluster_id = "k" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[1:]
    fmt = subprocess.run(
        [*base, *archive.use_flags(), "kafka.tools.StorageTool", "format",
         "-t", cluster_id, "-c", str(config)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if fmt.returncode != 0:
        broken(SERVICE, f"StorageTool format exited {fmt.returncode}: "
               f"{(fmt.stderr or fmt.stdout).strip()[-2000:]}", log)  # fmt: skip
    process = _launch(root, [*base, *archive.broker_flags(), "kafka.Kafka", str(config)])
    node = _Node(root, process, KafkaBroker(f"127.0.0.1:{port}", log), archive, base, config)
    node.broker = dataclasses.replace(node.broker, restarter=node.restart)
    if not _wait_ready(node, 0):
        code = process.poll()
        if code is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        archive.publish(clean_exit=False)
        try:
            check_port_clash(log)
        except PortTaken:
            shutil.rmtree(root, ignore_errors=True)
            raise
        # The temp dir stays behind on purpose: its logs explain the failure.
        broken(SERVICE, f"broker not ready on port {port} (exit code {code}); "
               f"stdout in {root / 'stdout.log'}", log)  # fmt: skip
    return node


def _external(bootstrap: str) -> KafkaBroker:
    first = bootstrap.split(",")[0].strip()
    host, _, port_text = first.rpartition(":")
    if not host or not port_text.isdigit():
        raise ValueError(f"{ENV_BOOTSTRAP} must be host:port[,host:port...], got {bootstrap!r}")
    if not port_open(int(port_text), host):
        unavailable(SERVICE, f"nothing listens at {ENV_BOOTSTRAP}={bootstrap}",
                    "start that cluster or unset it")  # fmt: skip
    return KafkaBroker(bootstrap)


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaBroker]:
    """A Kafka cluster for the whole session (private throwaway KRaft broker by default)."""
    require_marker(MARKER, SERVICE)
    if bootstrap := os.environ.get(ENV_BOOTSTRAP):
        yield _external(bootstrap)
        return
    node = start_with_retries(SERVICE, start_broker)
    try:
        yield node.broker
    finally:
        node.stop()
