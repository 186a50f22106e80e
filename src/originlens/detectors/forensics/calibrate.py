"""Calibrate the tampering detector on untouched human photo crops and write ``calibration.py``.

Run: ``.venv/bin/python -m originlens.detectors.forensics.calibrate [--train DIR]``.

Data: the ``human`` rows of ``<train>/MANIFEST.csv`` whose generator is ``camera`` (256x256
JPEG q95 crops of camera photos; never the evaluation images). For every cue the statistic's
null distribution is stored as 101 quantiles plus an exponential tail fitted beyond the 90th
percentile (mean excess). The threshold is the 5th percentile of the combined p-value over the
same crops, so at most 5% of them score above 0.5.
"""

from __future__ import annotations

import argparse
import csv
import pprint
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from originlens.detectors.forensics import calibration as calibration_module
from originlens.detectors.tampering import CUES, analyse, combine

DEFAULT_TRAIN = Path(__file__).resolve().parents[4].parent / "shared" / "train"
TAIL_FLOOR = {"copy_move": 1.0}
"""Smallest tail scale per cue (copy-move counts are integers); others use 0.05."""
FPR_TARGET = 0.05


def human_photos(train: Path) -> list[Path]:
    with (train / "MANIFEST.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] == "human" and r["generator"] == "camera"]
    return [train / r["file"] for r in rows]


def collect(paths: list[Path]) -> list[dict[str, float | None]]:
    """Raw cue statistics per photo (photos the detector abstains on are skipped)."""
    out: list[dict[str, float | None]] = []
    for path in paths:
        with Image.open(path) as image:
            image.load()
            analysis = analyse(image, getattr(image, "quantization", None))
        if analysis.unknown_reason is None:
            out.append({name: analysis.cues[name].stat for name in CUES})
    return out


def null_model(values: list[float], floor: float) -> dict[str, Any]:
    arr = np.sort(np.asarray(values, dtype=np.float64))
    q90 = float(np.quantile(arr, 0.9))
    excess = arr[arr > q90] - q90
    scale = max(floor, float(excess.mean()) if excess.size else floor)
    return {
        "quantiles": [round(float(v), 5) for v in np.quantile(arr, np.linspace(0, 1, 101))],
        "tail_start": round(q90, 5),
        "tail_scale": round(scale, 5),
        "n": int(arr.size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--write", action="store_true", help="rewrite forensics/calibration.py")
    args = parser.parse_args()
    started = time.perf_counter()
    paths = human_photos(args.train)
    stats = collect(paths)
    cues = {
        name: null_model([s[name] for s in stats if s[name] is not None], TAIL_FLOOR.get(name, 0.05))  # type: ignore[misc]
        for name in CUES
        if sum(s[name] is not None for s in stats) >= 50
    }
    calibration: dict[str, Any] = {"cues": cues, "p_threshold": 1.0}
    from originlens.detectors.forensics.common import CueResult
    from originlens.detectors.tampering import TamperingAnalysis

    combined = []
    for s in stats:
        fake = TamperingAnalysis(width=0, height=0)
        fake.cues = {n: CueResult(evidence=n, stat=v) for n, v in s.items()}  # type: ignore[arg-type]
        combined.append(combine(fake, calibration)[2])
    threshold = float(np.quantile(np.asarray(combined), FPR_TARGET))
    calibration["p_threshold"] = round(threshold, 6)
    calibration["source"] = (
        f"{len(stats)} of {len(paths)} human camera-photo crops (256x256 JPEG q95) of shared/train, "
        f"threshold = {FPR_TARGET:.0%} quantile of the combined p-value"
    )
    flagged = float(np.mean(np.asarray(combined) < threshold))
    print(f"photos {len(paths)}, judged {len(stats)}, threshold p={threshold:.5f}, flagged {flagged:.3f}")
    for name, model in cues.items():
        print(
            name,
            "n",
            model["n"],
            "q50",
            model["quantiles"][50],
            "q90",
            model["tail_start"],
            "tail",
            model["tail_scale"],
        )
    print(f"took {time.perf_counter() - started:.1f} s")
    if args.write:
        target = Path(calibration_module.__file__)
        text = target.read_text()
        head = text[: text.index("CALIBRATION:")]
        body = pprint.pformat(calibration, width=110, compact=True, sort_dicts=False)
        target.write_text(f"{head}CALIBRATION: dict[str, Any] | None = {body}\n")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
