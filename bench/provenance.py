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


def _ms(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _decode(data: bytes) -> Image.Image:
    """What the worker does before the detectors run (``media.images.decode_image``)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    data = make_12mp_jpeg()
    detectors = [d for d in build_registry(Settings()) if d.kind == "provenance"]
    decoded = _decode(data)
    media = MediaInput(data=data, mime_type="image/jpeg", name="bench.jpg", decoded=decoded)
    for detector in detectors:  # warm: lazy loads and caches
        detector.predict(media)
    # Interleaved: each repeat times the decode and then every detector, so machine noise
    # lands on the baseline and the detectors alike.
    decode_times: list[float] = []
    times: dict[str, list[float]] = {d.name: [] for d in detectors}
    for _ in range(args.repeat):
        decode_times.append(_ms(lambda: _decode(data)))
        for detector in detectors:
            times[detector.name].append(_ms(lambda d=detector: d.predict(media)))  # type: ignore[misc]
    decode = statistics.median(decode_times)
    print(f"12 MP JPEG ({len(data) / 1e6:.1f} MB): decode (open + load) median {decode:.1f} ms (baseline)")
    total = 0.0
    for detector in detectors:
        took = statistics.median(times[detector.name])
        total += took
        reason = str(detector.predict(media).details.get("reason", ""))[:70]
        print(f"  {detector.name:<10} median {took:7.2f} ms = {took / decode:6.1%} of decode  ({reason})")
    print(f"all provenance detectors: {total:.1f} ms = {total / decode:.1%} of decode (target < 25%)")


if __name__ == "__main__":
    main()
