"""Score shared/speech/eval with the shipped numpy head (``originlens.audio.head.SpeechHead``),
plain and re-encoded as MP3 64 kbps: the product's inference path, no sklearn. Checks that it
agrees with what ``train_speech.py`` reported and adds 1 s window numbers over the windows with
speech only. Tunes nothing.

    PYTHONPATH=src python scripts/eval_speech.py --data ../shared/speech
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from train_speech import read_manifest, tpr_at_fpr

from originlens.audio import features as F
from originlens.audio.head import SpeechHead


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "speech")
    ap.add_argument("--results", type=Path, default=Path("docs/models/speech-results-numpy-head.json"))
    args = ap.parse_args()
    head = SpeechHead.load()
    eval_dir = args.data / "eval"
    rows = read_manifest(eval_dir)
    y = np.array([r["label"] == "synthetic" for r in rows], dtype=int)
    out: dict[str, dict[str, float]] = {}
    for cond in ("plain", "mp3_64k"):
        verdicts, ps, wp, wy = [], [], [], []
        for i, row in enumerate(rows):
            x = F.decode_audio((eval_dir / row["file"]).read_bytes())
            if cond == "mp3_64k":
                x = F.through_codec(x, "mp3", 64_000)
            s = head.score(x)
            verdicts.append(s.verdict)
            ps.append(np.nan if s.p_synthetic is None else s.p_synthetic)
            # non-overlapping 1 s windows scored on their own, as a 1 s upload would be
            for start in range(0, max(x.size - F.SAMPLE_RATE, 0) + 1, F.SAMPLE_RATE):
                ws = head.score(x[start : start + F.SAMPLE_RATE])
                if ws.p_synthetic is not None:
                    wp.append(ws.p_synthetic)
                    wy.append(y[i])
        v = np.array(verdicts)
        p = np.array(ps)
        has = ~np.isnan(p)
        decided = np.isin(v, ["synthetic", "human"])
        wpa, wya = np.array(wp), np.array(wy)
        res = {
            "clip_auc": float(roc_auc_score(y[has], p[has])),
            "clip_tpr_at_5pct_fpr": tpr_at_fpr(y[has], p[has]),
            "clip_coverage": float(decided.mean()),
            "clip_fpr_human": float(np.mean(v[decided & (y == 0)] == "synthetic")),
            "clip_tpr_synthetic": float(np.mean(v[decided & (y == 1)] == "synthetic")),
            "clip_no_or_too_little_speech": int(np.isin(v, ["no_speech", "too_little_speech"]).sum()),
            "clip_unknown": int((v == "unknown").sum()),
            "window_1s_alone_n_with_speech": int(wpa.size),
            "window_1s_alone_auc": float(roc_auc_score(wya, wpa)),
            "window_1s_alone_tpr_at_5pct_fpr": tpr_at_fpr(wya, wpa),
            "window_1s_alone_fpr_human_at_threshold": float(np.mean(wpa[wya == 0] >= head.threshold)),
            "window_1s_alone_tpr_at_threshold": float(np.mean(wpa[wya == 1] >= head.threshold)),
        }
        out[cond] = res
        print(cond, json.dumps({k: round(val, 3) for k, val in res.items()}), flush=True)
    args.results.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
