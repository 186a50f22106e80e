"""Provenance detectors' time per image against the decode time of the same image.

    .venv/bin/python bench/provenance.py [--repeat 7]

The test image is a 12 MP (4000x3000) JPEG made from a real camera photo in the shared eval
set, keeping its camera EXIF, so the metadata reader has real work. The baseline, measured in
the same run, is Pillow decoding that JPEG to pixels (open + load + RGB), which every pixel
detector has to pay anyway. Target: all provenance detectors together under 25% of decode time.
Each detector gets the already-decoded image, as the worker gives it (``MediaInput.decoded``),
so its time is its own work on top of the shared decode. Medians over ``--repeat`` runs;
this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from originlens.container import build_registry
from originlens.detectors.base import MediaInput
from originlens.settings import Settings

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "eval" / "real" / "exif-samples" / "exif-org_nikon-e950.jpg"


def make_12mp_jpeg() -> bytes:
    if SOURCE.exists():
        source = Image.open(SOURCE)
        exif = source.getexif()
        image = source.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    else:  # still a fair size test without the shared set, only without camera EXIF
        exif = Image.Exif()
        image = Image.effect_noise((4000, 3000), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm (lazy loads, caches)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data = make_12mp_jpeg()
    decode = median_ms(lambda: Image.open(io.BytesIO(data)).convert("RGB").load(), args.repeat)
    print(f"12 MP JPEG ({len(data) / 1e6:.1f} MB): decode median {decode:.1f} ms (baseline)")
    total = 0.0
    for detector in build_registry(Settings()):
        if detector.kind != "provenance":
            continue
        decoded = Image.open(io.BytesIO(data))
        decoded.load()
        media = MediaInput(data=data, mime_type="image/jpeg", name="bench.jpg", decoded=decoded)
        took = median_ms(lambda d=detector, m=media: d.predict(m), args.repeat)  # type: ignore[misc]
        total += took
        result = detector.predict(media)
        print(
            f"  {detector.name:<10} median {took:7.2f} ms  = {took / decode:6.1%} of decode"
            f"  (unknown={result.unknown}, reason: {str(result.details.get('reason', ''))[:70]})"
        )
    print(f"all provenance detectors: {total:.1f} ms = {total / decode:.1%} of decode (target < 25%)")


if __name__ == "__main__":
    main()
