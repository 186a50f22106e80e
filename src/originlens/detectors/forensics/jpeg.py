"""JPEG cues: quantisation tables, double quantisation of DCT coefficients, grid alignment.

* **Quality**: the luma table read from the file (``PIL`` ``image.quantization``, natural
  order) is matched against the IJG tables scaled for qualities 1-100.
* **Double quantisation** (after Lin et al. 2009): a JPEG re-saved on the same 8x8 grid has
  DCT histograms with a periodic comb (bins favoured or emptied by the first quantiser). Each
  block gets the log ratio of its coefficients' bin counts to the smooth envelope of the
  histogram: blocks that follow the comb score high, blocks that do not (a region pasted from
  another source, or shifted off the grid before the last save) score low. Only frequencies
  whose histograms show the comb take part; without one the cue is not applicable.
* **Grid**: blocking artefacts make pixel differences larger across block borders. Per cell
  the border energy is measured at each of the 8 horizontal and vertical phases; a cell with a
  strong peak at a phase other than the image's own grid holds a region whose 8x8 grid is
  shifted (pasted from another JPEG without alignment).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from originlens.detectors.forensics.common import CueResult, robust_z

_STD_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
)
DQ_FREQUENCIES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 0), (2, 0), (1, 1), (0, 2), (0, 3), (1, 2), (2, 1), (3, 0), (2, 2)
)  # fmt: skip
"""Low AC frequencies (zig-zag 1-9 and (2,2)): populated enough for histograms."""
DQ_MAX_BIN = 40
DQ_ENVELOPE = 9
"""Bins of the geometric moving average that stands for the histogram without its comb."""
DQ_MIN_COMB = 0.6
"""Mean log ratio (nats per coefficient) under which a frequency shows no comb."""
GRID_CLIP = 12.0
GRID_MIN_LEVEL = 1.0
"""Floor of a cell's mean difference when normalising its phase profile (near-flat cells
would otherwise turn a faint edge into a huge peak)."""
"""Pixel differences are clipped here so that strong edges do not pass for grid borders."""


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    d = np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d


_DCT = _dct_matrix()


def luma_table(quantization: Any) -> np.ndarray | None:
    """The luma quantisation table as 8x8 (natural order), or None when there is none."""
    if not quantization:
        return None
    try:
        table = quantization[0] if 0 in quantization else next(iter(quantization.values()))
        arr = np.asarray(list(table), dtype=np.float64)
    except (TypeError, ValueError, StopIteration):
        return None
    return arr.reshape(8, 8) if arr.size == 64 else None


def estimate_quality(table: np.ndarray) -> tuple[int, float]:
    """Closest IJG quality for a luma table and the mean absolute table error at that quality."""
    best = (0, math.inf)
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        std = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        err = float(np.abs(std - table).mean())
        if err < best[1]:
            best = (q, err)
    return best


def block_dct(y: np.ndarray, frequencies: tuple[tuple[int, int], ...] = DQ_FREQUENCIES) -> np.ndarray:
    """Chosen coefficients of the orthonormal 8x8 DCT of every block of ``y - 128`` (JPEG's
    FDCT): ``len(frequencies) x by x bx``, one matrix product for all blocks."""
    h, w = y.shape[0] // 8 * 8, y.shape[1] // 8 * 8
    blocks = (y[:h, :w].astype(np.float32) - 128.0).reshape(h // 8, 8, w // 8, 8).transpose(1, 3, 0, 2)
    basis = np.stack([np.outer(_DCT[u], _DCT[v]).ravel() for u, v in frequencies]).astype(np.float32)
    coef = basis @ blocks.reshape(64, -1)
    return coef.reshape(len(frequencies), h // 8, w // 8)


def double_quant_cue(y: np.ndarray, table: np.ndarray, cell: int, valid: np.ndarray) -> CueResult:
    """Per-cell agreement with the double-quantisation comb; low agreement = suspicious."""
    coef = block_dct(y)
    by, bx = coef.shape[1:]
    evidence = np.zeros((by, bx))
    weight = np.zeros((by, bx))
    combs: dict[str, float] = {}
    for f, (u, v) in enumerate(DQ_FREQUENCIES):
        q = float(table[u, v])
        k = np.abs(np.rint(coef[f] / q)).astype(np.int64)
        inside = (k >= 1) & (k <= DQ_MAX_BIN)
        hist = np.bincount(k[inside], minlength=DQ_MAX_BIN + 1).astype(np.float64)[1:]
        if hist.sum() < 200:
            continue
        log_h = np.log(hist + 1.0)
        pad = DQ_ENVELOPE // 2
        padded = np.concatenate([log_h[pad - 1 :: -1], log_h, log_h[: -pad - 1 : -1]])
        envelope = np.convolve(padded, np.ones(DQ_ENVELOPE) / DQ_ENVELOPE, mode="valid")
        ratio = log_h - envelope
        comb = float((hist * ratio).sum() / hist.sum())
        combs[f"{u}{v}"] = round(comb, 4)
        if comb < DQ_MIN_COMB:
            continue
        per_block = np.where(inside, ratio[np.clip(k - 1, 0, DQ_MAX_BIN - 1)], 0.0)
        evidence += per_block * comb
        weight += inside * comb
    info: dict[str, Any] = {"comb_strength": combs}
    if not weight.any():
        info["applicable"] = False
        return CueResult(evidence="double_jpeg", stat=None, zmap=None, cell=float(cell), info=info)
    per = cell // 8
    rows, cols = by // per, bx // per
    ev = evidence[: rows * per, : cols * per].reshape(rows, per, cols, per).sum(axis=(1, 3))
    wt = weight[: rows * per, : cols * per].reshape(rows, per, cols, per).sum(axis=(1, 3))
    enough = wt >= 0.5 * float(np.median(wt[wt > 0])) if (wt > 0).any() else np.zeros_like(wt, dtype=bool)
    mask = valid[:rows, :cols] & enough
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(mask, ev / np.maximum(wt, 1e-9), np.nan)
    info["applicable"] = True
    info["comb_frequencies"] = sum(1 for c in combs.values() if c >= DQ_MIN_COMB)
    return CueResult(evidence="double_jpeg", stat=None, zmap=-robust_z(score), cell=float(cell), info=info)


def _phase_energy(d: np.ndarray, cell: int, axis: int) -> np.ndarray:
    """Clipped difference per cell and per border phase (0-7) along ``axis``: the mean over
    each 8x8 block, then the median over the cell's blocks (one straight edge crossing a few
    blocks is not a grid)."""
    d = np.minimum(d, GRID_CLIP)
    rows, cols, nb = d.shape[0] // cell, d.shape[1] // cell, cell // 8
    d = d[: rows * cell, : cols * cell].reshape(rows, nb, 8, cols, nb, 8)
    if axis == 1:
        per_block = d.mean(axis=2)  # rows, nb, cols, nb, phase
        return np.median(per_block, axis=(1, 3))
    per_block = d.mean(axis=5)  # rows, nb, phase, cols, nb
    return np.median(per_block, axis=(1, 4)).transpose(0, 2, 1)


def grid_cue(dx: np.ndarray, dy: np.ndarray, cell: int, valid: np.ndarray, is_jpeg: bool = False) -> CueResult:
    """Per-cell strength of a blocking grid at a phase the rest of the image does not show.

    Each cell's phase profile is compared with the image's median profile: a whole image
    re-saved on a shifted grid (cropped, then saved again) has the same double grid
    everywhere and scores nothing; only a region unlike the rest does. A JPEG file's own grid
    (phase 7: borders between pixels 7 and 8 of each block) is never foreign, nor is the
    phase the image's median profile peaks at."""
    eh = _phase_energy(dx, cell, axis=1)
    ev = _phase_energy(dy, cell, axis=0)
    out: list[np.ndarray] = []
    phases: list[int] = []
    for e in (eh, ev):
        prof = e / np.maximum(e.mean(axis=2, keepdims=True), GRID_MIN_LEVEL)
        usable = valid[..., None] & np.ones(prof.shape, dtype=bool)
        typical = np.median(prof[usable].reshape(-1, 8), axis=0) if valid.any() else np.ones(8)
        global_phase = int(np.argmax(typical))
        phases.append(global_phase)
        own = sorted({global_phase, 7} if is_jpeg else {global_phase})
        others = np.delete(prof - typical, own, axis=2)
        out.append(others.max(axis=2) - np.median(others, axis=2))
    foreign = np.where(valid, out[0] + out[1], np.nan)
    return CueResult(
        evidence="grid",
        stat=None,
        zmap=robust_z(foreign),
        cell=float(cell),
        info={"grid_phase": {"x": phases[0], "y": phases[1]}},
    )
