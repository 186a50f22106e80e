"""How often the speech gate (energy VAD, then Silero VAD) turns a train clip away, per class and
copy kind: the coverage cost of the Silero gate, measured on shared/speech/train only.

    PYTHONPATH=src python scripts/speech_audio_cache.py && PYTHONPATH=src python scripts/speech_gate_check.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import speech_audio_cache as cache
from train_speech import MIN_CLIP_SPEECH_S, read_manifest

from originlens.audio import features as F
from originlens.audio.vad import default_vad


def main() -> int:
    data = Path(__file__).resolve().parents[2] / "shared" / "speech"
    rows = read_manifest(data / "train")
    silero = default_vad()
    if silero is None:
        print("silero-vad is not installed")
        return 1
    xs, clip, copy = cache.load(4)
    counts: dict[str, Counter[str]] = {}
    for x, c, k in zip(xs, clip, copy, strict=True):
        key = f"{rows[c]['label']}/{'stored' if k == 0 else 'augmented'}"
        energy = F.voice_activity(x).verdict(MIN_CLIP_SPEECH_S)
        found = silero.speech_seconds(x, stop_after=MIN_CLIP_SPEECH_S)
        gate = energy
        if energy == "speech" and found < MIN_CLIP_SPEECH_S:
            gate = "no_speech" if found < 0.2 else "too_little_speech"
        counts.setdefault(key, Counter())[f"energy:{energy} gate:{gate}"] += 1
    out = {k: dict(v) for k, v in sorted(counts.items())}
    print(json.dumps(out, indent=1))
    for k, v in out.items():
        n = sum(v.values())
        passed = sum(m for name, m in v.items() if name.endswith("gate:speech"))
        print(f"{k}: {passed}/{n} pass the gate ({passed / n:.3f}); energy alone "
              f"{sum(m for name, m in v.items() if name.startswith('energy:speech'))}/{n}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
