"""`strangler verify` against a naive sequential replay, side by side, on one recording.

Two loopback JSON services stand in for the monolith and its extracted copy: the same
deterministic product answers (about 1 KB of JSON each), the candidate differing in one
field on every 50th product. Both replays read the same JSON Lines recording:

- naive: for each request, `requests` (one keep-alive Session per side) to the legacy
  side, then to the candidate, `json.loads` both, a recursive dict diff;
- verify: the `strangler verify` engine (parity.replay + parity.report), in-process,
  with its default concurrency; noise learning on (a third call on each mismatch).

Then the real CLI replays 100,000 requests in a child process and its peak RSS is read
from the kernel (getrusage of the children).

    .venv/bin/python bench/verify_bench.py              # ~2 minutes
    .venv/bin/python bench/verify_bench.py --requests 2000 --memory 10000   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def product(i: int, candidate: bool) -> bytes:
    body: dict[str, Any] = {
        "id": i,
        "sku": f"SKU-{i:06d}",
        "name": f"Product {i}",
        "description": "A deterministic product used by the verify benchmark. " * 6,
        "category": {"id": i % 12, "name": f"Category {i % 12}"},
        "price_cents": 1000 + i % 997,
        "currency": "EUR",
        "stock": i % 50,
        "tags": [f"tag-{i % 7}", f"tag-{i % 11}", "bench"],
        "average_rating": round((i % 5) + 0.37, 2),
    }
    if candidate and i % 50 == 0:
        body["price_cents"] += 1
    return json.dumps(body).encode()


async def _serve(port: int, candidate: bool) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                i = int(target.rsplit("/", 1)[-1].split("?")[0] or 0)
                body = product(i, candidate)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def _stub(ports: tuple[int, int]) -> None:
    async def both() -> None:
        await asyncio.gather(_serve(ports[0], False), _serve(ports[1], True))

    try:
        import uvloop

        uvloop.run(both())
    except ImportError:
        asyncio.run(both())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"stub on port {port} did not start")


def record(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            fh.write(json.dumps({"method": "GET", "path": f"/api/products/{k % 5000 + 1}"}) + "\n")


def naive_diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in set(a) | set(b):
            naive_diff(a.get(key), b.get(key), f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            naive_diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(path)


def naive(recording: Path, legacy: str, candidate: str) -> tuple[float, int]:
    import requests

    mismatched = 0
    sessions = requests.Session(), requests.Session()
    start = time.perf_counter()
    with recording.open(encoding="utf-8") as fh:
        for line in fh:
            req = json.loads(line)
            a = sessions[0].request(req["method"], legacy + req["path"])
            b = sessions[1].request(req["method"], candidate + req["path"])
            out: list[str] = []
            naive_diff(json.loads(a.content), json.loads(b.content), "$", out)
            mismatched += bool(out) or a.status_code != b.status_code
    return time.perf_counter() - start, mismatched


def engine(recording: Path, legacy: str, candidate: str) -> tuple[float, int]:
    from parity import NoiseModel
    from parity.inputs import read_jsonl
    from parity.replay import ReplayConfig, Replayer
    from parity.report import Tally

    noise = NoiseModel()
    tally = Tally(legacy, candidate, noise)
    replayer = Replayer(ReplayConfig(legacy, candidate), noise=noise)
    start = time.perf_counter()
    with recording.open(encoding="utf-8") as fh:
        replayer.run(read_jsonl(fh), tally.add)
    seconds = time.perf_counter() - start
    return seconds, tally.report()["totals"]["mismatched"]


def cli_memory(recording: Path, legacy: str, candidate: str) -> tuple[float, float, int]:
    """Run the real CLI on the recording; return (seconds, peak RSS MiB, exit status)."""
    cmd = [str(ROOT / ".venv/bin/strangler"), "verify", "--legacy", legacy, "--candidate",
           candidate, "--requests", str(recording), "--json"]  # fmt: skip
    env = {**os.environ, "STRANGLER_ADMIN_URL": "", "STRANGLER_ADMIN_TOKEN": ""}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:  # no strangler.toml: no router to ask
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=False)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak_kib / 1024, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="for the speed ratio")
    parser.add_argument("--memory", type=int, default=100_000, help="for the CLI's peak RSS")
    args = parser.parse_args()
    ports = (free_port(), free_port())
    stub = multiprocessing.Process(target=_stub, args=(ports,), daemon=True)
    stub.start()
    try:
        for p in ports:
            wait_port(p)
        legacy, candidate = (f"http://127.0.0.1:{p}" for p in ports)
        with tempfile.TemporaryDirectory() as tmp:
            small, big = Path(tmp) / "small.jsonl", Path(tmp) / "big.jsonl"
            record(small, args.requests)
            record(big, args.memory)
            naive_s, naive_bad = naive(small, legacy, candidate)
            engine_s, engine_bad = engine(small, legacy, candidate)
            cli_s, peak_mib, status = cli_memory(big, legacy, candidate)
    finally:
        stub.terminate()
        stub.join(5)
    n = args.requests
    print(f"recording: {n} GET requests, 1 in 50 with a changed price on the candidate")
    print(f"naive sequential (requests + json.loads + dict diff): {naive_s:6.2f} s  "
          f"{n / naive_s:8.0f} pairs/s  mismatched {naive_bad}")  # fmt: skip
    print(f"strangler verify engine (concurrency 8, noise on):    {engine_s:6.2f} s  "
          f"{n / engine_s:8.0f} pairs/s  mismatched {engine_bad}")  # fmt: skip
    print(f"speed-up: {naive_s / engine_s:.1f}x (target >= 3x)")
    print(f"CLI on {args.memory} requests: {cli_s:.1f} s ({args.memory / cli_s:.0f} pairs/s), "
          f"peak RSS {peak_mib:.0f} MiB (target < 200 MiB), exit status {status}")  # fmt: skip


if __name__ == "__main__":
    main()
