"""Score shared/speech/eval with the shipped numpy head (``originlens.audio.head.SpeechHead``),
plain and with both classes re-encoded as MP3 64 kbps: the product's inference path, no sklearn.
Tunes nothing. Writes overall clip numbers, 1 s numbers (each non-overlapping 1 s slice scored
on its own, as a 1 s upload would be) and per-source, per-system and per-dataset tables.

    PYTHONPATH=src python scripts/eval_speech.py --data ../shared/speech

Every run reads eval/: count it as an eval look in docs/models/speech.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from train_speech import read_manifest, tpr_at_fpr

from originlens.audio import features as F
from originlens.audio.head import SpeechHead

DECIDED = ("synthetic", "human")


def _rate(mask: np.ndarray, of: np.ndarray) -> float | None:
    return float(mask[of].mean()) if of.any() else None


def summary(y: np.ndarray, p: np.ndarray, verdicts: np.ndarray) -> dict[str, Any]:
    has = ~np.isnan(p)
    decided = np.isin(verdicts, DECIDED)
    flagged = verdicts == "synthetic"
    both = has.any() and 0 < y[has].sum() < has.sum()
    return {
        "n": int(y.size),
        "auc": float(roc_auc_score(y[has], p[has])) if both else None,
        "tpr_at_5pct_fpr_oracle": tpr_at_fpr(y[has], p[has]) if both else None,
        "coverage": float(decided.mean()),
        "fpr_human_at_threshold": _rate(flagged, decided & (y == 0)),
        "tpr_synthetic_at_threshold": _rate(flagged, decided & (y == 1)),
        "no_or_too_little_speech": int(np.isin(verdicts, ["no_speech", "too_little_speech"]).sum()),
        "unknown": int((verdicts == "unknown").sum()),
    }


def counts(keys: list[str], verdicts: np.ndarray) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "decided": 0, "flagged": 0})
    for key, v in zip(keys, verdicts, strict=True):
        out[key]["n"] += 1
        out[key]["decided"] += int(v in DECIDED)
        out[key]["flagged"] += int(v == "synthetic")
    return dict(sorted(out.items()))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--results", type=Path, default=Path("docs/models/speech-results-eval.json"))
    args = ap.parse_args()
    head = SpeechHead.load()
    eval_dir = args.data / "eval"
    rows = read_manifest(eval_dir)
    y = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    srcs = np.array([r["source_repo"] for r in rows])
    out: dict[str, Any] = {"head": {"feature_set": head.feature_set, "threshold": head.threshold,
                                    "abstain": [head.abstain_low, head.abstain_high]}}  # fmt: skip
    for cond in ("plain", "mp3_64k"):
        verdicts, ps, wp, wy, wv = [], [], [], [], []
        for i, row in enumerate(rows):
            x = F.decode_audio((eval_dir / row["file"]).read_bytes())
            if cond == "mp3_64k":
                x = F.through_codec(x, "mp3", 64_000)
            s = head.score(x)
            verdicts.append(s.verdict)
            ps.append(np.nan if s.p_synthetic is None else s.p_synthetic)
            for start in range(0, max(x.size - F.SAMPLE_RATE, 0) + 1, F.SAMPLE_RATE):
                ws = head.score(x[start : start + F.SAMPLE_RATE])
                wv.append(ws.verdict)
                wp.append(np.nan if ws.p_synthetic is None else ws.p_synthetic)
                wy.append(y[i])
        v, p = np.array(verdicts), np.array(ps)
        res: dict[str, Any] = {
            "clip": summary(y, p, v),
            "window_1s_alone": summary(np.array(wy), np.array(wp), np.array(wv)),
            "per_source": {s: summary(y[srcs == s], p[srcs == s], v[srcs == s]) for s in sorted(set(srcs))},
            "per_system": counts([r["system"] for r in rows if r["label"] == "synthetic"], v[y == 1]),
            "per_human_dataset": counts([r["speaker_or_dataset"] for r in rows if r["label"] == "human"], v[y == 0]),
            "clip_p": [None if np.isnan(q) else round(float(q), 4) for q in p],
        }
        out[cond] = res
        print(cond, "clip", json.dumps(res["clip"]), flush=True)
        print(cond, "1 s alone", json.dumps(res["window_1s_alone"]), flush=True)
        for s, r in res["per_source"].items():
            print(f"  {s}: {json.dumps(r)}")
        for name, c in res["per_system"].items():
            print(f"  system {name}: flagged {c['flagged']}/{c['decided']} decided/{c['n']}")
        for name, c in res["per_human_dataset"].items():
            print(f"  human {name}: flagged {c['flagged']}/{c['decided']} decided/{c['n']}")
    args.results.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
