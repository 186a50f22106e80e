"""API benchmark: submit-to-done latency, submit overhead, and GET latency under load.

The service runs in its own process (``originlens serve``, SQLite, in-process workers,
the default detectors, rate limits off); this process is the client.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 10] [--submits 40]

Targets on the 2-core dev machine: GET p99 < 25 ms at 200 requests/s (8 connections); submit overhead
(the POST itself, excluding analysis) < 20 ms median. Each figure is also given as a ratio to
a baseline measured in the same run: an authenticated trivial GET (``/api/user/credits``),
so that machine noise shows up in both.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import start_server
from originlens.cli import bootstrap_first_user
from originlens.settings import Settings


def _jpeg(seed: int, size: int = 512) -> bytes:
    image = Image.effect_noise((size, size), 40 + seed % 50).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_submit(client: httpx.Client, count: int) -> tuple[list[float], list[float]]:
    """Submit ``count`` distinct JPEGs one by one; returns POST latencies and submit-to-done times."""
    images = [_jpeg(i) for i in range(count)]
    posts, done = [], []
    for data in images:
        started = time.perf_counter()
        response = client.post(
            "/api/classification", files={"image": ("b.jpg", data)}, headers={"Accept": "application/json"}
        )
        posts.append((time.perf_counter() - started) * 1000)
        identifier = response.json()["identifier"]
        while client.get(f"/api/classification/{identifier}").json()["status"] == "new":
            time.sleep(0.005)
        done.append((time.perf_counter() - started) * 1000)
    return posts, done


def bench_baseline(client: httpx.Client, count: int = 200) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        client.get("/api/user/credits")
        out.append((time.perf_counter() - started) * 1000)
    return out


class _Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less CPU than
    the server it measures, and on a 2-core machine httpx's async client does not."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        request = f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nX-Api-Key: {self.key}\r\n\r\n"
        self.writer.write(request.encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        return status


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench_get_load(
    port: int, key: str, identifiers: list[str], rate: float | None, seconds: float, concurrency: int, pid: int
) -> dict[str, float]:
    """``concurrency`` connections; each sends GET result requests, paced so that together
    they ask ``rate`` requests/s (or as fast as they are answered when ``rate`` is None)."""
    latencies: list[float] = []
    errors = 0
    connections = [_Connection("127.0.0.1", port, key) for _ in range(concurrency)]
    for i, conn in enumerate(connections):  # open and warm every connection
        await conn.get(f"/api/classification/{identifiers[i % len(identifiers)]}")

    async def worker(index: int, conn: _Connection, begin: float) -> None:
        nonlocal errors
        n = 0
        while True:
            if rate:
                due = begin + (n * concurrency + index) / rate
                if due - begin >= seconds:
                    return
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif time.perf_counter() - begin >= seconds:
                return
            started = time.perf_counter()
            status = await conn.get(f"/api/classification/{identifiers[(n + index) % len(identifiers)]}")
            latencies.append((time.perf_counter() - started) * 1000)
            errors += status != 200
            n += 1

    cpu_before = _cpu_seconds(pid)
    begin = time.perf_counter()
    await asyncio.gather(*(worker(i, c, begin) for i, c in enumerate(connections)))
    elapsed = time.perf_counter() - begin
    cpu = _cpu_seconds(pid) - cpu_before
    for conn in connections:
        if conn.writer:
            conn.writer.close()
    return {
        "achieved": len(latencies) / elapsed,
        "errors": errors,
        "p50": _pct(latencies, 50),
        "p90": _pct(latencies, 90),
        "p99": _pct(latencies, 99),
        "max": max(latencies),
        "cpu_ms": cpu / len(latencies) * 1000,
        "count": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--submits", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = bootstrap_first_user(Settings(data_dir=data_dir))
        assert key
        port = 18700 + os.getpid() % 1000
        proc = start_server(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, headers={"X-Api-Key": key}, timeout=30) as client:
                bench_baseline(client, 20)
                baseline = bench_baseline(client)
                posts, done = bench_submit(client, args.submits)
                listing = client.get("/api/classifications", params={"per_page": 100}).json()
                identifiers = [r["identifier"] for r in listing["data"]]
            load = (key, identifiers)
            paced = asyncio.run(bench_get_load(port, *load, args.rate, args.seconds, args.concurrency, proc.pid))
            flat_out = asyncio.run(bench_get_load(port, *load, None, args.seconds / 2, args.concurrency, proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)

    base_med = statistics.median(baseline)
    print(f"baseline GET /api/user/credits (sequential): median {base_med:.2f} ms over {len(baseline)}")
    print(
        f"submit POST (sequential, 512x512 JPEG): median {statistics.median(posts):.2f} ms, "
        f"p90 {_pct(posts, 90):.2f} ms over {len(posts)}  "
        f"[{statistics.median(posts) / base_med:.1f}x baseline]  target < 20 ms median"
    )
    print(f"submit-to-done (default detectors): median {statistics.median(done):.2f} ms, p90 {_pct(done, 90):.2f} ms")
    for label, run in ((f"paced at {args.rate:.0f} req/s", paced), ("as fast as answered", flat_out)):
        print(
            f"GET result, {args.concurrency} connections, {label}: {run['achieved']:.1f} req/s over "
            f"{run['count']:.0f} requests, errors {run['errors']:.0f}, server CPU {run['cpu_ms']:.2f} ms/request"
        )
        print(
            f"  p50 {run['p50']:.2f} ms  p90 {run['p90']:.2f} ms  p99 {run['p99']:.2f} ms  max {run['max']:.2f} ms"
            f"  [p50 {run['p50'] / base_med:.1f}x baseline]"
        )
    print("targets: GET p99 < 25 ms at 200 req/s; submit POST median < 20 ms")


if __name__ == "__main__":
    main()
