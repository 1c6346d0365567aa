"""The data plane's write accounting and its faults after the upstream answered, driven
directly (no mitmproxy) with a recording upstream client, so each race is made exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import router.dataplane
import router.streaming
from router.client import Reply
from router.config import RouterConfig
from router.dataplane import IN_FLIGHT, DataPlane, Incoming
from router.table import Route, RouteTable, Upstream

UPSTREAMS = (Upstream("monolith", ("http://m",)), Upstream("catalog", ("http://c",)))


def table(version: int, mode: str, hold: float = 0.0, **more: Any) -> RouteTable:
    route = Route("products", "/api/products/**", "catalog", mode=mode, hold=hold, **more)
    return RouteTable(upstreams=UPSTREAMS, routes=(route,), version=version)


class Recorder:
    """An upstream client that answers 200 naming the URL it was sent to."""

    def __init__(self, plane: list[DataPlane]) -> None:
        self.sent: list[tuple[str, str, float]] = []
        self.plane = plane

    async def request(self, url: str, method: str, target: str, *args: Any, **kw: Any) -> Reply:
        flying = self.plane[0].metrics.value(IN_FLIGHT, route="products")
        self.sent.append((url, method, flying))
        return Reply(200, [(b"content-type", b"text/plain")], url.encode())


def make_plane() -> tuple[DataPlane, Recorder]:
    box: list[DataPlane] = []
    client = Recorder(box)
    plane = DataPlane(RouterConfig(monolith="http://m"), client=client)  # type: ignore[arg-type]
    box.append(plane)
    return plane, client


def write(path: str = "/api/products/1") -> Incoming:
    return Incoming("POST", path, [(b"x-request-id", b"r-1")], b"{}", "127.0.0.1")


def test_a_hold_published_between_decision_and_send_parks_the_write(monkeypatch) -> None:
    """The handover publishes a held table from another thread; a write that read the
    older, unheld table just before must not go out uncounted. It is counted before it
    is let go and, seeing a newer table, decides again: held, and not counted as in
    flight while held (else the handover would wait for it forever)."""
    plane, client = make_plane()
    plane.publish(table(1, "monolith"))
    real = router.dataplane.decide
    calls: list[int] = []

    def decide_then_publish(request: Any, t: RouteTable) -> Any:
        decision = real(request, t)
        calls.append(t.version)
        if len(calls) == 1:  # the publish lands right after this request decided
            plane.publish(table(2, "monolith", hold=30.0))
        return decision

    monkeypatch.setattr(router.dataplane, "decide", decide_then_publish)

    async def go() -> tuple[Any, list[float]]:
        task = asyncio.create_task(plane.handle(write()))
        while len(calls) < 2 and not task.done():  # until it has decided on the new table
            await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0.01)  # it polls the table while held
        seen = [plane.metrics.value(IN_FLIGHT, route="products"), float(len(client.sent))]
        plane.publish(table(3, "service"))  # the handover releases: the service owns writes
        return await task, seen

    out, (flying_while_held, sent_while_held) = asyncio.run(go())
    assert calls[:2] == [1, 2]
    assert (flying_while_held, sent_while_held) == (0.0, 0.0)
    assert out.status == 200 and out.served_by == "catalog"
    assert [(url, flying) for url, _, flying in client.sent] == [("http://c", 1.0)]
    assert any(k == b"x-strangler-held-ms" for k, _ in out.headers)
    assert plane.metrics.value(IN_FLIGHT, route="products") == 0.0


def test_a_write_is_counted_while_it_is_sent_and_reads_are_not() -> None:
    plane, client = make_plane()
    plane.publish(table(1, "service"))
    asyncio.run(plane.handle(write()))
    asyncio.run(plane.handle(Incoming("GET", "/api/products/1", [], b"", "127.0.0.1")))
    assert [(m, flying) for _, m, flying in client.sent] == [("POST", 1.0), ("GET", 0.0)]
    assert plane.metrics.value(IN_FLIGHT, route="products") == 0.0


class BrokenMirror:
    def __init__(self) -> None:
        self.prepared = 0

    def prepare(self) -> None:
        self.prepared += 1

    def submit(self, *args: Any) -> None:
        raise RuntimeError("mirror fault")


def test_a_failing_mirror_never_changes_the_answer_of_an_applied_write() -> None:
    plane, client = make_plane()
    plane.mirror = BrokenMirror()  # type: ignore[assignment]
    plane.publish(table(1, "shadow", shadow_methods=("GET", "POST")))
    out = asyncio.run(plane.handle(write()))
    assert (out.status, out.body, out.served_by) == (200, b"http://m", "monolith")
    assert len(client.sent) == 1
    assert plane.metrics.value("strangler_router_errors_total", stage="mirror") == 1.0
    assert plane.metrics.value(IN_FLIGHT, route="products") == 0.0


class Stream:
    closed = False

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("fell_back", [False, True])
def test_a_fault_after_a_streamed_reply_closes_its_stream(monkeypatch, fell_back) -> None:
    """The upstream answered with a body left on its connection; a fault while building
    the client's answer must close it (else the connection leaks): a tagged 502."""
    plane, _ = make_plane()
    plane.publish(table(1, "service"))
    stream = Stream()

    async def streamed(url: str, *args: Any, **kwargs: Any) -> Reply:
        if fell_back and url == "http://c":
            return Reply(503, [], b"down")
        return Reply(200, [], b"", stream)  # type: ignore[arg-type]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("reply fault")

    monkeypatch.setattr(plane.client, "request", streamed)
    monkeypatch.setattr(plane, "_reply", broken)
    get = Incoming("GET", "/api/products/1", [], b"", "127.0.0.1")  # GET: may fall back
    out = asyncio.run(plane.handle(get))
    assert (out.status, out.served_by, out.stream) == (502, "router", None)
    assert b"router_error" in out.body and b"reply fault" in out.body
    assert stream.closed
    assert plane.metrics.value("strangler_router_errors_total", stage="handle") == 1.0


def test_a_fault_before_the_send_leaves_nothing_counted(monkeypatch) -> None:
    plane, client = make_plane()
    plane.publish(table(1, "service"))

    def broken(*args: Any) -> Any:
        raise RuntimeError("header fault")

    monkeypatch.setattr(router.dataplane.forward, "request_headers", broken)
    with pytest.raises(RuntimeError):  # the addon's guard answers this one
        asyncio.run(plane.handle(write()))
    assert client.sent == [] and plane.metrics.value(IN_FLIGHT, route="products") == 0.0


def test_a_streamed_write_planned_on_a_table_just_replaced_is_planned_again(monkeypatch) -> None:
    """The streaming path counts, then checks its table too; on a newer table (here a
    hold) it hands the request to the buffered path, which decides again (and parks it)."""
    plane, _ = make_plane()
    plane.publish(table(1, "service"))
    real = router.streaming.decide

    def decide_then_publish(request: Any, t: RouteTable) -> Any:
        decision = real(request, t)
        plane.publish(table(2, "service", hold=30.0))
        return decision

    monkeypatch.setattr(router.streaming, "decide", decide_then_publish)
    assert router.streaming.plan(plane, write()) is None
    assert plane.metrics.value(IN_FLIGHT, route="products") == 0.0
    monkeypatch.undo()
    assert router.streaming.plan(plane, write()) is None  # held: buffered, to be parked
    plane.publish(table(3, "service"))
    planned = router.streaming.plan(plane, write())
    assert isinstance(planned, router.streaming.StreamPlan) and planned.writing
    assert plane.metrics.value(IN_FLIGHT, route="products") == 1.0
    router.streaming.finish(plane, planned, 200, "", 0.0)
    assert plane.metrics.value(IN_FLIGHT, route="products") == 0.0
