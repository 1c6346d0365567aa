"""Large request bodies: streamed through mitmproxy instead of buffered (no mitmproxy import).

A request whose body is larger than `stream_threshold` (or chunked) is not read into
memory. The route is decided from its head alone, the upstream is admitted as usual
(registered, healthy, breaker closed, else the fallback), and mitmproxy itself streams
the body to the chosen registered URL and the response back. Fallback is decided
before sending only: once a streamed body has gone out it cannot be replayed to the
monolith, and such requests are not mirrored in shadow mode.

A write to a held route is not streamed: it takes the buffered path (bodies up to
`max_body` are buffered anyway), which parks it like any held write. A streamed write
counts in `strangler_writes_in_flight` until its exchange ends (`finish`), so a
handover waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from router import forward
from router.client import Origin
from router.dataplane import IN_FLIGHT, DataPlane, Incoming, Outgoing, Unavailable
from router.table import SAFE, Decision, Request, Upstream, decide

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class StreamPlan:
    """Where a streamed request goes and what it carries."""

    decision: Decision
    upstream: Upstream
    origin: Origin
    headers: Headers
    request_id: str
    writing: bool = False  # counted in strangler_writes_in_flight until `finish`


def plan(plane: DataPlane, inc: Incoming) -> StreamPlan | Outgoing | None:
    """Return the plan, the router's error response, or None to use the buffered path.

    A write to a held route (a handover) takes the buffered path, which parks it. A
    streamed write counts in strangler_writes_in_flight from here until `finish`.
    """
    table = plane.table
    lowered = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in inc.headers}
    d = decide(Request(inc.method, inc.target, lowered, inc.client), table)
    if d.hold > 0:
        return None
    headers, request_id = forward.request_headers(inc.headers, inc.client, inc.scheme)
    refused = plane.check_head(inc, d, request_id)
    if refused is not None:
        return refused
    names = [d.target] + ([d.fallback] if d.fallback and d.fallback != d.target else [])
    failure: Unavailable | None = None
    for name in names:
        try:
            upstream, url = plane.admit(table, name)
        except Unavailable as exc:
            failure = failure or exc
            continue
        origin = Origin.parse(url)
        if origin.scheme != "http":
            return None  # the minimal master has no upstream TLS; buffer instead
        encoding = forward.get(inc.headers, b"transfer-encoding")
        framing = [(b"transfer-encoding", encoding)] if encoding else []
        fields = [(b"host", origin.authority)]
        fields += [(k, v) for k, v in headers if k.lower() != b"host"] + framing
        writing = inc.method.upper() not in SAFE
        if writing:  # counted, then checked, as in DataPlane.handle
            plane.metrics.inc(IN_FLIGHT, route=d.route)
            if plane.table is not table:  # a new table (a hold?): decide again, buffered
                plane.metrics.inc(IN_FLIGHT, -1.0, route=d.route)
                return None
        return StreamPlan(d, upstream, origin, fields, request_id, writing)
    assert failure is not None
    return plane.error(failure.status, failure.code, str(failure), d, request_id)


def finish(
    plane: DataPlane, p: StreamPlan, status: int | None, kind: str, elapsed: float
) -> Outgoing:
    """Account for a finished streamed exchange (call once per plan); return its summary."""
    abandon(plane, p)
    plane.record(p.upstream, status, kind)
    out = Outgoing(status or 502, [], b"", p.decision, p.upstream.name, p.request_id)
    plane.count(p.decision, out, elapsed)
    return out


def abandon(plane: DataPlane, p: StreamPlan) -> None:
    """Stop counting a plan's write (its exchange ended, or never started)."""
    if p.writing:
        plane.metrics.inc(IN_FLIGHT, -1.0, route=p.decision.route)


def tags(plane: DataPlane, p: StreamPlan) -> Headers:
    """The response headers the router adds to a streamed response."""
    return [*plane._tags(p.decision, p.upstream.name), (b"x-request-id", p.request_id.encode())]
