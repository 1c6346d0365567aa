"""The Kafka transport rides out a broker that goes away for a while, and names one that is gone.

The contract every transport passes is in test_transport_contract.py; these are the
Kafka-only behaviours around outages, against the session's real broker.
"""

from __future__ import annotations

import threading
import time

import pytest

from cdc.errors import CdcError
from cdc.transport_kafka import KafkaTransport, _Outage
from tests.services._common import free_port


def test_an_outage_is_waited_for_until_its_limit_then_named():
    outage = _Outage("Kafka at 127.0.0.1:9", limit_s=1.5)
    outage.failed("fetch", OSError("refused"))  # logged, then waited on for 1 s
    outage.ok()  # back: the clock restarts
    outage.failed("fetch", OSError("refused"))
    outage.failed("fetch", OSError("refused"))  # 1 s into this outage
    with pytest.raises(CdcError, match=r"Kafka at 127.0.0.1:9 unreachable for \d+ s "
                       r"\(offset commit failed: refused\); nothing is lost"):  # fmt: skip
        outage.failed("offset commit", OSError("refused"))


def test_a_bootstrap_address_nothing_answers_on_is_named():
    transport = KafkaTransport(f"127.0.0.1:{free_port()}")
    with pytest.raises(CdcError, match=r"cannot reach Kafka at 127\.0\.0\.1:"):
        transport.ensure_topics(["t"])


@pytest.mark.slow
def test_commits_and_fetches_during_a_broker_restart_are_kept_and_land_after(kafka):
    transport = KafkaTransport(kafka.bootstrap, partitions=2)
    topic = kafka.unique_topic("outage")
    transport.ensure_topics([topic])
    consumer = transport.consumer("g-outage", [topic])
    restarted = threading.Event()
    offsets: dict[tuple[str, int], int] = {}
    failures: list[BaseException] = []

    def commit_throughout() -> None:  # the consumer belongs to this thread alone
        try:
            n = 0
            while not restarted.is_set():
                n += 1
                offsets.update({(topic, 0): n, (topic, 1): n * 2})
                consumer.commit(offsets)
                consumer.poll(timeout_s=0.1)
            deadline = time.monotonic() + 60
            while consumer._unsent and time.monotonic() < deadline:  # the broker is back
                consumer.commit({})
                time.sleep(0.2)
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=commit_throughout)
    worker.start()
    try:
        time.sleep(0.5)
        kafka.restart()  # the broker dies with the thread that started it: keep it here
    finally:
        restarted.set()
        worker.join()
    try:
        assert not failures, failures
        assert not consumer._unsent, "offsets committed during the outage never landed"
        assert transport.committed("g-outage", [topic]) == offsets
    finally:
        consumer.close()
        transport.close()
