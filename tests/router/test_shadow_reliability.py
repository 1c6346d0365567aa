"""A misbehaving candidate never changes what a client gets in shadow mode.

The candidate is a real process that answers differently (a mismatch on every request),
sometimes stalls past the shadow timeout, and is SIGKILLed while client traffic flows. Every
client response must still be the monolith's, in full and in order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from tests.router.conftest import Admin, Proxy
from tests.router.test_data_plane import wait_for
from tests.services import free_port

CANDIDATE = textwrap.dedent(
    """
    import json, sys, time
    from wsgiref.simple_server import make_server
    calls = 0
    def app(environ, start):
        global calls
        calls += 1
        if calls % 5 == 0:
            time.sleep(1.5)  # past the router's shadow timeout
        data = json.dumps({"served_by": "candidate", "path": environ["PATH_INFO"]}).encode()
        start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
    make_server("127.0.0.1", int(sys.argv[1]), app).serve_forever()
    """
)

CLIENTS = 4
REQUESTS_PER_CLIENT = 60


def test_killing_a_mismatching_slow_candidate_mid_run_never_touches_client_responses(
    upstream, start_router
) -> None:
    mono = upstream("monolith")
    port = free_port()
    candidate = subprocess.Popen([sys.executable, "-c", CANDIDATE, str(port)])
    try:
        router = start_router(mono.url, shadow_timeout=0.5)
        admin = Admin(router.admin_url)
        assert wait_for(lambda: _answers(port), timeout=20)
        admin.call("PUT", "/upstreams/catalog", {"urls": [f"http://127.0.0.1:{port}"]})
        status, reply = admin.call(
            "POST",
            "/routes",
            {"id": "products", "path": "/api/products/**", "target": "catalog", "mode": "shadow"},
        )
        assert status == 201, reply

        answers: list[list[tuple[int, str, object]]] = [[] for _ in range(CLIENTS)]
        sent = threading.Event()

        def client(n: int) -> None:
            proxy = Proxy(router.proxy_url)
            for i in range(REQUESTS_PER_CLIENT):
                path = f"/api/products/{n}-{i}"
                status, headers, body = proxy.send("GET", path)
                answers[n].append((status, headers.get("x-strangler-target", ""), body))
                if n == 0 and i == REQUESTS_PER_CLIENT // 3:
                    sent.set()
            proxy.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        assert sent.wait(60)
        os.kill(candidate.pid, signal.SIGKILL)  # mid-run: mirrors in flight fail
        for t in threads:
            t.join(120)

        for n in range(CLIENTS):
            assert len(answers[n]) == REQUESTS_PER_CLIENT
            for i, (status, target, body) in enumerate(answers[n]):
                assert status == 200 and target == "monolith"
                assert isinstance(body, dict)
                assert (body["served_by"], body["path"]) == ("monolith", f"/api/products/{n}-{i}")
        # The candidate did disagree (so the mirror really ran) before it died.
        summary = admin.call("GET", "/shadow/summary")[1]
        assert wait_for(lambda: _mismatched(admin) > 0, timeout=20), summary
    finally:
        candidate.kill()
        candidate.wait(10)


def _answers(port: int) -> bool:
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/ping")
        return conn.getresponse().status == 200
    except OSError:
        time.sleep(0.05)
        return False


def _mismatched(admin: Admin) -> int:
    rows = admin.call("GET", "/shadow/comparisons?route=products")[1]["comparisons"]
    return sum(1 for row in rows if not row["match"])
