"""Added latency of each request option (with_tampering, with_nsfw, with_morphing).

    .venv/bin/python bench/options.py [--repeat 5]

Runs the worker's in-process pipeline (decode + ``analyse_media``) on a 1 MP and a 12 MP JPEG
made from a real photo with two faces (../shared/eval/faces/face_recognition/two_people.jpg),
first with no option (the baseline, measured in the same process and interleaved with the
option runs), then with each option alone and with all three. Face detection runs in every
case (it fills ``details``); ``with_morphing`` adds the morph model on each face found.
Target on the 2-core dev machine: all three options together add < 400 ms (median) on 1 MP.
"""

from __future__ import annotations

import argparse
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

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "faces" / "face_recognition" / "two_people.jpg"
CASES: dict[str, tuple[str, ...]] = {
    "no option (baseline)": (),
    "with_tampering": ("with_tampering",),
    "with_nsfw": ("with_nsfw",),
    "with_morphing": ("with_morphing",),
    "all three": ("with_tampering", "with_nsfw", "with_morphing"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    registry = build_registry(settings)
    load_all(registry)
    for label, size, target in (("1 MP", (1155, 866), 400.0), ("12 MP", (4000, 3000), None)):
        data = make_jpeg(SOURCE, *size)

        def run(options: tuple[str, ...], data: bytes = data) -> float:
            started = time.perf_counter()
            decoded = decode_image(data, settings.max_image_pixels)
            analyse_media(registry, MediaInput(data=data, mime_type="image/jpeg", decoded=decoded), options)
            return (time.perf_counter() - started) * 1000

        for options in CASES.values():
            run(options)  # warm every model once
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for _ in range(args.repeat):  # interleaved, so machine noise hits every case alike
            for name, options in CASES.items():
                times[name].append(run(options))
        base = statistics.median(times["no option (baseline)"])
        print(f"{label} JPEG ({size[0]}x{size[1]}), median of {args.repeat}:")
        for name, samples in times.items():
            median = statistics.median(samples)
            added = "" if name.startswith("no option") else f", adds {median - base:+.0f} ms"
            print(f"  {name:22s} {median:6.0f} ms{added}")
        if target is not None:
            added_all = statistics.median(times["all three"]) - base
            verdict = "met" if added_all < target else "NOT met"
            print(f"  all three add {added_all:.0f} ms: target < {target:.0f} ms {verdict}")


if __name__ == "__main__":
    main()
