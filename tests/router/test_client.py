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
    assert seen.count(b"x") == 1 and seen[-1] == b"x"  # sent once, on the new connection


async def dies_after_reading(per_conn: list[list[tuple[bytes, bytes]]]):
    """A server whose first connection answers its first request, then reads the second
    one and closes without answering (as if it died after processing it); every other
    connection answers everything. `per_conn` gets each connection's (head, body) list."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen: list[tuple[bytes, bytes]] = []
        per_conn.append(seen)
        first = len(per_conn) == 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = [int(x.split(b":")[1]) for x in head.split(b"\r\n")
                          if x.lower().startswith(b"content-length")]  # fmt: skip
                seen.append((head, await reader.readexactly(length[0]) if length else b""))
                if first and len(seen) == 2:
                    break
                writer.write(ok)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize(
    ("method", "headers", "retried"),
    [
        ("POST", [], False),
        ("PATCH", [], False),
        ("POST", [(b"Idempotency-Key", b"k-1")], True),
        ("POST", [(b"x-idempotency-key", b"k-1")], True),
        ("PUT", [], True),
        ("GET", [], True),
    ],
)
def test_a_reused_connection_dying_unanswered_is_retried_only_if_replayable(
    method, headers, retried
) -> None:
    """The upstream may have processed a request on a connection that closed before
    answering: only an idempotent method or an idempotency key makes sending it again
    safe (RFC 9110 9.2.2); anything else is the client's 502, sent exactly once."""

    async def go():
        per_conn: list[list[tuple[bytes, bytes]]] = []
        server, url = await dies_after_reading(per_conn)
        client = Client()
        await client.request(url, "GET", "/warm", [])
        try:
            return await client.request(url, method, "/w", headers, b"payload"), per_conn
        except UpstreamError as exc:
            return exc, per_conn
        finally:
            client.close()
            server.close()

    answer, per_conn = run(go())
    sent = [
        body
        for seen in per_conn
        for head, body in seen
        if head.startswith(f"{method} /w ".encode())
    ]
    if retried:
        assert answer.status == 200 and sent == [b"payload", b"payload"]
        assert len(per_conn) == 2  # the second send went out on a new connection
    else:
        assert isinstance(answer, UpstreamError) and answer.kind == "protocol"
        assert "not retried (not idempotent)" in str(answer)
        assert sent == [b"payload"] and len(per_conn) == 1


def test_a_write_reuses_only_a_connection_idle_for_a_short_time() -> None:
    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"
        connections = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    if b"content-length: 1" in head:
                        await reader.readexactly(1)
                    writer.write(ok + b"a")
                    await writer.drain()
            except asyncio.IncompleteReadError:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        client = Client()
        await client.request(url, "GET", "/", [])
        await client.request(url, "POST", "/", [], b"x")  # idle well under a second: reused
        counts = [connections]
        client.write_reuse_idle = 0.0  # every pooled connection is now "too old" for a write
        await client.request(url, "POST", "/", [], b"x")
        counts.append(connections)
        await client.request(url, "GET", "/", [])  # reads reuse whatever is pooled
        counts.append(connections)
        client.close()
        server.close()
        return counts

    assert run(go()) == [1, 2, 2]


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
