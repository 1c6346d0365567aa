"""HTTP/1.1 on the wire for the upstream client: pooled connections, response heads,
bodies (Content-Length, chunked, until close) read under one deadline, and large bodies
left on the connection as a `BodyStream` (router/client.py holds the pool and the
exchange; router/relay.py streams a BodyStream on to mitmproxy).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.client import Client, Origin

READ_SIZE = 262144  # bytes asked of the socket at a time


class UpstreamError(Exception):
    """The upstream could not be reached or did not answer in time."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "connect", "timeout" or "protocol"


class Conn:
    """A pooled keep-alive connection to an upstream: streams, read-ahead buffer, idle time."""

    __slots__ = ("buffer", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buffer = b""
        self.idle_since = 0.0  # loop time it went back to the pool

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class StaleConnection(Exception):
    """A reused connection closed before answering (the request may have been processed)."""


class Unsent(StaleConnection):
    """A reused connection refused the request's write: nothing was sent."""


def parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise UpstreamError("protocol", f"bad status line from upstream: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise UpstreamError("protocol", f"bad header line from upstream: {line[:80]!r}")
        headers.append((name, value.strip()))
    return int(parts[1]), headers, parts[0]


class DeadlineReader:
    """Buffered reads with one overall deadline; EOF before any byte means a stale conn."""

    def __init__(self, conn: Conn, deadline: float, timeout: float) -> None:
        self.conn, self.deadline, self.timeout = conn, deadline, timeout
        self.buf = conn.buffer
        self.pos = 0
        self.received = bool(self.buf)

    def rest(self) -> bytes:
        return self.buf[self.pos :]

    async def _recv(self) -> bytes:
        """The next bytes from the socket (b"" at EOF), within the deadline."""
        loop = asyncio.get_running_loop()
        remaining = self.deadline - loop.time()
        if remaining <= 0:
            raise UpstreamError("timeout", f"no response within {self.timeout:g}s")
        try:
            data = await asyncio.wait_for(self.conn.reader.read(READ_SIZE), remaining)
        except TimeoutError:
            raise UpstreamError("timeout", f"no response within {self.timeout:g}s") from None
        except OSError:
            if not self.received:
                raise StaleConnection() from None
            raise UpstreamError("protocol", "connection reset mid-response") from None
        if not data and not self.received:
            raise StaleConnection()
        self.received = True
        return data

    async def _more(self) -> bool:
        data = await self._recv()
        if not data:
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def restart(self) -> None:
        """Start the deadline again (a streamed body may take long, as long as it moves)."""
        self.deadline = asyncio.get_running_loop().time() + self.timeout

    async def some(self, limit: int, restart: bool = True) -> bytes:
        """Up to `limit` bytes (b"" at EOF); with `restart` the deadline restarts first."""
        if self.pos >= len(self.buf):
            if restart:
                self.restart()
            if not await self._more():
                return b""
        chunk = self.buf[self.pos : self.pos + limit]
        self.pos += len(chunk)
        return chunk

    async def until(self, marker: bytes) -> bytes:
        while True:
            end = self.buf.find(marker, self.pos)
            if end >= 0:
                chunk = self.buf[self.pos : end]
                self.pos = end + len(marker)
                return chunk
            if len(self.buf) - self.pos > 65536:
                raise UpstreamError("protocol", "upstream response head too large")
            if not await self._more():
                raise UpstreamError("protocol", "connection closed mid-response")

    async def exactly(self, n: int) -> bytes:
        have = len(self.buf) - self.pos
        if have >= n:
            chunk = self.buf[self.pos : self.pos + n]
            self.pos += n
            return chunk
        # a long body: collect the reads and join once (appending each read to the
        # buffer copied it all again: 0.3 ms per 500 KB response)
        parts = [self.buf[self.pos :]]
        while have < n:
            data = await self._recv()
            if not data:
                raise UpstreamError("protocol", "connection closed mid-body")
            parts.append(data)
            have += len(data)
        whole = b"".join(parts)
        self.buf, self.pos = whole, n
        return whole[:n]  # the same object when nothing follows the body

    async def sized(self, n: int, piece: int, restart: bool) -> AsyncIterator[bytes]:
        """The next `n` bytes, at most `piece` at a time."""
        while n > 0:
            part = await self.some(min(n, piece), restart)
            if not part:
                raise UpstreamError("protocol", "connection closed mid-body")
            n -= len(part)
            yield part

    async def dechunk(self, piece: int, restart: bool) -> AsyncIterator[bytes]:
        """A chunked body, decoded, at most `piece` bytes at a time (trailers dropped)."""
        while True:
            if restart:
                self.restart()
            line = await self.until(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise UpstreamError("protocol", "bad chunk size from upstream") from None
            if size == 0:
                while await self.until(b"\r\n"):  # trailers, then the empty line
                    pass
                return
            async for part in self.sized(size, piece, restart):
                yield part
            await self.exactly(2)

    async def chunked(self) -> bytes:
        """A whole chunked body, within the one overall deadline."""
        return b"".join([part async for part in self.dechunk(1 << 62, restart=False)])

    async def until_close(self) -> bytes:
        while await self._more():
            pass
        chunk = self.rest()
        self.pos = len(self.buf)
        return chunk


class BodyStream:
    """A response body still on the upstream connection, read piece by piece.

    `chunks()` yields the decoded body (at most 64 KiB at a time, so memory stays
    bounded); when the body ends the connection goes back to the pool if reusable.
    """

    PIECE = 65536

    def __init__(
        self, conn: Conn, reader: DeadlineReader, length: int | None, chunked: bool
    ) -> None:
        self.conn, self.reader = conn, reader
        self.length, self.chunked = length, chunked
        self._client: Client | None = None
        self._origin: Origin | None = None
        self._reusable = False
        self.sent = 0

    def attach(self, client: Client, origin: Origin, reusable: bool) -> None:
        self._client, self._origin, self._reusable = client, origin, reusable

    def close(self) -> None:
        """Abandon the body: the connection cannot be reused."""
        self.conn.close()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self._pieces():
                self.sent += len(piece)
                yield piece
        except BaseException:
            self.close()
            raise
        self.conn.buffer = self.reader.rest()
        if self._reusable and self._client is not None and self._origin is not None:
            self._client._give(self._origin, self.conn)
        else:
            self.close()

    def _pieces(self) -> AsyncIterator[bytes]:
        r = self.reader
        if self.length is not None:
            return r.sized(self.length, self.PIECE, restart=True)
        if self.chunked:
            return r.dechunk(self.PIECE, restart=True)
        return self._until_close()

    async def _until_close(self) -> AsyncIterator[bytes]:
        while piece := await self.reader.some(self.PIECE):
            yield piece
