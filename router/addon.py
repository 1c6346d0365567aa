"""The mitmproxy side of the data plane: the only module that imports mitmproxy.

`StranglerAddon.request` turns a flow into a plain request, lets the DataPlane decide
and forward it, and sets `flow.response`, so mitmproxy itself never connects upstream:
only the DataPlane's client does, and only to registered upstream URLs. `build_master`
runs mitmproxy in reverse-proxy mode with just the addons this needs (the proxy server
and layer selection), not mitmdump's ~30 default addons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mitmproxy import http, options
from mitmproxy.addons import next_layer, proxyserver
from mitmproxy.master import Master

from router.dataplane import DataPlane, Incoming, Outgoing


class StranglerAddon:
    """Route every request through the DataPlane."""

    def __init__(
        self,
        plane: DataPlane,
        after: Callable[[Incoming, Outgoing, float], None] | None = None,
        on_running: Callable[[], object] | None = None,
    ) -> None:
        self.plane = plane
        self.after = after  # access log, capture: called after the response is ready
        self.on_running = on_running

    async def running(self) -> None:
        if self.on_running is not None:
            result = self.on_running()
            if asyncio.iscoroutine(result):
                await result

    async def request(self, flow: http.HTTPFlow) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        req = flow.request
        peer = flow.client_conn.peername
        incoming = Incoming(
            method=req.method,
            target=req.path,
            headers=list(req.headers.fields),
            body=req.raw_content or b"",
            client=str(peer[0]) if peer else "",
            scheme="https" if flow.client_conn.tls_established else "http",
        )
        out = await self.plane.handle(incoming)
        flow.metadata["strangler"] = {"route": out.decision.route, "target": out.served_by}
        flow.response = http.Response(
            b"HTTP/1.1",
            out.status,
            http.status_codes.RESPONSES.get(out.status, "").encode(),
            http.Headers(out.headers),
            out.body,
            None,
            req.timestamp_start,
            None,
        )
        if self.after is not None:
            self.after(incoming, out, loop.time() - started)


def build_master(
    addon: StranglerAddon, listen_host: str, listen_port: int, placeholder: str, max_body: str
) -> Master:
    """Return a master serving reverse-proxy mode with only the addons we need.

    `placeholder` is the reverse-mode destination mitmproxy requires; it is never
    contacted because the addon answers every request and connections are lazy.
    """
    opts = options.Options(
        mode=[f"reverse:{placeholder}"],
        listen_host=listen_host,
        listen_port=listen_port,
    )
    master = Master(opts)
    master.addons.add(proxyserver.Proxyserver(), next_layer.NextLayer(), addon)
    opts.update(connection_strategy="lazy", body_size_limit=max_body)
    return master
