"""Helpers shared by the in-process benchmarks (``bench/options.py``, ``bench/pixel.py``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image


def load_all(registry: Any) -> None:
    """Load every model a worker holds: every detector (the option ones too) and the face finder."""
    for detector in registry:
        detector.load()
    if registry.faces is not None:
        registry.faces.load()


def make_jpeg(source: Path | None, width: int, height: int) -> bytes:
    """``source`` resized (bicubic) to ``width`` x ``height`` as a quality-92 JPEG; ``None`` gives noise."""
    if source is not None:
        image = Image.open(source).convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    else:
        image = Image.effect_noise((width, height), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()
