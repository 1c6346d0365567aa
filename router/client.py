"""A small async HTTP/1.1 client (h11) with keep-alive pools and hard timeouts.

The data plane forwards through this client rather than letting mitmproxy connect
upstream, so that it alone picks the address (only registered upstream URLs), applies
connect and read timeouts, and can retry an idempotent request on the monolith when
the target fails. A reused keep-alive connection that dies before any response byte
arrives is retried once on a fresh connection (the stale keep-alive 502 pitfall).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

Headers = list[tuple[bytes, bytes]]


class UpstreamError(Exception):
    """The upstream could not be reached or did not answer in time."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "connect", "timeout" or "protocol"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Headers
    body: bytes


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


class _Conn:
    __slots__ = ("h11", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _Stale(Exception):
    """A reused connection closed before answering."""


class Client:
    """Forward requests to base URLs with pooling and timeouts."""

    def __init__(
        self, connect_timeout: float = 2.0, read_timeout: float = 10.0, max_idle: int = 64
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: dict[Origin, list[_Conn]] = {}

    async def request(
        self,
        url: str,
        method: str,
        target: str,
        headers: Headers,
        body: bytes = b"",
        read_timeout: float | None = None,
    ) -> Reply:
        """Send one request to the base URL `url`; raise UpstreamError on failure."""
        origin = Origin.parse(url)
        timeout = self.read_timeout if read_timeout is None else read_timeout
        conn = self._take(origin)
        if conn is not None:
            try:
                return await self._exchange(origin, conn, method, target, headers, body, timeout)
            except _Stale:
                pass
        conn = await self._connect(origin)
        try:
            return await self._exchange(origin, conn, method, target, headers, body, timeout)
        except _Stale:
            raise UpstreamError("protocol", f"{url} closed the connection") from None

    def close(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()

    def _take(self, origin: Origin) -> _Conn | None:
        pool = self._idle.get(origin)
        while pool:
            conn = pool.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            conn.close()
        return None

    def _give(self, origin: Origin, conn: _Conn) -> None:
        pool = self._idle.setdefault(origin, [])
        if len(pool) < self.max_idle:
            pool.append(conn)
        else:
            conn.close()

    async def _connect(self, origin: Origin) -> _Conn:
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
        return _Conn(reader, writer)

    async def _exchange(
        self,
        origin: Origin,
        conn: _Conn,
        method: str,
        target: str,
        headers: Headers,
        body: bytes,
        timeout: float,
    ) -> Reply:
        fields = [(k, v) for k, v in headers if k.lower() not in (b"host", b"content-length")]
        fields.insert(0, (b"host", origin.authority))
        if body or method in ("POST", "PUT", "PATCH"):
            fields.append((b"content-length", str(len(body)).encode()))
        h = conn.h11
        try:
            request = h11.Request(method=method, target=origin.prefix + target, headers=fields)
            parts = [h.send(request), h.send(h11.Data(data=body)) if body else b""]
            parts.append(h.send(h11.EndOfMessage()))
            conn.writer.write(b"".join(p or b"" for p in parts))
        except h11.LocalProtocolError as exc:
            conn.close()
            raise UpstreamError("protocol", f"cannot forward request: {exc}") from None
        try:
            reply = await self._read(conn, timeout)
        except BaseException:
            conn.close()
            raise
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            self._give(origin, conn)
        else:
            conn.close()
        return reply

    async def _read(self, conn: _Conn, timeout: float) -> Reply:
        h = conn.h11
        status, headers, chunks, received = 0, [], [], False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if not received:
                    raise _Stale() from None
                raise UpstreamError("protocol", f"bad response: {exc}") from None
            if event is h11.NEED_DATA:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise UpstreamError("timeout", f"no response within {timeout:g}s")
                try:
                    data = await asyncio.wait_for(conn.reader.read(65536), remaining)
                except TimeoutError:
                    raise UpstreamError("timeout", f"no response within {timeout:g}s") from None
                except OSError:
                    if not received:
                        raise _Stale() from None
                    raise UpstreamError("protocol", "connection reset mid-response") from None
                if not data and not received:
                    raise _Stale()
                received = received or bool(data)
                h.receive_data(data)
            elif isinstance(event, h11.InformationalResponse):
                continue
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return Reply(status, headers, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):
                if not received:
                    raise _Stale()
                raise UpstreamError("protocol", "connection closed mid-response")
