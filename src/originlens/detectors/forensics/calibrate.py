"""Calibrate the tampering detector on untouched human photo crops and write ``calibration.py``.

Run: ``.venv/bin/python -m originlens.detectors.forensics.calibrate [--train DIR] [--write]``, then
``ruff format`` on ``calibration.py`` (the file is written with ``pprint``).

Data: the ``human`` rows of ``<train>/MANIFEST.csv`` whose generator is ``camera`` (256x256
JPEG q95 crops of camera photos; never the evaluation images), each used twice: as stored and
re-saved (decoded, saved again) at a quality drawn from ``RESAVE_QUALITIES`` (seeded), since an
untouched photo re-saved is still untouched. For every map cue the statistic's null
distribution is stored as 101 quantiles plus an exponential tail fitted beyond the 90th
percentile (mean excess). Copy-move is not calibrated here (fixed rule, see ``copymove``); its
firings count against the budget: the threshold is the largest p for which the map cues and
the copy-move rule together flag at most 5% of these images.
"""

from __future__ import annotations

import argparse
import csv
import io
import pprint
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from originlens.detectors.forensics import calibration as calibration_module
from originlens.detectors.forensics.copymove import rule_score
from originlens.detectors.tampering import CUES, MAP_CUES, analyse, combine

DEFAULT_TRAIN = Path(__file__).resolve().parents[4].parent / "shared" / "train"
TAIL_FLOOR: dict[str, float] = {}
"""Smallest tail scale per cue; cues not listed use 0.05."""
FPR_TARGET = 0.05
RESAVE_QUALITIES = (75, 80, 85, 90, 95)
SEED = 20240611


def human_photos(train: Path) -> list[Path]:
    with (train / "MANIFEST.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] == "human" and r["generator"] == "camera"]
    return [train / r["file"] for r in rows]


def _stats(image: Image.Image) -> dict[str, float | None] | None:
    analysis = analyse(image, getattr(image, "quantization", None))
    if analysis.unknown_reason is not None:
        return None
    return {name: analysis.cues[name].stat for name in CUES}


def collect(paths: list[Path]) -> list[dict[str, float | None]]:
    """Raw cue statistics per image, stored and re-saved (images the detector abstains on are skipped)."""
    rng = np.random.default_rng(SEED)
    out: list[dict[str, float | None]] = []
    for path in paths:
        quality = int(rng.choice(RESAVE_QUALITIES))
        with Image.open(path) as image:
            image.load()
            found = _stats(image)
            buf = io.BytesIO()
            image.convert("RGB").save(buf, "JPEG", quality=quality)
        with Image.open(io.BytesIO(buf.getvalue())) as again:
            again.load()
            resaved = _stats(again)
        out += [s for s in (found, resaved) if s is not None]
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
        for name in MAP_CUES
        if sum(s[name] is not None for s in stats) >= 50
    }
    calibration: dict[str, Any] = {"cues": cues, "p_threshold": 1.0}
    from originlens.detectors.forensics.common import CueResult
    from originlens.detectors.tampering import TamperingAnalysis

    combined = []
    for s in stats:
        fake = TamperingAnalysis(width=0, height=0)
        fake.cues = {n: CueResult(evidence=n, stat=v) for n, v in s.items() if n != "copy_move"}  # type: ignore[arg-type]
        combined.append(combine(fake, calibration)[2])
    p_arr = np.asarray(combined)
    cm_flag = np.asarray([s["copy_move"] is not None and rule_score(s["copy_move"]) > 0.5 for s in stats])
    budget = int(np.floor(FPR_TARGET * len(stats))) - int(cm_flag.sum())
    rest = np.sort(p_arr[~cm_flag])
    threshold = float(rest[budget]) if 0 <= budget < rest.size else float(rest.min()) if rest.size else 0.0
    calibration["p_threshold"] = round(threshold, 6)
    calibration["source"] = (
        f"{len(stats)} images from {len(paths)} human camera-photo crops (256x256 JPEG q95) of shared/train, "
        f"as stored and re-saved at q{min(RESAVE_QUALITIES)}-{max(RESAVE_QUALITIES)}; threshold: map cues "
        f"and the copy-move rule together flag {FPR_TARGET:.0%}"
    )
    flagged_map = p_arr < threshold
    flagged = float(np.mean(flagged_map | cm_flag))
    print(
        f"photos {len(paths)}, images judged {len(stats)}, threshold p={threshold:.5f}, flagged {flagged:.3f} "
        f"(copy-move rule {cm_flag.mean():.3f}, map cues {flagged_map.mean():.3f})"
    )
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
