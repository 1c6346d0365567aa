"""Header handling for forwarded requests and responses (pure functions on header lists)."""

from __future__ import annotations

import secrets

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)


def strip_hop_by_hop(headers: Headers) -> Headers:
    """Drop hop-by-hop headers, including any named in the Connection header."""
    named = _connection_named(headers)
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named]


def get(headers: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def new_traceparent(random_hex: bytes) -> bytes:
    """A W3C traceparent with a new trace id and span id (from 48 random hex digits)."""
    return b"00-" + random_hex[:32] + b"-" + random_hex[32:48] + b"-01"


def _connection_named(headers: Headers) -> set[bytes]:
    """Header names listed in the Connection header (hop-by-hop for this connection)."""
    return {
        token.strip().lower()
        for k, v in headers
        if k.lower() == b"connection"
        for token in v.split(b",")
    }


def request_headers(headers: Headers, client_ip: str, scheme: str) -> tuple[Headers, str]:
    """Return the headers to send upstream and the request id (kept or created).

    One pass over the headers: this runs for every request.
    """
    named = _connection_named(headers)
    out: Headers = []
    request_id = trace = prior = host = forwarded_host = None
    for k, v in headers:
        name = k.lower()
        if name in HOP_BY_HOP or name in named or name == b"x-forwarded-proto":
            continue
        if name == b"x-forwarded-for":
            prior = v if prior is None else prior
            continue
        if name == b"x-request-id" and request_id is None:
            request_id = v
        elif name == b"traceparent" and trace is None:
            trace = v
        elif name == b"host" and host is None:
            host = v
        elif name == b"x-forwarded-host" and forwarded_host is None:
            forwarded_host = v
        out.append((k, v))
    if not request_id or not trace:
        random_hex = secrets.token_hex(40).encode()  # one read of the OS's randomness
        if not request_id:
            request_id = random_hex[48:]
            out.append((b"x-request-id", request_id))
        if not trace:
            out.append((b"traceparent", new_traceparent(random_hex[:48])))
    client = client_ip.encode()
    out.append((b"x-forwarded-for", prior + b", " + client if prior else client))
    out.append((b"x-forwarded-proto", scheme.encode()))
    if host and not forwarded_host:
        out.append((b"x-forwarded-host", host))
    return out, request_id.decode("latin-1")


def response_headers(headers: Headers, body_length: int | None, tags: Headers) -> Headers:
    """Return the headers to send to the client: no hop-by-hop, exact length, our tags.

    `body_length` None keeps the upstream's Content-Length as it is: a HEAD response
    announces the length of the GET body, and 1xx/204/304 responses have none.
    """
    tag_names = {k.lower() for k, _ in tags}
    drop = tag_names if body_length is None else tag_names | {b"content-length"}
    out = [(k, v) for k, v in strip_hop_by_hop(headers) if k.lower() not in drop]
    if body_length is not None:
        out.append((b"content-length", str(body_length).encode()))
    out.extend(tags)
    return out
