"""A load generator for one round of the intake benchmark, run in its own process.

    python -m bench.loadgen REQUESTS.json --port 8000 --clients 32 --seconds 10

REQUESTS.json holds raw HTTP/1.1 requests (latin-1 text); client i sends them in turn starting at the i-th,
each on its own keep-alive connection, as fast as the answers come. Plain asyncio on uvloop, no HTTP library:
httpx spends more CPU per request than the server's baseline route does, and on two cores the generator's
CPU is taken from the server. After a warm-up, every answer completed inside the window is counted; prints
one JSON object: requests, errors (non-2xx or failed), statuses, throughput, latency percentiles (ms)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from array import array
from collections import Counter
from pathlib import Path


async def _client(host: str, port: int, requests: list[bytes], first: int, state: dict, lat: array,
                  statuses: Counter) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = first
    n = len(requests)
    try:
        while not state["stop"]:
            req = requests[i % n]
            i += 1
            t0 = time.perf_counter_ns()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17:end])
            elif b"transfer-encoding: chunked" in lower:
                raise RuntimeError("chunked answers are not expected")
            if length:
                await reader.readexactly(length)
            t1 = time.perf_counter_ns()
            if state["measuring"] and t0 >= state["t0"]:
                lat.append(t1 - t0)
                statuses[status] += 1
            if b"connection: close" in lower:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        statuses[f"failed: {type(exc).__name__}"] += 1
    finally:
        writer.close()


async def run(host: str, port: int, requests: list[bytes], clients: int, seconds: float, warmup: float) -> dict:
    state = {"stop": False, "measuring": False, "t0": 0}
    lat: array = array("q")
    statuses: Counter = Counter()
    tasks = [asyncio.create_task(_client(host, port, requests, i * 7919, state, lat, statuses))
             for i in range(clients)]
    await asyncio.sleep(warmup)
    state["t0"] = time.perf_counter_ns()
    state["measuring"] = True
    await asyncio.sleep(seconds)
    state["measuring"] = False
    elapsed = (time.perf_counter_ns() - state["t0"]) / 1e9
    state["stop"] = True
    await asyncio.wait(tasks, timeout=30)
    ok = sum(v for k, v in statuses.items() if isinstance(k, int) and 200 <= k < 300)
    ordered = sorted(lat)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] / 1e6 if ordered else float("nan")

    return {"requests": len(ordered), "ok": ok, "errors": len(ordered) - ok + sum(
        v for k, v in statuses.items() if not isinstance(k, int)), "statuses": {str(k): v for k, v in statuses.items()},
        "seconds": elapsed, "throughput": ok / elapsed, "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
        "max_ms": ordered[-1] / 1e6 if ordered else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("requests", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=1)
    args = parser.parse_args()
    requests = [r.encode("latin-1") for r in json.loads(args.requests.read_text(encoding="utf-8"))]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.host, args.port, requests, args.clients, args.seconds, args.warmup))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
