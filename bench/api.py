"""API benchmark: submit-to-done latency, submit overhead, and GET latency under load.

The service runs in its own process (``originlens serve``, SQLite, in-process workers,
the C2PA detector only, rate limits off); this process is the client.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 10] [--submits 40]

Targets on the 2-core dev machine: GET p99 < 25 ms at 200 requests/s; submit overhead
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

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


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ORIGINLENS_DATA_DIR": str(data_dir),
        "ORIGINLENS_RATELIMIT_ENABLED": "false",
        "ORIGINLENS_WORKERS": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "originlens.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


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


async def bench_get_load(
    base: str, key: str, identifiers: list[str], rate: float, seconds: float
) -> tuple[list[float], int, float]:
    """Open-loop load: one GET result every 1/rate s, whatever the server's speed."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers={"X-Api-Key": key}, limits=limits, timeout=10) as client:

        async def one(i: int) -> None:
            nonlocal errors
            started = time.perf_counter()
            response = await client.get(f"/api/classification/{identifiers[i % len(identifiers)]}")
            if response.status_code != 200:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)

        for i in range(20):  # warm up the connection pool
            await one(i)
        latencies.clear()
        tasks = []
        total = int(rate * seconds)
        begin = time.perf_counter()
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    return latencies, errors, total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--submits", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = bootstrap_first_user(Settings(data_dir=data_dir))
        assert key
        port = 18700 + os.getpid() % 1000
        proc = _start(data_dir, port)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, headers={"X-Api-Key": key}, timeout=30) as client:
                bench_baseline(client, 20)
                baseline = bench_baseline(client)
                posts, done = bench_submit(client, args.submits)
                listing = client.get("/api/classifications", params={"per_page": 100}).json()
                identifiers = [r["identifier"] for r in listing["data"]]
            latencies, errors, achieved = asyncio.run(bench_get_load(base, key, identifiers, args.rate, args.seconds))
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
    print(f"submit-to-done (C2PA detector only): median {statistics.median(done):.2f} ms, p90 {_pct(done, 90):.2f} ms")
    print(
        f"GET result under open-loop load: asked {args.rate:.0f} req/s for {args.seconds:.0f} s, "
        f"achieved {achieved:.1f} req/s, errors {errors}"
    )
    print(
        f"  p50 {_pct(latencies, 50):.2f} ms  p90 {_pct(latencies, 90):.2f} ms  "
        f"p99 {_pct(latencies, 99):.2f} ms  max {max(latencies):.2f} ms  "
        f"[p50 {_pct(latencies, 50) / base_med:.1f}x baseline]  target p99 < 25 ms"
    )


if __name__ == "__main__":
    main()
