"""Latency of one image through every default detector (decode included), and worker memory.

    .venv/bin/python bench/pixel.py [--repeat 5]

Runs the same in-process pipeline as the worker (``pipeline.analyse_media`` after the
worker's decode) on a 1 MP and a 12 MP JPEG made from a real camera photo of the shared eval
set. Memory: the peak resident set of this process after loading every model and analysing
both images, i.e. what one worker needs. Targets on the 2-core dev machine: median under
300 ms (1 MP) and 800 ms (12 MP); under 1.5 GB resident. Baseline in the same run: the
decode alone, so the ratio shows what the detectors add.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import load_all, make_jpeg
from originlens.container import build_registry
from originlens.detectors.base import MediaInput
from originlens.media.images import decode_image
from originlens.pipeline import analyse_media
from originlens.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "real" / "exif-samples" / "exif-org_nikon-e950.jpg"


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    registry = build_registry(settings)
    started = time.perf_counter()
    load_all(registry)  # every model, the option ones too: what a worker holds
    print(
        f"detectors: {', '.join(f'{d.name}({d.kind})' for d in registry)} + faces; loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )

    for label, size, target in (("1 MP", (1155, 866), 300), ("12 MP", (4000, 3000), 800)):
        data = make_jpeg(SOURCE if SOURCE.exists() else None, *size)

        def full(data: bytes = data) -> None:
            decoded = decode_image(data, settings.max_image_pixels)
            analyse_media(registry, MediaInput(data=data, mime_type="image/jpeg", name="bench.jpg", decoded=decoded))

        def decode_only(data: bytes = data) -> None:
            decode_image(data, settings.max_image_pixels)

        full()  # warm
        total = statistics.median(timed(full, args.repeat))
        decode = statistics.median(timed(decode_only, args.repeat))
        decoded = decode_image(data, settings.max_image_pixels)
        outcome = analyse_media(registry, MediaInput(data=data, mime_type="image/jpeg", decoded=decoded))
        per_model = ", ".join(f"{r['model']} {r['elapsed_time'] * 1000:.0f} ms" for r in outcome.results)
        print(
            f"{label} JPEG: median {total:.0f} ms through all detectors (decode alone {decode:.0f} ms, "
            f"{total / decode:.1f}x); target < {target} ms"
        )
        print(f"  per detector (one run): {per_model}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this worker: {peak_mb:.0f} MB (target < 1536 MB)")


if __name__ == "__main__":
    main()
