"""Forged faces made in the tests, from real faces (never explicit or third-party forgeries)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from originlens.detectors.morphing import convex_hull


def self_blend(detector: Any, face: Image.Image) -> Image.Image:
    """The face blended with a blurred, colour-shifted copy of itself inside its landmark hull."""
    points = detector._landmarker.landmarks(face)
    hull = convex_hull(points)
    centre = hull.mean(axis=0)
    mask = Image.new("L", face.size, 0)
    ImageDraw.Draw(mask).polygon([(float(x), float(y)) for x, y in centre + (hull - centre) * 0.92], fill=255)
    alpha = np.asarray(mask.filter(ImageFilter.GaussianBlur(4)), dtype=np.float64)[..., None] / 255.0
    source = np.asarray(face.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float64) + np.array([18.0, -6.0, -12.0])
    blended = alpha * source + (1 - alpha) * np.asarray(face, dtype=np.float64)
    return Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))
