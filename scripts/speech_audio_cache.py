"""Decode shared/speech/train once and store every clip with its seeded augmented copies
(``train_speech.augment``, the same seeds as the feature table), so feature variants can be
computed without re-running the codecs. int16, one flat array + offsets.

    PYTHONPATH=src python scripts/speech_audio_cache.py --data ../shared/speech --copies 4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from train_speech import SEED, augment, log, read_manifest

from originlens.audio import features as F


def cache_path(copies: int, seed: int = SEED) -> Path:
    return Path(f"/tmp/speech_train_audio_c{copies}_s{seed}.npz")


def build(data: Path, copies: int, seed: int = SEED) -> Path:
    out = cache_path(copies, seed)
    if out.exists():
        return out
    train_dir = data / "train"
    rows = read_manifest(train_dir)
    chunks, clip, copy, steps = [], [], [], []
    for i, row in enumerate(rows):
        x = F.decode_audio((train_dir / row["file"]).read_bytes())
        rng = np.random.default_rng([seed, i])
        for c in range(copies + 1):
            xc, st = (x, "stored") if c == 0 else augment(x, rng)
            chunks.append(np.round(np.clip(xc, -1, 1) * 32767).astype(np.int16))
            clip.append(i)
            copy.append(c)
            steps.append(st)
        if i % 100 == 0:
            log(f"  audio {i}/{len(rows)}")
    lengths = np.array([c.size for c in chunks])
    np.savez(out, pcm=np.concatenate(chunks), offsets=np.concatenate([[0], np.cumsum(lengths)]),
             clip=np.array(clip), copy=np.array(copy), steps=np.array(steps))  # fmt: skip
    return out


def load(copies: int, seed: int = SEED) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    d = np.load(cache_path(copies, seed))
    off = d["offsets"]
    pcm = d["pcm"]
    xs = [pcm[off[k] : off[k + 1]].astype(np.float32) / 32767.0 for k in range(off.size - 1)]
    return xs, d["clip"], d["copy"]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--copies", type=int, default=4)
    a = ap.parse_args()
    log(f"written {build(a.data, a.copies)}")
