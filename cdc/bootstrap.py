"""The composition root of CDC: capture, transport, sink and pipeline from settings.

`strangler cdc ...`, the benchmarks and programs that embed CDC wire a pipeline here,
so the choice of capture (SQLite triggers or PostgreSQL pgoutput, by the source URL)
and transport (`embedded:PATH` or `kafka:HOST:PORT`) lives in one place:

    from cdc.bootstrap import open_pipeline
    from cdc.config import load_config

    cfg = load_config(source="sqlite:///shop.db", sink="sqlite:///catalog.db")
    with open_pipeline(cfg) as flow:
        flow.run(threading.Event(), until_idle=True)

`load_config` reads strangler.toml [cdc] and STRANGLER_CDC_* below the given values;
`CdcConfig(...)` directly takes only what is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from cdc.capture_pg import PgCapture
from cdc.capture_sqlite import SqliteCapture
from cdc.config import CdcConfig
from cdc.errors import CdcError
from cdc.mapping import load_mapping
from cdc.pipeline import Options, Pipeline
from cdc.sink import Sink
from cdc.transport import Transport

AnyCapture = SqliteCapture | PgCapture


def capture_from(cfg: CdcConfig) -> AnyCapture:
    """The capture of `cfg.source`: PostgreSQL logical decoding for postgresql:// URLs,
    SQLite triggers otherwise."""
    if not cfg.source:
        raise CdcError("no source to capture: set [cdc] source (a SQLAlchemy URL)")
    if cfg.source.startswith("postgres"):
        return PgCapture(cfg.source, prefix=cfg.prefix, slot=cfg.slot)
    return SqliteCapture(cfg.source, prefix=cfg.prefix)


def open_transport(
    spec: str,
    *,
    partitions: int = 3,
    retention_bytes: int | None = None,
    retention_ms: int | None = None,
    kafka_outage_s: float = 300.0,
) -> Transport:
    """Open `embedded:PATH` or `kafka:HOST:PORT`.

    Retention applies to the embedded log; `kafka_outage_s` is how long a Kafka broker
    may be away while the pipeline runs before it stops with an error.
    """
    kind, sep, target = spec.partition(":")
    if not sep or not target:
        raise CdcError(f"transport {spec!r} must be embedded:PATH or kafka:HOST:PORT")
    if kind == "embedded":
        from cdc.transport_embedded import EmbeddedLog

        return EmbeddedLog(
            target,
            partitions=partitions,
            retention_bytes=retention_bytes,
            retention_ms=retention_ms,
        )
    if kind == "kafka":
        from cdc.transport_kafka import KafkaTransport

        return KafkaTransport(target, partitions=partitions, outage_s=kafka_outage_s)
    raise CdcError(f"unknown transport kind {kind!r} in {spec!r} (use embedded: or kafka:)")


def transport_from(cfg: CdcConfig) -> Transport:
    """The transport of `cfg.transport`, with the configured partitions and limits."""
    return open_transport(
        cfg.transport,
        partitions=cfg.partitions,
        retention_bytes=cfg.retention_bytes,
        retention_ms=cfg.retention_ms,
        kafka_outage_s=cfg.kafka_outage_s,
    )


def sink_from(cfg: CdcConfig) -> Sink | None:
    """The sink into `cfg.sink` with the mapping file `cfg.mapping`, or None without a sink."""
    if not cfg.sink:
        return None
    return Sink(
        cfg.sink, mapping=load_mapping(cfg.mapping), pipeline=cfg.pipeline, source=cfg.source
    )


def pipeline_from(
    cfg: CdcConfig,
    transport: Transport,
    *,
    capture: AnyCapture | None = None,
    sink: Sink | None = None,
    topics: Sequence[str] = (),
) -> Pipeline:
    """A pipeline over `transport` with the options of `cfg` (batch sizes, worker, ...)."""
    return Pipeline(
        transport, capture=capture, sink=sink, topics=topics, options=Options.from_config(cfg)
    )


@contextlib.contextmanager
def open_pipeline(cfg: CdcConfig, *, topics: Sequence[str] = ()) -> Iterator[Pipeline]:
    """Open what `cfg` names (a capture when it has a source, a sink when it has one, and
    the transport), yield the pipeline over them, and close them all afterwards.

    Without a source, `topics` names what the sink applies (e.g. real Debezium topics).
    """
    if not cfg.source and not cfg.sink:
        raise CdcError("nothing to run: set a source (capture), a sink (apply) or both")
    if not cfg.source and not topics:
        raise CdcError("a sink without a source needs the topics to apply")
    with contextlib.ExitStack() as stack:
        capture = capture_from(cfg) if cfg.source else None
        if capture is not None:
            stack.callback(capture.close)
        sink = sink_from(cfg)
        if sink is not None:
            stack.callback(sink.engine.dispose)
        transport = transport_from(cfg)
        stack.callback(transport.close)
        flow = pipeline_from(cfg, transport, capture=capture, sink=sink, topics=topics)
        stack.callback(flow.close)
        yield flow
