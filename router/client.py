"""A small async HTTP/1.1 client with keep-alive pools and hard timeouts.

The data plane forwards through this client rather than letting mitmproxy connect
upstream, so that it alone picks the address (only registered upstream URLs), applies
connect and read timeouts, and can retry an idempotent request on the monolith when
the target fails. A reused keep-alive connection that dies before any response byte
arrives (the stale keep-alive 502 pitfall) is retried once on a fresh connection only
for a request that may be sent twice: an idempotent method (GET, HEAD, OPTIONS, TRACE,
PUT, DELETE) or one with an Idempotency-Key / X-Idempotency-Key header. The upstream
may have processed a POST or PATCH before dying, so those get an error instead, and to
make that rare they reuse only a connection idle for less than a second (servers close
idle connections after 2 s or more) and otherwise open a new one. A write that the
closed transport refuses outright sent nothing and is retried for every method.

The wire format is written here and parsed in router/wire.py directly (Content-Length,
chunked and read-until-close bodies; no body for HEAD, 1xx, 204 and 304): it is the data
plane's hottest path, and a general-purpose state machine cost about a tenth of the
throughput.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from router.wire import (
    BodyStream,
    Conn,
    DeadlineReader,
    StaleConnection,
    Unsent,
    UpstreamError,
    parse_head,
)

Headers = list[tuple[bytes, bytes]]
__all__ = ["BodyStream", "Client", "Headers", "Origin", "Reply", "UpstreamError", "replayable"]
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})  # RFC 9110 9.2.2
IDEMPOTENCY_HEADERS = frozenset({b"idempotency-key", b"x-idempotency-key"})
WRITE_REUSE_IDLE_S = 1.0


def replayable(method: str, headers: Headers) -> bool:
    """Whether a request may be sent again after a connection died without answering:
    an idempotent method, or one carrying an idempotency key (as Go's net/http decides)."""
    return method in IDEMPOTENT or any(k.lower() in IDEMPOTENCY_HEADERS for k, _ in headers)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers
    body: bytes
    stream: BodyStream | None = None  # set instead of `body` for a large response


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int
    prefix: str  # base path of the upstream URL, without a trailing slash

    @classmethod
    def parse(cls, url: str) -> Origin:
        p = urlsplit(url)
        port = p.port or (443 if p.scheme == "https" else 80)
        return cls(p.scheme, p.hostname or "", port, p.path.rstrip("/"))

    @property
    def authority(self) -> bytes:
        default = 443 if self.scheme == "https" else 80
        host = self.host if self.port == default else f"{self.host}:{self.port}"
        return host.encode("ascii")


class Client:
    """Forward requests to base URLs with pooling and timeouts."""

    def __init__(
        self, connect_timeout: float = 2.0, read_timeout: float = 10.0, max_idle: int = 64
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        # a request that must not be sent twice reuses only a connection idle for less
        # than this (servers close idle keep-alive connections after 2 s or more)
        self.write_reuse_idle = WRITE_REUSE_IDLE_S
        self._idle: dict[Origin, list[Conn]] = {}

    async def request(
        self,
        url: str,
        method: str,
        target: str,
        headers: Headers,
        body: bytes = b"",
        read_timeout: float | None = None,
        stream_over: int | None = None,
    ) -> Reply:
        """Send one request to the base URL `url`; raise UpstreamError on failure.

        With `stream_over`, a response body longer than that many bytes (or chunked,
        or delimited by the connection closing) is not read: the Reply carries a
        BodyStream that the caller must consume or close.
        """
        origin = Origin.parse(url)
        timeout = self.read_timeout if read_timeout is None else read_timeout
        replay = replayable(method, headers)
        conn = self._take(origin, None if replay else self.write_reuse_idle)
        if conn is not None:
            try:
                return await self._exchange(
                    origin, conn, method, target, headers, body, timeout, stream_over
                )
            except Unsent:
                pass  # nothing was sent: safe to send again, whatever the method
            except StaleConnection:
                if not replay:  # the upstream may have processed it before closing
                    raise UpstreamError(
                        "protocol",
                        f"{url} closed a reused connection before answering a {method};"
                        " not retried (not idempotent)",
                    ) from None
        conn = await self._connect(origin)
        try:
            return await self._exchange(
                origin, conn, method, target, headers, body, timeout, stream_over
            )
        except StaleConnection:
            raise UpstreamError("protocol", f"{url} closed the connection") from None

    def close(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()

    def _take(self, origin: Origin, max_idle: float | None = None) -> Conn | None:
        """The most recently pooled live connection; with `max_idle`, only if idle for
        less than that many seconds (else it is closed and None says: open a new one)."""
        pool = self._idle.get(origin)
        while pool:
            conn = pool[-1]
            if conn.reader.at_eof() or conn.writer.is_closing():
                pool.pop()
                conn.close()
                continue
            pool.pop()
            if max_idle is not None and time.monotonic() - conn.idle_since >= max_idle:
                conn.close()  # the freshest is too old to risk a write on (so are the rest)
                return None
            return conn
        return None

    def _give(self, origin: Origin, conn: Conn) -> None:
        pool = self._idle.setdefault(origin, [])
        if len(pool) < self.max_idle:
            conn.idle_since = time.monotonic()
            pool.append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin) -> Conn:
        ssl = True if origin.scheme == "https" else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(origin.host, origin.port, ssl=ssl),
                self.connect_timeout,
            )
        except TimeoutError:
            raise UpstreamError(
                "timeout", f"connect to {origin.host}:{origin.port} timed out"
            ) from None
        except OSError as exc:
            raise UpstreamError(
                "connect", f"cannot connect to {origin.host}:{origin.port}: {exc.strerror or exc}"
            ) from None
        return Conn(reader, writer)

    async def _exchange(
        self,
        origin: Origin,
        conn: Conn,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        timeout: float,
        stream_over: int | None = None,
    ) -> Reply:
        lines = [
            f"{method} {origin.prefix}{target} HTTP/1.1".encode(),
            b"host: " + origin.authority,
        ]
        for k, v in headers:
            if k.lower() not in (b"host", b"content-length"):
                lines.append(k + b": " + v)
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(b"content-length: " + str(len(body)).encode())
        if any(b"\r" in line or b"\n" in line for line in lines):
            conn.close()
            raise UpstreamError("protocol", "cannot forward a request with CR/LF in its head")
        try:
            conn.writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        except (OSError, RuntimeError):  # uvloop: RuntimeError once the transport is closed
            conn.close()  # nothing was sent: safe to try again on a new connection
            raise Unsent from None
        try:
            reply, reusable = await self._read(conn, method, timeout, stream_over)
        except BaseException:
            conn.close()
            raise
        if reply.stream is not None:
            reply.stream.attach(self, origin, reusable)
        elif reusable:
            self._give(origin, conn)
        else:
            conn.close()
        return reply

    async def _read(
        self, conn: Conn, method: str, timeout: float, stream_over: int | None = None
    ) -> tuple[Reply, bool]:
        reader = DeadlineReader(conn, asyncio.get_running_loop().time() + timeout, timeout)
        while True:
            head = await reader.until(b"\r\n\r\n")
            status, headers, version = parse_head(head)
            if not 100 <= status < 200 or status == 101:
                break
        values = {k.lower(): v for k, v in headers}
        connection = values.get(b"connection", b"").lower()
        reusable = b"close" not in connection and (
            version == b"HTTP/1.1" or b"keep-alive" in connection
        )
        chunked = b"chunked" in values.get(b"transfer-encoding", b"").lower()
        length = values.get(b"content-length")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif stream_over is not None and (
            chunked or length is None or (length.isdigit() and int(length) > stream_over)
        ):
            size = None if chunked or length is None else int(length)
            stream = BodyStream(conn, reader, size, chunked)
            return Reply(status, headers, b"", stream), reusable and (chunked or size is not None)
        elif chunked:
            body = await reader.chunked()
        elif length is not None:
            try:
                size = int(length)
            except ValueError:
                raise UpstreamError("protocol", "bad Content-Length from upstream") from None
            body = await reader.exactly(size)
        else:
            body = await reader.until_close()
            reusable = False
        conn.buffer = reader.rest()
        return Reply(status, headers, body), reusable
