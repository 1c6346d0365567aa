"""The upstream client against raw sockets: framing, keep-alive, stale connections."""

from __future__ import annotations

import asyncio

import pytest

from router.client import Client, UpstreamError


async def serve(responses: list[bytes], close_after: bool = False):
    """A server answering each request on a connection with the next canned response."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while responses:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head)
            length = [
                int(x.split(b":")[1])
                for x in head.split(b"\r\n")
                if x.lower().startswith(b"content-length")
            ]
            if length:
                seen.append(await reader.readexactly(length[0]))
            writer.write(responses.pop(0))
            await writer.drain()
            if close_after:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen


def run(coro):
    return asyncio.run(coro)


def test_content_length_chunked_and_keep_alive_reuse() -> None:
    async def go():
        server, url, seen = await serve([
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ])  # fmt: skip
        client = Client()
        a = await client.request(url, "GET", "/a?x=1", [(b"x-test", b"1")])
        b = await client.request(url, "POST", "/b", [], b'{"k": 1}')
        c = await client.request(url, "GET", "/c", [])
        client.close()
        server.close()
        return a, b, c, seen

    a, b, c, seen = run(go())
    assert (a.status, a.body, b.status, b.body, c.status, c.body) == (
        200, b"hello", 201, b"abcde", 204, b"",
    )  # fmt: skip
    assert (
        seen[0].startswith(b"GET /a?x=1 HTTP/1.1\r\nhost: 127.0.0.1:") and b"x-test: 1" in seen[0]
    )
    assert seen[2] == b'{"k": 1}'  # the POST body, on the same connection


def test_head_response_has_no_body_and_close_delimited_body_is_read() -> None:
    async def go():
        server, url, _ = await serve([b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"])
        head = await Client().request(url, "HEAD", "/", [])
        server.close()
        server2, url2, _ = await serve([b"HTTP/1.0 200 OK\r\n\r\nuntil close"], close_after=True)
        body = await Client().request(url2, "GET", "/", [])
        server2.close()
        return head, body

    head, body = run(go())
    assert head.body == b"" and body.body == b"until close"


def test_a_pooled_connection_closed_by_the_server_is_replaced_transparently() -> None:
    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
        # the server answers one request per connection, then closes it without saying so
        server, url, _ = await serve([ok + b"a", ok + b"b"], close_after=True)
        client = Client()
        first = await client.request(url, "GET", "/", [])
        second = await client.request(url, "GET", "/", [])
        server.close()
        return first.body, second.body

    assert run(go()) == (b"a", b"b")


def test_a_pooled_connection_whose_transport_refuses_the_write_is_replaced() -> None:
    """uvloop raises RuntimeError (not an OSError) writing to a transport it has closed;
    the write sent nothing, so the request goes out again on a new connection."""

    class Closed:
        def write(self, data: bytes) -> None:
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

        def is_closing(self) -> bool:
            return False  # the race: closed after the pool's check

        def close(self) -> None:
            pass

    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
        server, url, seen = await serve([ok + b"a", ok + b"b"])
        client = Client()
        first = await client.request(url, "GET", "/", [])
        (pooled,) = next(iter(client._idle.values()))
        pooled.writer.close()
        pooled.writer = Closed()  # type: ignore[assignment]
        second = await client.request(url, "POST", "/p", [], b"x")
        client.close()
        server.close()
        return first.body, second.body, seen

    first, second, seen = run(go())
    assert (first, second) == (b"a", b"b")
    assert seen[-1] == b"x"  # the POST was sent once, on the new connection


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"garbage\r\n\r\n", "bad status line"),
        (b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed mid-body"),
    ],
)
def test_malformed_responses_are_protocol_errors(raw, needle) -> None:
    async def go():
        server, url, _ = await serve([raw], close_after=True)
        try:
            await Client().request(url, "GET", "/", [])
        finally:
            server.close()

    with pytest.raises(UpstreamError, match=needle):
        run(go())


def test_connect_refused_and_read_timeout() -> None:
    async def go_refused():
        await Client(connect_timeout=1).request("http://127.0.0.1:9", "GET", "/", [])

    with pytest.raises(UpstreamError, match="cannot connect") as info:
        run(go_refused())
    assert info.value.kind == "connect"

    async def go_slow():
        async def handle(reader, writer):
            await asyncio.sleep(2)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            await Client(read_timeout=0.2).request(url, "GET", "/", [])
        finally:
            server.close()

    with pytest.raises(UpstreamError, match=r"no response within 0\.2s"):
        run(go_slow())
