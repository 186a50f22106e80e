"""False alarms of the NSFW model on safe photos (../shared/eval/real and ../shared/eval/faces).

    .venv/bin/python scripts/eval_nsfw.py [--nudenet]

No explicit material exists in this repository or the eval set, so only the false-positive
side is measured here: every file is a safe photo (people, portraits, objects, camera tests).
True-positive quality comes from the upstream models' own evaluations (docs/models/nsfw.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from originlens.detectors.base import MediaInput
from originlens.detectors.nsfw import NsfwDetector

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nudenet", action="store_true", help="also run NudeNet (AGPL weights, opt-in)")
    args = parser.parse_args()
    detector = NsfwDetector(use_nudenet=args.nudenet)
    files = sorted(
        p for folder in ("real", "faces") for p in (EVAL / folder).rglob("*") if p.suffix.lower() in EXTENSIONS
    )
    judged, flagged, unknown, times = 0, [], 0, []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                decoded = image.copy()
        except Exception:
            continue
        prediction = detector.predict(MediaInput(data=path.read_bytes(), mime_type="image/*", decoded=decoded))
        if prediction.unknown:
            unknown += 1
            continue
        judged += 1
        times.append(prediction.elapsed_time * 1000)
        if prediction.details.get("is_nsfw"):
            flagged.append((path.relative_to(EVAL).as_posix(), prediction.details.get("triggered_by")))
    mode = "open_nsfw + NudeNet" if args.nudenet else "open_nsfw only (default install)"
    print(
        f"{mode}: {len(flagged)}/{judged} safe photos flagged NSFW ({len(flagged) / max(1, judged):.1%}); "
        f"{unknown} unknown; median {statistics.median(times):.0f} ms per image"
    )
    for name, trigger in flagged:
        print(f"  flagged: {name} ({trigger})")


if __name__ == "__main__":
    main()
