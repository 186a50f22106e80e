"""Error level analysis: how much a region changes when the image is JPEG-saved again.

Re-saving at a fixed quality moves pixels that were already quantised on this grid at this
quality little, and pixels with another history (pasted from an uncompressed or differently
compressed source) more. The raw error follows texture, so the per-cell error is regressed on
texture (log-log, robust) and only the unexplained part is scored: high = suspicious.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from originlens.detectors.forensics.common import CueResult, cell_mean, robust_residual, robust_z

ELA_QUALITY = 90
"""Re-save quality when the file's own quality is unknown (not a JPEG); grey-level only."""
QUALITY_GAP = 10
"""A JPEG is re-saved this far below its own estimated quality (within 50-90): re-saving at
the file's own quality changes almost nothing, and tiny differences then pass for evidence."""


def ela_quality(file_quality: int | None) -> int:
    """The re-save quality for a file of (estimated) quality ``file_quality``."""
    if file_quality is None:
        return ELA_QUALITY
    return int(min(ELA_QUALITY, max(50, file_quality - QUALITY_GAP)))


ENERGY_OFFSET = 0.5
LOG_SPREAD_FLOOR = 0.25
"""Floor of the robust spread of log error: an image saved at ``ELA_QUALITY`` barely changes
when re-saved, and a near-zero spread would turn any small difference into a huge z."""


def ela_cue(
    y: np.ndarray, texture: np.ndarray, cell: int, valid: np.ndarray, file_quality: int | None = None
) -> CueResult:
    """Per-cell ELA energy, normalised by texture; ``y`` must start on the JPEG grid."""
    quality = ela_quality(file_quality)
    y8 = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(y8, mode="L").save(buf, "JPEG", quality=quality)
    again = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32)
    diff = np.abs(y8.astype(np.float32) - again)
    energy = cell_mean(diff, cell)
    resid = robust_residual(np.log(energy + ENERGY_OFFSET), [np.log(texture + 0.5)], valid)
    z = robust_z(resid, floor=LOG_SPREAD_FLOOR)
    return CueResult(
        evidence="ela",
        stat=None,
        zmap=z,
        cell=float(cell),
        info={"quality": quality, "mean_error": round(float(diff.mean()), 4)},
    )
