"""Train the spectral detector's head on ``/work/shared/train`` (never on the eval set).

Usage::

    .venv/bin/python scripts/train_spectral.py [--train-dir /work/shared/train] [--out PATH]

Steps (fixed seed, reproducible):

1. Split by source (``source_repo_or_package``): whole sources go to train or validation, so
   no source, and no crop of a source image, is on both sides. Validation takes about a
   quarter of each label.
2. Features (``originlens.detectors.spectral.patch_features``) of every training crop clean
   plus ``AUGMENT_COPIES`` augmented copies each (resize 0.5-1.5x, random crop, slight
   blur, JPEG q60-100, each with some probability, same for both classes); validation
   crops clean and re-encoded as JPEG q75.
3. The head sees only ``FEATURE_SUBSET`` (the periodic-peak features). Its L2 strength is
   chosen by source-grouped 4-fold cross-validation inside the training split (pooled
   out-of-fold AUC). A 1-hidden-layer MLP was tried on all 48 features during development
   and did no better on validation (model card), so it is not part of this script.
4. Fit on the whole training split (class-balanced), Platt-calibrate on the clean
   validation split (the slope is not allowed to turn negative: that would flip the head
   with the validation labels), pick the operating threshold on validation for FPR <= 5% on human
   crops, set the abstain band, report metrics, write the head JSON.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from originlens.detectors.spectral import (
    FEATURE_NAMES,
    FEATURE_SPEC_VERSION,
    MIN_SIDE,
    N_FEATURES,
    patch_features,
    to_rgb_array,
)

SEED = 20261128
AUGMENT_COPIES = 2
VAL_FRACTION = 0.25
TARGET_FPR = 0.05
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
ABSTAIN_HALF_WIDTH = 0.5
"""Half-width of the abstain band in Platt-logit units around the operating threshold."""
FEATURE_SUBSET: tuple[str, ...] = (
    "peak_n2_axis",
    "peak_n2_diag",
    "peak_n4_axis",
    "peak_n4_diag",
    "peak_n4_mixed",
    "peak_n8_axis",
    "peak_n8_diag",
    "spec_dev_max",
    "spec_dev_p999",
)
"""Features the head uses: the periodic-peak measurements only. With all 48 features (radial
spectrum shape, residual variance, colour correlation) the head learnt each source's content
and its ranking flipped on the validation sources (AUC 0.28); see docs/models/spectral.md."""
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src/originlens/detectors/models/spectral_head.json"
FEATURE_CACHE = Path("/tmp/spectral_features_cache.npz")


# --------------------------------------------------------------------------- data


def read_manifest(train_dir: Path) -> list[dict[str, str]]:
    with (train_dir / "MANIFEST.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def split_by_source(rows: list[dict[str, str]], seed: int) -> tuple[set[str], set[str]]:
    """Whole sources to validation until about ``VAL_FRACTION`` of each label is there."""
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        per_source[row["source_repo_or_package"]][row["label"]] += 1
        totals[row["label"]] += 1
    sources = sorted(per_source)
    random.Random(seed).shuffle(sources)
    val: set[str] = set()
    counts: dict[str, int] = defaultdict(int)
    for source in sources:
        fits = all(counts[lab] + n <= (VAL_FRACTION + 0.06) * totals[lab] for lab, n in per_source[source].items())
        if fits:
            val.add(source)
            for lab, n in per_source[source].items():
                counts[lab] += n
    train = set(per_source) - val
    return train, val


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def augment(image: Image.Image, rng: random.Random) -> Image.Image:
    """Resize 0.5-1.5x, slight blur, random crop (<= 256), JPEG q60-100; same for both classes."""
    img = image
    if rng.random() < 0.7:
        factor = rng.uniform(0.5, 1.5)
        size = (max(MIN_SIDE, round(img.width * factor)), max(MIN_SIDE, round(img.height * factor)))
        img = img.resize(
            size, rng.choice([Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS])
        )
    if rng.random() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    side = min(256, img.width, img.height)
    if rng.random() < 0.5:
        side = max(MIN_SIDE, min(side, rng.randrange(160, 257)))
    side = side // 8 * 8
    x = rng.randrange(0, img.width - side + 1)
    y = rng.randrange(0, img.height - side + 1)
    img = img.crop((x, y, x + side, y + side))
    if rng.random() < 0.8:
        img = jpeg(img, rng.randrange(60, 101))
    return img


def square(image: Image.Image) -> np.ndarray:
    side = min(image.width, image.height) // 8 * 8
    return to_rgb_array(image.crop((0, 0, side, side)))


def features_for(job: tuple[str, int, bool]) -> list[tuple[str, np.ndarray]]:
    path, seed, is_val = job
    rng = random.Random(seed)
    with Image.open(path) as opened:
        image: Image.Image = opened.convert("RGB")
    out = [("clean", patch_features(square(image)))]
    if is_val:
        out.append(("jpeg75", patch_features(square(jpeg(image, 75)))))
    else:
        for _ in range(AUGMENT_COPIES):
            out.append(("aug", patch_features(square(augment(image, rng)))))
    return out


# --------------------------------------------------------------------------- models


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)))


def fit_logreg(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, iters: int = 50) -> tuple[np.ndarray, float]:
    """Weighted L2 logistic regression by Newton's method (x already standardised)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    wn = w / w.sum()
    for _ in range(iters):
        p = sigmoid(xb @ theta)
        grad = xb.T @ (wn * (p - y)) + reg * theta
        hess = (xb * (wn * p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-7:
            break
    return theta[:-1], float(theta[-1])


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks of ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fit_platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling with the usual target smoothing, by Newton's method."""
    n_pos, n_neg = float((y == 1).sum()), float((y == 0).sum())
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 1.0, 0.0
    for _ in range(100):
        p = sigmoid(a * logits + b)
        g = np.array([np.sum((p - t) * logits), np.sum(p - t)])
        s = p * (1 - p)
        h = np.array([[np.sum(s * logits**2), np.sum(s * logits)], [np.sum(s * logits), np.sum(s)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def metrics(prob: np.ndarray, y: np.ndarray, threshold: float, band: tuple[float, float]) -> dict[str, float]:
    human, ai = y == 0, y == 1
    pred = prob > threshold
    inside = (prob >= band[0]) & (prob <= band[1])
    covered = ~inside
    out: dict[str, float] = {
        "n": len(y),
        "auc": round(auc(prob, y), 4),
        "tpr": round(float(pred[ai].mean()), 4),
        "fpr": round(float(pred[human].mean()), 4),
        "accuracy": round(float((pred == (y == 1)).mean()), 4),
        "balanced_accuracy": round(float((pred[ai].mean() + (~pred[human]).mean()) / 2), 4),
        "coverage": round(float(covered.mean()), 4),
        "accuracy_covered": round(
            float((pred[covered] == (y[covered] == 1)).mean()) if covered.any() else float("nan"), 4
        ),
        "fpr_covered": round(float(pred[covered & human].mean()) if (covered & human).any() else float("nan"), 4),
        "tpr_covered": round(float(pred[covered & ai].mean()) if (covered & ai).any() else float("nan"), 4),
    }
    # TPR at 5% FPR from the ROC of this very set (threshold-free)
    human_sorted = np.sort(prob[human])
    thr_5 = human_sorted[min(len(human_sorted) - 1, math.ceil((1 - TARGET_FPR) * len(human_sorted)) - 1)]
    out["tpr_at_5pct_fpr"] = round(float((prob[ai] > thr_5).mean()), 4)
    return out


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-dir", type=Path, default=Path("/work/shared/train"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    if "eval" in args.train_dir.resolve().parts:
        raise SystemExit("refusing to train on an eval directory")

    rows = read_manifest(args.train_dir)
    train_sources, val_sources = split_by_source(rows, SEED)
    is_val = np.array([r["source_repo_or_package"] in val_sources for r in rows])
    y = np.array([1 if r["label"] == "artificial" else 0 for r in rows])
    groups = np.array([r["source_repo_or_package"] for r in rows])
    print(f"train sources {len(train_sources)}, val sources {len(val_sources)}: {sorted(val_sources)}")
    n_h, n_a = int(((y == 0) & is_val).sum()), int(((y == 1) & is_val).sum())
    print(f"val human {n_h}/{int((y == 0).sum())}, val AI {n_a}/{int((y == 1).sum())}")

    started = time.time()
    if FEATURE_CACHE.exists() and not args.no_cache:
        cache = np.load(FEATURE_CACHE)
        feats_clean, feats_extra = cache["clean"], cache["extra"]
        extra_index, extra_kind = cache["extra_index"], cache["extra_kind"]
    else:
        jobs = [(str(args.train_dir / r["file"]), SEED + i, bool(is_val[i])) for i, r in enumerate(rows)]
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(features_for, jobs, chunksize=16))
        feats_clean = np.stack([res[0][1] for res in results])
        extra = [(i, kind, f) for i, res in enumerate(results) for kind, f in res[1:]]
        feats_extra = np.stack([f for _, _, f in extra])
        extra_index = np.array([i for i, _, _ in extra])
        extra_kind = np.array([k for _, k, _ in extra])
        np.savez(FEATURE_CACHE, clean=feats_clean, extra=feats_extra, extra_index=extra_index, extra_kind=extra_kind)
    print(f"features in {time.time() - started:.0f}s: {feats_clean.shape[0]} clean + {feats_extra.shape[0]} extra")

    subset = np.array([FEATURE_NAMES.index(n) for n in FEATURE_SUBSET])
    feats_clean, feats_extra = feats_clean[:, subset], feats_extra[:, subset]

    # training set: clean + augmented copies of the training sources
    aug = extra_kind == "aug"
    x_tr = np.vstack([feats_clean[~is_val], feats_extra[aug]])
    y_tr = np.concatenate([y[~is_val], y[extra_index[aug]]])
    g_tr = np.concatenate([groups[~is_val], groups[extra_index[aug]]])
    x_val, y_val = feats_clean[is_val], y[is_val]
    j75 = extra_kind == "jpeg75"
    x_val75, y_val75 = feats_extra[j75], y[extra_index[j75]]

    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0) + 1e-6

    def standardise(x: np.ndarray) -> np.ndarray:
        return np.clip((x - mean) / std, -8, 8)

    def balanced(yy: np.ndarray) -> np.ndarray:
        return np.where(yy == 1, 0.5 / max(1, (yy == 1).sum()), 0.5 / max(1, (yy == 0).sum()))

    # model selection: source-grouped 4-fold CV inside the training split (sources dealt to
    # folds separately per majority label so every fold has both classes; pooled OOF AUC)
    majority: dict[str, list[int]] = defaultdict(list)
    for gg, yy in zip(g_tr, y_tr, strict=True):
        majority[gg].append(int(yy))
    human_src = sorted(s for s, v in majority.items() if np.mean(v) < 0.5)
    ai_src = sorted(s for s, v in majority.items() if np.mean(v) >= 0.5)
    random.Random(SEED).shuffle(human_src)
    random.Random(SEED + 1).shuffle(ai_src)
    fold_of = {g: i % 4 for i, g in enumerate(human_src)} | {g: i % 4 for i, g in enumerate(ai_src)}
    folds = np.array([fold_of[g] for g in g_tr])
    cv: dict[str, float] = {}
    for l2_try in L2_GRID:
        scores = np.zeros(len(y_tr))
        for f in range(4):
            tr, te = folds != f, folds == f
            wts, b = fit_logreg(standardise(x_tr[tr]), y_tr[tr], balanced(y_tr[tr]), l2_try)
            scores[te] = standardise(x_tr[te]) @ wts + b
        cv[f"logreg_l2={l2_try}"] = round(auc(scores, y_tr), 4)
        print(f"  CV logreg l2={l2_try}: pooled out-of-fold AUC {cv[f'logreg_l2={l2_try}']}")
    l2 = L2_GRID[int(np.argmax([cv[f"logreg_l2={v}"] for v in L2_GRID]))]
    print(f"chosen: logreg l2={l2}")

    weights, bias = fit_logreg(standardise(x_tr), y_tr, balanced(y_tr), l2)

    def raw(x: np.ndarray) -> np.ndarray:
        return standardise(x) @ weights + bias

    raw_val_auc = auc(raw(x_val), y_val)
    a, b = fit_platt(raw(x_val), y_val)
    if a <= 0:
        # a negative slope would flip the head's ranking using the validation labels: refuse,
        # keep a flat, honest calibration (the head then carries almost no information)
        print(f"Platt slope {a:.3f} <= 0 (raw validation AUC {raw_val_auc:.3f}): slope clamped to 0.05")
        a = 0.05
        b = float(math.log(max(1e-6, y_val.mean()) / max(1e-6, 1 - y_val.mean()))) - a * float(raw(x_val).mean())
    p_val = sigmoid(a * raw(x_val) + b)
    p_val75 = sigmoid(a * raw(x_val75) + b)
    human_sorted = np.sort(p_val[y_val == 0])
    k = math.ceil((1 - TARGET_FPR) * len(human_sorted)) - 1
    threshold = float(human_sorted[min(len(human_sorted) - 1, k)])
    threshold = float(min(max(threshold, 1e-3), 1 - 1e-3))
    z_thr = math.log(threshold / (1 - threshold))
    band = (float(sigmoid(np.array(z_thr - ABSTAIN_HALF_WIDTH))), float(sigmoid(np.array(z_thr + ABSTAIN_HALF_WIDTH))))
    m_val = metrics(p_val, y_val, threshold, band)
    m_val75 = metrics(p_val75, y_val75, threshold, band)
    m_train = metrics(sigmoid(a * raw(x_tr) + b), y_tr, threshold, band)
    print("validation clean :", m_val)
    print("validation JPEG75:", m_val75)
    print("train (clean+aug):", m_train)

    # per validation source
    per_source = {}
    for src in sorted(val_sources):
        sel = groups[is_val] == src
        per_source[src] = {
            "n": int(sel.sum()),
            "label": "artificial" if y_val[sel].mean() > 0.5 else "human",
            "flagged_artificial": round(float((p_val[sel] > threshold).mean()), 3),
        }
    print(json.dumps(per_source, indent=1))

    val_auc = m_val["auc"]
    relevance = round(float(min(0.9, max(0.05, 2 * (val_auc - 0.5)))), 3) if not math.isnan(val_auc) else 0.05
    head = {
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "feature_subset": list(FEATURE_SUBSET),
        "model": "logistic_regression",
        "hyper_parameters": {"l2": l2, "class_balanced": True, "augment_copies": AUGMENT_COPIES, "seed": SEED},
        "mean": [round(float(v), 6) for v in mean],
        "std": [round(float(v), 6) for v in std],
        "weights": [round(float(v), 6) for v in weights],
        "bias": round(bias, 6),
        "platt": {"a": round(a, 6), "b": round(b, 6)},
        "threshold": round(threshold, 6),
        "abstain_band": [round(band[0], 6), round(band[1], 6)],
        "abstain_half_width_logit": ABSTAIN_HALF_WIDTH,
        "score_mapping": "artificial = 0.5*p/t if p <= t else 0.5 + 0.5*(p-t)/(1-t); p Platt-calibrated, t threshold",
        "suggested_relevance": relevance,
        "metrics": {
            "validation_clean": m_val,
            "validation_jpeg75": m_val75,
            "train_clean_plus_aug": m_train,
            "cv_pooled_oof_auc_train_split": cv,
            "validation_clean_raw_logit_auc": round(raw_val_auc, 4),
            "validation_per_source": per_source,
        },
        "split": {"train_sources": sorted(train_sources), "validation_sources": sorted(val_sources)},
    }
    assert len(weights) == len(FEATURE_SUBSET) <= N_FEATURES
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); suggested relevance {relevance}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
