"""Evaluate the tampering detector on edits made from held-out real photos.

Usage: ``.venv/bin/python scripts/eval_tampering.py [--eval DIR] [--limit N] [--json OUT]``

Sources: the ``human`` rows under ``real/`` of ``<eval>/MANIFEST.csv`` that Pillow opens and
that are at least ``MIN_SIDE`` px a side (none of them is in the calibration set, which comes
from ``shared/train``). For every source, with a generator seeded from its index (so the run is
deterministic), five JPEGs are made at one quality drawn from ``QUALITIES``:

* ``original``: the untouched photo re-saved;
* ``splice``: a patch of another source photo pasted at an offset off the 8x8 grid;
* ``copy_move``: a region of the same photo pasted elsewhere (no overlap);
* ``blur``: a region Gaussian-blurred (radius 1.5-3);
* ``double_jpeg``: a region taken from a copy JPEG-compressed at quality 50-70 on a grid
  shifted by 1-7 px, pasted back in place.

With ``--all-qualities`` every untouched original is also re-saved at every quality of
``QUALITIES`` and the FPR per quality is reported.

Reports, per edit type: AUC against the originals (ties half), TPR at the detector's fixed
threshold (score > 0.5), the FPR on originals, abstentions, and localisation: the share of
flagged edits whose reported regions include one with IoU >= 0.2 with the edited box, and the
share where any reported region overlaps it at all. Latency: the median and 95th percentile
of ``elapsed_time`` per size band, and a timed 1 MP and 12 MP photo.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from originlens.detectors.base import MediaInput
from originlens.detectors.tampering import TamperingDetector

DEFAULT_EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
MIN_SIDE = 200
QUALITIES = (75, 80, 85, 90, 95)
EDITS = ("splice", "copy_move", "blur", "double_jpeg")
SEED = 20240601
BoxT = tuple[int, int, int, int]


def load_sources(root: Path) -> list[tuple[str, np.ndarray]]:
    out: list[tuple[str, np.ndarray]] = []
    with (root / "MANIFEST.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["file"].startswith("real/") and r["label"] == "human"]
    for row in sorted(rows, key=lambda r: r["file"]):
        try:
            with Image.open(root / row["file"]) as image:
                rgb = np.asarray(image.convert("RGB"))
        except Exception:
            continue
        if min(rgb.shape[:2]) >= MIN_SIDE:
            out.append((row["file"], rgb))
    return out


def jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _box(rng: np.random.Generator, h: int, w: int, lo: float, hi: float) -> tuple[int, int]:
    side = int(min(h, w) * rng.uniform(lo, hi))
    bh = max(16, int(side * rng.uniform(0.8, 1.2)))
    return min(bh, h - 2), min(side, w - 2)


def _place(rng: np.random.Generator, h: int, w: int, bh: int, bw: int) -> tuple[int, int]:
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    if y % 8 == 0 and x % 8 == 0 and x + 3 + bw <= w:  # keep pasted content off the 8x8 grid
        x += 3
    return y, x


def make_edit(kind: str, rgb: np.ndarray, donor: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, BoxT]:
    """The edited image and the edited box (x1, y1, x2, y2)."""
    h, w = rgb.shape[:2]
    out = rgb.copy()
    if kind == "splice":
        bh, bw = _box(rng, h, w, 0.2, 0.35)
        dh, dw = donor.shape[:2]
        if dh < bh or dw < bw:
            f = max(bh / dh, bw / dw) * 1.05
            donor = np.asarray(Image.fromarray(donor).resize((int(dw * f) + 1, int(dh * f) + 1)))
            dh, dw = donor.shape[:2]
        sy, sx = int(rng.integers(0, dh - bh + 1)), int(rng.integers(0, dw - bw + 1))
        y, x = _place(rng, h, w, bh, bw)
        out[y : y + bh, x : x + bw] = donor[sy : sy + bh, sx : sx + bw]
        return out, (x, y, x + bw, y + bh)
    if kind == "copy_move":
        bh, bw = _box(rng, h, w, 0.15, 0.3)
        sy, sx = _place(rng, h, w, bh, bw)
        for _ in range(50):
            y, x = _place(rng, h, w, bh, bw)
            if abs(y - sy) >= bh or abs(x - sx) >= bw:
                break
        out[y : y + bh, x : x + bw] = rgb[sy : sy + bh, sx : sx + bw]
        return out, (x, y, x + bw, y + bh)
    if kind == "blur":
        bh, bw = _box(rng, h, w, 0.2, 0.35)
        y, x = _place(rng, h, w, bh, bw)
        region = Image.fromarray(rgb[y : y + bh, x : x + bw]).filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 3.0)))
        out[y : y + bh, x : x + bw] = np.asarray(region)
        return out, (x, y, x + bw, y + bh)
    if kind == "double_jpeg":
        bh, bw = _box(rng, h, w, 0.2, 0.35)
        y, x = _place(rng, h, w, bh, bw)
        dy, dx = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        shifted = rgb[dy:, dx:]
        with Image.open(io.BytesIO(jpeg(np.ascontiguousarray(shifted), int(rng.integers(50, 71))))) as im:
            recompressed = np.asarray(im.convert("RGB"))
        y, x = max(y, dy), max(x, dx)  # the region must lie inside the shifted copy
        bh, bw = min(bh, h - y), min(bw, w - x)
        out[y : y + bh, x : x + bw] = recompressed[y - dy : y - dy + bh, x - dx : x - dx + bw]
        return out, (x, y, x + bw, y + bh)
    raise ValueError(kind)


def iou(a: BoxT, b: BoxT) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def timing(detector: TamperingDetector, rgb: np.ndarray, megapixels: float, repeats: int = 3) -> float:
    """Median seconds of ``predict`` on ``rgb`` resized to ``megapixels`` and saved at q90."""
    h, w = rgb.shape[:2]
    f = (megapixels * 1e6 / (h * w)) ** 0.5
    data = jpeg(np.asarray(Image.fromarray(rgb).resize((int(w * f), int(h * f)), Image.Resampling.BICUBIC)), 90)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        detector.predict(MediaInput(data=data, mime_type="image/jpeg"))  # decodes inside, as the service may
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N sources (0: all)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--all-qualities", action="store_true", help="also score every untouched original re-saved at every quality"
    )
    args = parser.parse_args()
    sources = load_sources(args.eval)
    if args.limit:
        sources = sources[: args.limit]
    detector = TamperingDetector()
    records: list[dict[str, Any]] = []
    for i, (name, rgb) in enumerate(sources):
        rng = np.random.default_rng(SEED + i)
        quality = int(rng.choice(QUALITIES))
        donor = sources[(i + 1 + int(rng.integers(0, len(sources) - 1))) % len(sources)][1]
        variants: list[tuple[str, np.ndarray, BoxT | None]] = [("original", rgb, None)]
        for kind in EDITS:
            edited, edited_box = make_edit(kind, rgb, donor, rng)
            variants.append((kind, edited, edited_box))
        for kind, arr, box in variants:
            pred = detector.predict(MediaInput(data=jpeg(arr, quality), mime_type="image/jpeg"))
            regions = pred.details.get("regions", []) if not pred.unknown else []
            ious = [iou(box, (r["x1"], r["y1"], r["x2"], r["y2"])) for r in regions] if box else []
            records.append(
                {
                    "source": name,
                    "group": "cnndetection" if "cnndetection" in name else "camera/other",
                    "kind": kind,
                    "quality": quality,
                    "pixels": int(arr.shape[0] * arr.shape[1]),
                    "unknown": pred.unknown,
                    "score": pred.artificial,
                    "elapsed": pred.elapsed_time,
                    "best_iou": max(ious, default=0.0),
                    "overlap": any(v > 0 for v in ious),
                    "cue_scores": {k: v["score"] for k, v in pred.details.get("scores", {}).items()},
                }
            )
    judged = [r for r in records if not r["unknown"]]
    neg = [r["score"] for r in judged if r["kind"] == "original"]
    print(f"sources {len(sources)}, images {len(records)}, abstained {len(records) - len(judged)}")
    print(f"FPR on originals (score > 0.5): {np.mean([s > 0.5 for s in neg]):.3f} of {len(neg)}")
    for group in ("cnndetection", "camera/other"):
        g = [r["score"] for r in judged if r["kind"] == "original" and r["group"] == group]
        print(f"  FPR {group}: {np.mean([s > 0.5 for s in g]) if g else float('nan'):.3f} of {len(g)}")
    summary: dict[str, Any] = {"fpr": float(np.mean([s > 0.5 for s in neg])), "n_originals": len(neg), "edits": {}}
    print("| edit | n | AUC | TPR@thr | loc IoU>=0.2 (flagged) | any overlap (flagged) |")
    print("|---|---|---|---|---|---|")
    all_pos: list[float] = []
    for kind in EDITS:
        rows = [r for r in judged if r["kind"] == kind]
        pos = [r["score"] for r in rows]
        all_pos += pos
        flagged = [r for r in rows if r["score"] > 0.5]
        loc = float(np.mean([r["best_iou"] >= 0.2 for r in flagged])) if flagged else float("nan")
        ovl = float(np.mean([r["overlap"] for r in flagged])) if flagged else float("nan")
        tpr = float(np.mean([s > 0.5 for s in pos])) if pos else float("nan")
        summary["edits"][kind] = {"n": len(rows), "auc": auc(pos, neg), "tpr": tpr, "loc_iou02": loc, "overlap": ovl}
        print(f"| {kind} | {len(rows)} | {auc(pos, neg):.3f} | {tpr:.3f} | {loc:.3f} | {ovl:.3f} |")
    print(f"| all edits | {len(all_pos)} | {auc(all_pos, neg):.3f} | {np.mean([s > 0.5 for s in all_pos]):.3f} | | |")
    summary["auc_all"] = auc(all_pos, neg)
    by_quality: dict[int, dict[str, float]] = {}
    for q in QUALITIES:
        o = [r["score"] > 0.5 for r in judged if r["quality"] == q and r["kind"] == "original"]
        e = [r["score"] > 0.5 for r in judged if r["quality"] == q and r["kind"] != "original"]
        if o:
            by_quality[q] = {"n_originals": len(o), "fpr": float(np.mean(o)), "tpr_edits": float(np.mean(e))}
            print(f"q{q}: originals {len(o)}, FPR {np.mean(o):.3f}; edits TPR {np.mean(e):.3f}")
    summary["by_quality"] = by_quality
    # Which cue fires (score > 0.5) per edit type: where the evidence comes from.
    fires: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in judged:
        for cue, s in r["cue_scores"].items():
            if s is not None and s > 0.5:
                fires[r["kind"]][cue] += 1
    print("cue firing counts:", {k: dict(v) for k, v in fires.items()})
    summary["cue_fires"] = {k: dict(v) for k, v in fires.items()}
    if args.all_qualities:
        # The untouched originals re-saved at every quality: FPR by quality on 5x more negatives.
        per_q: dict[int, list[bool]] = defaultdict(list)
        for _, rgb in sources:
            for q in QUALITIES:
                pred = detector.predict(MediaInput(data=jpeg(rgb, q), mime_type="image/jpeg"))
                if not pred.unknown:
                    per_q[q].append(pred.artificial > 0.5)
        summary["fpr_all_qualities"] = {q: float(np.mean(v)) for q, v in per_q.items()}
        everything = [x for v in per_q.values() for x in v]
        print(
            "originals at every quality, FPR:",
            {q: f"{np.mean(v):.3f} of {len(v)}" for q, v in per_q.items()},
            f"overall {np.mean(everything):.3f} of {len(everything)}",
        )
    bands = {"<0.3MP": (0, 3e5), "0.3-1.5MP": (3e5, 1.5e6), ">1.5MP": (1.5e6, 1e9)}
    for band, (lo, hi) in bands.items():
        t = sorted(r["elapsed"] for r in records if lo <= r["pixels"] < hi)
        if t:
            median, p95 = 1000 * t[len(t) // 2], 1000 * t[int(0.95 * (len(t) - 1))]
            print(f"latency {band}: n={len(t)} median {median:.0f} ms, p95 {p95:.0f} ms")
    big = max(sources, key=lambda s: s[1].shape[0] * s[1].shape[1])[1]
    for mp in (1.0, 12.0):
        secs = timing(detector, big, mp)
        summary[f"latency_{mp:g}mp_s"] = secs
        print(f"predict on a {mp:g} MP JPEG (decode included): {1000 * secs:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "records": records}, indent=1))


if __name__ == "__main__":
    main()
