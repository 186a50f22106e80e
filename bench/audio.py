"""Time to done for a 60 s speech recording (MP3) sent to the real service, and its peak memory.

    .venv/bin/python bench/audio.py [--repeat 5] [--seconds 60]

The recording is real speech: clips of ``../shared/speech/eval`` in manifest order (human
recordings come first) joined until ``--seconds``, encoded as a 64 kbps MP3. The service runs in its
own process (``originlens serve``: SQLite, the in-process workers, the default detectors, rate
limits off) and this process is the client (``originlens.client``, polling every 50 ms): each
repeat submits the same file with ``no_cache`` and waits until it is ``done``. Reported: the
median submit-to-done time against the target (3 s), the POST alone, and the server's peak RSS
(``VmHWM``, Linux). Baseline in the same run, in this process: the analysis alone, i.e.
``read_audio`` + ``pipeline.analyse_audio`` on the same MP3 with the models loaded; the
ratio done / baseline is what the service adds (upload, storage, queue, database, polling).
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.speech: the eval clips joined
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests.support.speech import SPEECH_EVAL, joined_speech

from _common import load_all, start_server
from originlens.audio.features import encode_audio
from originlens.cli import bootstrap_first_user
from originlens.client import Client
from originlens.container import build_registry
from originlens.media.audio import read_audio
from originlens.pipeline import analyse_audio
from originlens.settings import Settings

TARGET_S = 3.0


def speech_mp3(seconds: float, folder: Path = SPEECH_EVAL) -> bytes:
    """Eval clips in manifest order, joined (0.2 s pauses between them) until ``seconds``, as a 64 kbps MP3."""
    with (folder / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        files = [folder / row["file"] for row in csv.DictReader(handle)]
    return encode_audio(joined_speech(files, seconds), "mp3", bitrate=64_000)


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (``VmHWM``), in MB; ``None`` off Linux."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def baseline(data: bytes, repeat: int) -> float:
    """Median seconds of the analysis alone (decode + every audio detector, whole and per chunk)."""
    registry = build_registry(Settings())
    load_all(registry)
    analyse_audio(registry, read_audio(data), "audio/mpeg")  # warm-up: first calls pay one-off costs
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        analyse_audio(registry, read_audio(data), "audio/mpeg")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.repeat < 5:
        raise SystemExit("--repeat must be at least 5 (the median of fewer runs is noise)")
    data = speech_mp3(args.seconds)
    duration = read_audio(data).duration_s
    print(f"recording: {duration:.1f} s of speech, MP3 64 kbps, {len(data) / 1e6:.2f} MB")
    base = baseline(data, args.repeat)
    print(f"baseline, read_audio + analyse_audio in this process: {base:.3f} s (median of {args.repeat})")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = bootstrap_first_user(Settings(data_dir=data_dir))
        assert key is not None
        port = 18700 + os.getpid() % 1000
        proc = start_server(data_dir, port)
        try:
            with Client(f"http://127.0.0.1:{port}", key, timeout=60) as client:
                warm = client.submit_audio(data, filename="warm-up.mp3", no_cache=True)  # loads the models
                client.wait(warm.identifier, audio=True, timeout=120, poll_interval=0.05, max_interval=0.1)
                done_times, post_times = [], []
                for i in range(args.repeat):
                    started = time.perf_counter()
                    submitted = client.submit_audio(data, filename=f"bench-{i}.mp3", no_cache=True)
                    posted = time.perf_counter()
                    result = client.wait(
                        submitted.identifier, audio=True, timeout=120, poll_interval=0.05, max_interval=0.1
                    )
                    if not result.done:
                        raise SystemExit(f"the recording ended {result.status}: {result.errors}")
                    done_times.append(time.perf_counter() - started)
                    post_times.append(posted - started)
                chunks = len(result.chunks)
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    done = statistics.median(done_times)
    print(
        f"submit -> done: {done:.2f} s median of {args.repeat} (min {min(done_times):.2f}, max "
        f"{max(done_times):.2f}); POST alone {statistics.median(post_times) * 1000:.0f} ms; "
        f"{chunks} chunks; target < {TARGET_S:g} s {'met' if done < TARGET_S else 'NOT met'}"
    )
    print(f"ratio to the baseline: {done / base:.2f}x (the service adds {done - base:.2f} s)")
    print("server peak RSS: " + ("unknown (no /proc)" if rss is None else f"{rss:.0f} MB"))


if __name__ == "__main__":
    main()
