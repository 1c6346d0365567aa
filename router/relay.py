"""Large responses: relayed to mitmproxy piece by piece instead of buffered (no mitmproxy import).

The data plane does the upstream exchange itself so that it can fall back to the
monolith, and that choice is made once the status line and headers are in. If the
body is then large (see `RouterConfig.response_stream_threshold`), it stays on the
upstream connection as a `BodyStream`. mitmproxy sends a response built by an addon
in one piece, so instead the addon points the flow at this relay: a loopback HTTP/1.1
server that answers `GET /<token>` with the prepared head and the body, copied 64 KiB
at a time with back-pressure (`drain`), while mitmproxy streams it on to the client
(`flow.response.stream = True`). Memory per response stays bounded whatever its size.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from http import HTTPStatus

from router.client import BodyStream

Headers = list[tuple[bytes, bytes]]
# The relay always sends chunked: mitmproxy's body_size_limit (meant for requests)
# would refuse a response announcing a large Content-Length before any addon hook.
# The real length travels in this header and the addon puts it back for the client.
LENGTH_HEADER = "x-strangler-relay-length"


class Relay:
    """A loopback server handing prepared responses to mitmproxy by one-time token."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[int, Headers, BodyStream]] = {}
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for _, _, stream in self._pending.values():
            stream.close()
        self._pending.clear()

    def register(self, status: int, headers: Headers, stream: BodyStream) -> str:
        """Park a response; return the token mitmproxy must ask for."""
        token = secrets.token_hex(16)
        self._pending[token] = (status, headers, stream)
        return token

    def discard(self, token: str) -> None:
        """Drop a parked response nobody fetched (the client went away)."""
        item = self._pending.pop(token, None)
        if item is not None:
            item[2].close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode("latin-1") if b" " in head else ""
                item = self._pending.pop(target.lstrip("/"), None)
                if item is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                await self._send(writer, *item)
        except Exception:  # client gone, or the upstream failed mid-body: cut it short
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, headers: Headers, stream: BodyStream
    ) -> None:
        try:
            reason = HTTPStatus(status).phrase.encode()
        except ValueError:
            reason = b"Unknown"
        lines = [b"HTTP/1.1 %d %s" % (status, reason)]
        for k, v in headers:
            name = LENGTH_HEADER.encode() if k.lower() == b"content-length" else k
            lines.append(name + b": " + v)
        lines.append(b"transfer-encoding: chunked")
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            async for piece in stream.chunks():
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
        except BaseException:
            stream.close()
            raise
        writer.write(b"0\r\n\r\n")
        await writer.drain()
