"""Experiment (issue 15): a small CNN on 1 s log-mel windows, leave-source-out on
shared/speech/train only (sources grouped into --folds folds, each source wholly in one), the same
augmentation as ``train_speech.py``. Prints out-of-fold AUCs to compare with the pooled-statistics
logistic heads; writes no model and reads nothing from eval/.

    PYTHONPATH=src python scripts/train_speech_cnn.py --copies 1 --epochs 6 --folds 4 --results /tmp/cnn.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from train_speech import SEED, augment, read_manifest, tpr_at_fpr

from originlens.audio import features as F

WIN_FRAMES = 98  # 1 s at 10 ms hop with 25 ms frames


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def windows(x: np.ndarray) -> list[np.ndarray]:
    mel = F.frame_features(x).log_mel
    if mel.shape[0] < WIN_FRAMES:
        mel = np.pad(mel, ((0, WIN_FRAMES - mel.shape[0]), (0, 0)), mode="edge")
    out = []
    for start in F.window_starts(x.size):
        f0 = min(start // F.HOP_LENGTH, mel.shape[0] - WIN_FRAMES)
        w = mel[f0 : f0 + WIN_FRAMES].T  # (mels, frames)
        w = w - w.mean(axis=1, keepdims=True)  # per-band mean removed: channel / gain are no cue
        out.append(w.astype(np.float32))
    return out


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()

        def block(i: int, o: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

        self.net = nn.Sequential(block(1, 8), block(8, 16), block(16, 24), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(24, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x.unsqueeze(1))).squeeze(1)


def train_fold(X: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> SmallCNN:
    torch.manual_seed(seed)
    model = SmallCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.float32))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(X))
        for b in range(0, len(order), 64):
            idx = torch.from_numpy(order[b : b + 64])
            xb = Xt[idx]
            # random time shift (roll) as extra augmentation
            xb = torch.roll(xb, int(rng.integers(0, 20)), dims=2)
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--folds", type=int, default=4, help="source repos grouped round-robin into this many folds")
    ap.add_argument("--results", type=Path, default=Path("/tmp/speech-cnn.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    train_dir = args.data / "train"
    rows = read_manifest(train_dir)
    Xs, clip, copy = [], [], []
    for i, row in enumerate(rows):
        x = F.decode_audio((train_dir / row["file"]).read_bytes())
        rng = np.random.default_rng([SEED, i])
        for c in range(args.copies + 1):
            xc = x if c == 0 else augment(x, rng)[0]
            ws = windows(xc)
            Xs += ws
            clip += [i] * len(ws)
            copy += [c] * len(ws)
    X = np.stack(Xs)
    clip_a, copy_a = np.asarray(clip), np.asarray(copy)
    y_clip = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    src = np.array([r["source_repo"] for r in rows])
    y = y_clip[clip_a]
    log(f"windows {X.shape}")
    oof = np.zeros(len(X))
    sources = sorted(set(src))
    fold_of = {s: k % args.folds for k, s in enumerate(sources)}
    fold_win = np.array([fold_of[s] for s in src[clip_a]])
    for k in range(args.folds):
        test = fold_win == k
        s = ",".join(x for x in sources if fold_of[x] == k)
        model = train_fold(X[~test], y[~test], args.epochs, SEED + k)
        model.eval()
        with torch.no_grad():
            oof[test] = model(torch.from_numpy(X[test])).numpy()
        log(f"fold {s}: window AUC {roc_auc_score(y[test], oof[test]):.3f}")
    n_copies = args.copies + 1
    clip_s = np.full((len(rows), n_copies), np.nan)
    for i in range(len(rows)):
        for c in range(n_copies):
            m = (clip_a == i) & (copy_a == c)
            clip_s[i, c] = oof[m].mean()
    y_rep = np.repeat(y_clip[:, None], n_copies, axis=1)
    res = {
        "window_auc": float(roc_auc_score(y, oof)),
        "window_tpr_at_5pct_fpr": tpr_at_fpr(y, oof),
        "clip_auc_as_stored": float(roc_auc_score(y_clip, clip_s[:, 0])),
        "clip_auc_augmented": float(roc_auc_score(y_rep[:, 1:].ravel(), clip_s[:, 1:].ravel())),
        "clip_tpr_at_5pct_fpr_augmented": tpr_at_fpr(y_rep[:, 1:].ravel(), clip_s[:, 1:].ravel()),
        "per_source_clip_auc_as_stored": {
            s: float(roc_auc_score(y_clip[src == s], clip_s[src == s, 0])) for s in sorted(set(src))
        },
        "copies": args.copies,
        "folds": {k: [s for s in sources if fold_of[s] == k] for k in range(args.folds)},
        "epochs": args.epochs,
    }
    log(json.dumps(res))
    args.results.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
