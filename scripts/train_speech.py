"""Train and measure the speech deepfake head (issue 15): pooled log-mel / LFCC statistics and
vocoder features (phase, harmonic valleys, periodicity, modulation, long-term-spectrum lines) of
1 s windows + logistic regression, chosen by leave-source-out validation on shared/speech/train
only, then scored once on shared/speech/eval (plain and re-encoded as MP3 64 kbps).

Usage (CPU, about 15 minutes on 1 core):

    PYTHONPATH=src python scripts/train_speech.py --data ../shared/speech \
        --out src/originlens/audio/models/speech_head.json --results docs/models/speech-results.json

``--no-eval`` stops after training (nothing from eval/ is read).

Every training clip of both classes is kept once as it is and ``--copies`` times through a random,
seeded chain: optional resampling (8-44.1 kHz and back), a lossy codec (MP3 / Opus / AAC at several
bitrates, PyAV encode + decode), gain (-18..+3 dB) and, half the time, white noise at 25-45 dB SNR.
A clip's score is the mean logistic logit of its 1 s windows (hop 0.5 s) that have speech;
Platt scaling, the threshold (<= 5 % FPR on out-of-fold human clips) and the abstain band come
from the out-of-fold scores. Folds are source repositories (leave one source out).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from originlens.audio import features as F

SEED = 15
CODEC_CHOICES = [
    ("mp3", 32_000), ("mp3", 48_000), ("mp3", 64_000), ("mp3", 96_000), ("mp3", 128_000),
    ("opus", 16_000), ("opus", 24_000), ("opus", 32_000), ("opus", 48_000),
    ("aac", 32_000), ("aac", 48_000), ("aac", 64_000), ("aac", 96_000),
]  # fmt: skip
RESAMPLE_RATES = [8_000, 11_025, 12_000, 22_050, 24_000, 44_100]
TARGET_FPR = 0.05
MIN_WINDOW_SPEECH_S = 0.3
MIN_CLIP_SPEECH_S = 0.5
COMPARED_SETS = ("spectral", "vocoder", "all")
"""speech-features-1's blocks ("spectral", the first baseline), the vocoder blocks added in
speech-features-2, and both; the smaller speech-features-1 subsets are in the model card."""
C_GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_manifest(split_dir: Path) -> list[dict[str, str]]:
    with (split_dir / "MANIFEST.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def augment(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    steps = []
    if rng.random() < 0.4:
        rate = int(rng.choice(RESAMPLE_RATES))
        x = F.resample(F.resample(x, F.SAMPLE_RATE, rate), rate, F.SAMPLE_RATE)
        steps.append(f"rs{rate}")
    codec, bitrate = CODEC_CHOICES[int(rng.integers(len(CODEC_CHOICES)))]
    x = F.through_codec(x, codec, bitrate)
    steps.append(f"{codec}{bitrate // 1000}k")
    gain_db = float(rng.uniform(-18.0, 3.0))
    x = x * 10 ** (gain_db / 20)
    if rng.random() < 0.5:
        snr = float(rng.uniform(25.0, 45.0))
        rms = float(np.sqrt(np.mean(x**2)) + 1e-9)
        x = x + rng.normal(0.0, rms / 10 ** (snr / 20), x.size)
        steps.append(f"snr{snr:.0f}")
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32), "+".join(steps)


def clip_windows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    feats, speech = F.window_features(x, "all")
    vad = F.voice_activity(x)
    return feats, speech, vad.speech_seconds


def build_table(split_dir: Path, rows: list[dict[str, str]], copies: int, seed: int) -> dict[str, Any]:
    """Window features for every clip and copy (copy 0 = as stored)."""
    win_x, win_clip, win_copy, win_speech = [], [], [], []
    clip_speech = np.zeros((len(rows), copies + 1))
    for i, row in enumerate(rows):
        x = F.decode_audio((split_dir / row["file"]).read_bytes())
        rng = np.random.default_rng([seed, i])
        for c in range(copies + 1):
            xc = x if c == 0 else augment(x, rng)[0]
            feats, speech, clip_s = clip_windows(xc)
            win_x.append(feats)
            win_clip += [i] * len(feats)
            win_copy += [c] * len(feats)
            win_speech.append(speech)
            clip_speech[i, c] = clip_s
        if i % 100 == 0:
            log(f"  features {i}/{len(rows)}")
    return {
        "X": np.concatenate(win_x),
        "clip": np.asarray(win_clip),
        "copy": np.asarray(win_copy),
        "speech": np.concatenate(win_speech),
        "clip_speech": clip_speech,
    }


def columns(feature_set: str) -> np.ndarray:
    return F.block_columns(feature_set)


def fit(X: np.ndarray, y: np.ndarray, C: float) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(X)
    std = scaler.scale_
    std[std < 1e-8] = 1.0
    model = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
    model.fit(scaler.transform(X), y)
    return scaler, model


def clip_scores(win_logit: np.ndarray, win_clip: np.ndarray, win_copy: np.ndarray, win_speech: np.ndarray,
                n_clips: int, n_copies: int) -> np.ndarray:  # fmt: skip
    """Mean logit of the windows with speech (all windows when none has) per (clip, copy)."""
    out = np.full((n_clips, n_copies), np.nan)
    sums: dict[tuple[int, int], list[float]] = defaultdict(list)
    alls: dict[tuple[int, int], list[float]] = defaultdict(list)
    for lg, cl, cp, sp in zip(win_logit, win_clip, win_copy, win_speech, strict=True):
        alls[(cl, cp)].append(lg)
        if sp >= MIN_WINDOW_SPEECH_S:
            sums[(cl, cp)].append(lg)
    for key, vals in alls.items():
        use = sums.get(key) or vals
        out[key] = float(np.mean(use))
    return out


def tpr_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float = TARGET_FPR) -> float:
    neg = np.sort(s[y == 0])
    if neg.size == 0 or (y == 1).sum() == 0:
        return float("nan")
    thr = np.quantile(neg, 1 - fpr, method="higher")
    return float(np.mean(s[y == 1] > thr))


def safe_auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else float("nan")


def platt(logit: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(logit.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def leave_source_out(table: dict[str, Any], rows: list[dict[str, str]], feature_set: str, C: float,
                     n_copies: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Out-of-fold window logits and (clip, copy) scores."""
    y_clip = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    src = np.array([r["source_repo"] for r in rows])
    cols = columns(feature_set)
    X = table["X"][:, cols]
    y_win = y_clip[table["clip"]]
    src_win = src[table["clip"]]
    oof = np.zeros(len(X))
    for s in sorted(set(src)):
        test = src_win == s
        scaler, model = fit(X[~test], y_win[~test], C)
        oof[test] = model.decision_function(scaler.transform(X[test]))
    clips = clip_scores(oof, table["clip"], table["copy"], table["speech"], len(rows), n_copies)
    return oof, clips


def summarise(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    return {"auc": safe_auc(y, s), "tpr_at_5pct_fpr": tpr_at_fpr(y, s), "n": int(y.size)}


def operating_point(
    y: np.ndarray, p: np.ndarray, covered: np.ndarray, t: float, lo: float, hi: float
) -> dict[str, float]:
    """FPR / TPR at threshold ``t`` over the decided items (covered and outside [lo, hi])."""
    decided = covered & ((p < lo) | (p > hi))
    pos = p >= t
    h = decided & (y == 0)
    sy = decided & (y == 1)
    return {
        "coverage": float(decided.mean()),
        "fpr_human": float(pos[h].mean()) if h.any() else float("nan"),
        "tpr_synthetic": float(pos[sy].mean()) if sy.any() else float("nan"),
        "fpr_human_no_abstain": float(pos[(y == 0) & covered].mean()) if ((y == 0) & covered).any() else float("nan"),
        "tpr_synthetic_no_abstain": float(pos[(y == 1) & covered].mean())
        if ((y == 1) & covered).any()
        else float("nan"),
        "n": int(y.size),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("src/originlens/audio/models/speech_head.json"))
    ap.add_argument("--results", type=Path, default=Path("docs/models/speech-results.json"))
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="feature cache (default: /tmp/speech_train_<feature spec>_c<copies>_s<seed>.npz)",
    )
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args()
    n_copies = args.copies + 1

    train_dir = args.data / "train"
    rows = read_manifest(train_dir)
    if args.cache is None:
        args.cache = Path(f"/tmp/speech_train_{F.FEATURE_SPEC_VERSION}_c{args.copies}_s{SEED}.npz")
    if args.cache.exists():
        log(f"features from cache {args.cache}")
        table = dict(np.load(args.cache))
    else:
        log(f"train: {len(rows)} clips x {n_copies} copies")
        table = build_table(train_dir, rows, args.copies, SEED)
        np.savez(args.cache, **table)
    y = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    y_rep = np.repeat(y[:, None], n_copies, axis=1)
    y_win = y[table["clip"]]
    log(f"windows: {len(table['X'])}; clip speech s (copy 0): median {np.median(table['clip_speech'][:, 0]):.2f}, "
        f"min {table['clip_speech'][:, 0].min():.2f}")  # fmt: skip

    # --- leave-source-out comparison -----------------------------------------------------------
    cv: dict[str, Any] = {}
    best: tuple[float, str, float] | None = None
    srcs = np.array([r["source_repo"] for r in rows])
    for feature_set in COMPARED_SETS:
        for C in C_GRID:
            oof_win, oof_clip = leave_source_out(table, rows, feature_set, C, n_copies)
            per_source = {s: safe_auc(y[srcs == s], oof_clip[srcs == s, 0]) for s in sorted(set(srcs))}
            res = {
                "window_all_copies": summarise(y_win, oof_win),
                "window_1s_with_speech": summarise(y_win[table["speech"] >= MIN_WINDOW_SPEECH_S],
                                                   oof_win[table["speech"] >= MIN_WINDOW_SPEECH_S]),
                "clip_as_stored": summarise(y, oof_clip[:, 0]),
                "clip_augmented": summarise(y_rep[:, 1:].ravel(), oof_clip[:, 1:].ravel()),
                "clip_auc_per_source_as_stored": per_source,
                "mean_per_source_auc": float(np.nanmean(list(per_source.values()))),
            }  # fmt: skip
            key = f"{feature_set}/C={C}"
            cv[key] = res
            stored, aug = res["clip_as_stored"], res["clip_augmented"]
            log(
                f"{key}: clip AUC stored {stored['auc']:.3f} aug {aug['auc']:.3f} "
                f"TPR@5%FPR aug {aug['tpr_at_5pct_fpr']:.3f} window AUC "
                f"{res['window_all_copies']['auc']:.3f} mean per-source AUC {res['mean_per_source_auc']:.3f}"
            )
            score = res["clip_augmented"]["auc"]
            if best is None or score > best[0]:
                best = (score, feature_set, C)
    assert best is not None
    _, feature_set, C = best
    log(f"chosen by pooled out-of-fold clip AUC over augmented copies: {feature_set}, C={C}")

    # --- calibration, threshold, abstain band from out-of-fold scores --------------------------
    oof_win, oof_clip = leave_source_out(table, rows, feature_set, C, n_copies)
    logit_all = oof_clip.ravel()
    y_all = y_rep.ravel()
    a, b = platt(logit_all, y_all)
    p_all = sigmoid(a * logit_all + b)
    human_p = np.sort(p_all[y_all == 0])
    threshold = float(np.quantile(human_p, 1 - TARGET_FPR, method="higher"))
    threshold = float(min(max(threshold, 0.02), 0.98))
    # narrow abstain band: the 6 % of out-of-fold clip scores nearest the threshold (by rank)
    order = np.sort(p_all)
    k = int(np.searchsorted(order, threshold))
    half = int(0.03 * order.size)
    lo = float(order[max(k - half, 0)])
    hi = float(order[min(k + half, order.size - 1)])
    lo, hi = min(lo, threshold), max(hi, threshold)
    covered_all = table["clip_speech"].ravel() >= MIN_CLIP_SPEECH_S
    oof_op = operating_point(y_all, p_all, covered_all, threshold, lo, hi)
    p_win = sigmoid(a * oof_win + b)
    win_cov = table["speech"] >= MIN_WINDOW_SPEECH_S
    oof_win_op = operating_point(y_win, p_win, win_cov, threshold, lo, hi)
    log(f"Platt a={a:.3f} b={b:.3f}; threshold {threshold:.3f}; abstain [{lo:.3f}, {hi:.3f}]; "
        f"OOF clip {oof_op}; OOF window {oof_win_op}")  # fmt: skip

    # --- final fit on all of train ----------------------------------------------------------------
    cols = columns(feature_set)
    scaler, model = fit(table["X"][:, cols], y_win, C)
    head = {
        "feature_spec_version": F.FEATURE_SPEC_VERSION,
        "feature_set": feature_set,
        "feature_names": F.feature_names(feature_set),
        "window_s": 1.0,
        "hop_s": 0.5,
        "min_window_speech_s": MIN_WINDOW_SPEECH_S,
        "min_clip_speech_s": MIN_CLIP_SPEECH_S,
        "weights": [round(float(v), 7) for v in model.coef_[0]],
        "bias": float(model.intercept_[0]),
        "feature_mean": [round(float(v), 7) for v in scaler.mean_],
        "feature_std": [round(float(v), 7) for v in scaler.scale_],
        "platt_a": a,
        "platt_b": b,
        "threshold": threshold,
        "abstain_low": lo,
        "abstain_high": hi,
        "validation": {
            "scheme": "leave-one-source-repo-out on shared/speech/train (11 folds), 1 clean + "
            f"{args.copies} augmented copies per clip",
            "C": C,
            "seed": SEED,
            "auc": cv[f"{feature_set}/C={C}"]["clip_augmented"]["auc"],
            "oof_clip": oof_op,
            "oof_window": oof_win_op,
            "oof_clip_auc_augmented": cv[f"{feature_set}/C={C}"]["clip_augmented"]["auc"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(head, indent=1) + "\n")
    log(f"head written to {args.out} ({args.out.stat().st_size} bytes)")
    results: dict[str, Any] = {"leave_source_out": cv, "chosen": {"feature_set": feature_set, "C": C},
                               "operating_point": {"platt_a": a, "platt_b": b, "threshold": threshold,
                                                   "abstain_low": lo, "abstain_high": hi,
                                                   "oof_clip": oof_op, "oof_window": oof_win_op}}  # fmt: skip
    if not args.no_eval:
        results["eval"] = evaluate(args.data / "eval", head, scaler, model, cols)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    log(f"results written to {args.results}")
    return 0


def evaluate(eval_dir: Path, head: dict[str, Any], scaler: StandardScaler, model: LogisticRegression,
             cols: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Score eval/ once, as stored and re-encoded as MP3 64 kbps (16 kHz in the file)."""
    rows = read_manifest(eval_dir)
    y = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    a, b, t = head["platt_a"], head["platt_b"], head["threshold"]
    lo, hi = head["abstain_low"], head["abstain_high"]
    out: dict[str, Any] = {}
    for cond in ("plain", "mp3_64k"):
        clip_p, clip_speech = np.zeros(len(rows)), np.zeros(len(rows))
        win_p, win_y, win_cov, win_clip = [], [], [], []
        for i, row in enumerate(rows):
            x = F.decode_audio((eval_dir / row["file"]).read_bytes())
            if cond == "mp3_64k":
                x = F.through_codec(x, "mp3", 64_000)
            feats, speech, sp = clip_windows(x)
            lg = model.decision_function(scaler.transform(feats[:, cols]))
            use = speech >= MIN_WINDOW_SPEECH_S
            clip_p[i] = sigmoid(a * float(np.mean(lg[use] if use.any() else lg)) + b)
            clip_speech[i] = sp
            # non-overlapping 1 s windows for the per-window numbers
            starts = F.window_starts(x.size, 1.0, 0.5)
            keep = [j for j, s in enumerate(starts) if s % F.SAMPLE_RATE == 0]
            for j in keep:
                win_p.append(float(sigmoid(a * lg[j] + b)))
                win_y.append(y[i])
                win_cov.append(speech[j] >= MIN_WINDOW_SPEECH_S)
                win_clip.append(i)
        covered = clip_speech >= MIN_CLIP_SPEECH_S
        res: dict[str, Any] = {
            "clip": {**summarise(y, clip_p), **operating_point(y, clip_p, covered, t, lo, hi)},
        }
        wy, wp, wc = np.array(win_y), np.array(win_p), np.array(win_cov)
        res["window_1s"] = {**summarise(wy, wp), **operating_point(wy, wp, wc, t, lo, hi)}
        decided = covered & ((clip_p < lo) | (clip_p > hi))
        per_system: dict[str, Any] = defaultdict(lambda: {"n": 0, "flagged": 0, "decided": 0})
        per_source: dict[str, Any] = {}
        for i, row in enumerate(rows):
            d = per_system[row["system"]]
            d["n"] += 1
            d["decided"] += int(decided[i])
            d["flagged"] += int(decided[i] and clip_p[i] >= t)
        srcs = np.array([r["source_repo"] for r in rows])
        for s in sorted(set(srcs)):
            m = srcs == s
            per_source[s] = {**summarise(y[m], clip_p[m]), **operating_point(y[m], clip_p[m], covered[m], t, lo, hi)}
        res["per_system"] = dict(per_system)
        res["per_source"] = per_source
        out[cond] = res
        log(f"eval {cond}: clip {res['clip']}; window {res['window_1s']}")
    return out


if __name__ == "__main__":
    sys.exit(main())
