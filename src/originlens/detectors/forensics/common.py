"""Shared helpers for the forensic cues: cell statistics, robust z-scores, regions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Evidence = Literal["ela", "double_jpeg", "grid", "noise", "copy_move"]

REFERENCE_WINDOWS = 225
"""Window count of a 256x256 calibration crop (16 px cells, 2x2 windows): maxima over more
windows are shifted down by the expected growth of a Gaussian maximum, so that the null
distribution learnt on 256x256 crops roughly holds for other sizes."""


@dataclass
class Box:
    """A suspicious region in pixel coordinates of the decoded image."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float
    evidence: Evidence
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "x1": self.x1,
            "y1": self.y1,
            "x2": self.x2,
            "y2": self.y2,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            **self.extra,
        }


@dataclass
class CueResult:
    """One cue's findings: a raw statistic (None: cue not applicable), a map and notes."""

    evidence: Evidence
    stat: float | None
    zmap: np.ndarray | None = None
    """Per-cell suspicion as a robust z-score (higher = more suspicious), NaN = not judged."""
    cell: float = 0.0
    """Cell side in pixels of the decoded image (the map may come from a down-scaled copy)."""
    origin_y: int = 0
    """Row offset in the decoded image of the map's first row (bands use their own maps)."""
    boxes: list[Box] = field(default_factory=list)
    """Regions found directly (copy-move); map cues get theirs from ``map_regions``."""
    info: dict[str, Any] = field(default_factory=dict)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """JPEG's (ITU-R BT.601) luma, float32: what the encoder quantised."""
    rgb = rgb.astype(np.float32, copy=False)
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.float32)


def cell_blocks(a: np.ndarray, cell: int) -> np.ndarray:
    """View ``a`` (cropped to whole cells) as ``rows x cell x cols x cell``."""
    rows, cols = a.shape[0] // cell, a.shape[1] // cell
    return a[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell)


def cell_mean(a: np.ndarray, cell: int) -> np.ndarray:
    return cell_blocks(a, cell).mean(axis=(1, 3), dtype=np.float64)


def cell_median(a: np.ndarray, cell: int) -> np.ndarray:
    blocks = cell_blocks(a, cell)
    rows, cols = blocks.shape[0], blocks.shape[2]
    flat = blocks.transpose(0, 2, 1, 3).reshape(rows, cols, cell * cell)
    return np.median(flat, axis=2)


def robust_z(x: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """(x - median) / (1.4826 MAD) over the finite entries; NaN stays NaN."""
    finite = x[np.isfinite(x)]
    if finite.size < 4:
        return np.full_like(x, np.nan, dtype=np.float64)
    med = float(np.median(finite))
    mad = 1.4826 * float(np.median(np.abs(finite - med)))
    return (x - med) / max(mad, floor)


def robust_residual(y: np.ndarray, features: list[np.ndarray], valid: np.ndarray) -> np.ndarray:
    """Residual of ``y`` after a robust (two-pass, outliers dropped) linear fit on ``features``.

    Why: ELA energy and noise level follow texture and brightness; only what texture does not
    explain is evidence of a different history."""
    out = np.full(y.shape, np.nan)
    mask = valid & np.isfinite(y)
    if mask.sum() < len(features) + 4:
        return out
    design = np.stack([np.ones(int(mask.sum()))] + [f[mask] for f in features], axis=1)
    target = y[mask]
    keep = np.ones(target.size, dtype=bool)
    coef = np.zeros(design.shape[1])
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
        resid = target - design @ coef
        mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid)))) + 1e-6
        keep = np.abs(resid) < 3.0 * mad
        if keep.sum() < design.shape[1] + 2:
            keep[:] = True
            break
    out[mask] = target - design @ coef
    return out


def window_mean(z: np.ndarray, k: int = 2) -> np.ndarray:
    """Mean of ``z`` over every k x k window of cells (NaN ignored): regions, not lone cells."""
    rows, cols = z.shape
    if rows < k or cols < k:
        return z.copy()
    vals = np.nan_to_num(z, nan=0.0)
    cnt = np.isfinite(z).astype(np.float64)
    s = sum(vals[i : rows - k + 1 + i, j : cols - k + 1 + j] for i in range(k) for j in range(k))
    n = sum(cnt[i : rows - k + 1 + i, j : cols - k + 1 + j] for i in range(k) for j in range(k))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= (k * k + 1) // 2, s / np.maximum(n, 1), np.nan)


def map_stat(z: np.ndarray) -> float | None:
    """The cue's raw statistic: the largest 2x2-window mean z, corrected for the window count."""
    w = window_mean(z, 2)
    finite = w[np.isfinite(w)]
    if finite.size < 4:
        return None
    n = finite.size
    return float(finite.max()) - math.sqrt(2 * math.log(n)) + math.sqrt(2 * math.log(REFERENCE_WINDOWS))


def components(mask: np.ndarray) -> list[list[tuple[int, int]]]:
    """4-connected components of a small boolean grid (a few thousand cells at most)."""
    seen = np.zeros_like(mask, dtype=bool)
    rows, cols = mask.shape
    out: list[list[tuple[int, int]]] = []
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        stack = [(int(r0), int(c0))]
        seen[r0, c0] = True
        comp: list[tuple[int, int]] = []
        while stack:
            r, c = stack.pop()
            comp.append((r, c))
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    stack.append((rr, cc))
        out.append(comp)
    return out


MIN_Z_CUT = 1.0


def map_regions(cue: CueResult, score: float, width: int, height: int, z_cut: float = 2.5, limit: int = 3) -> list[Box]:
    """Boxes around connected cells whose 2x2-smoothed z exceeds ``z_cut`` (strongest first).

    A cell's smoothed value is the max of the windows covering it, so a region is as large as
    the windows that found it. The cut is lowered to 3/4 of the strongest window (not under
    ``MIN_Z_CUT``) when that is below ``z_cut``: a cue flagged by its calibrated statistic
    always gets the region that made it fire."""
    if cue.zmap is None or cue.cell <= 0:
        return []
    w = window_mean(cue.zmap, 2)
    rows, cols = cue.zmap.shape
    cover = np.full((rows, cols), -np.inf)
    if w.shape == (rows - 1, cols - 1):
        wf = np.nan_to_num(w, nan=-np.inf)
        for i in (0, 1):
            for j in (0, 1):
                sub = cover[i : rows - 1 + i, j : cols - 1 + j]
                np.maximum(sub, wf, out=sub)
    else:
        cover = np.nan_to_num(cue.zmap, nan=-np.inf)
    finite = cover[np.isfinite(cover)]
    top = float(finite.max()) if finite.size else 0.0
    cut = max(MIN_Z_CUT, min(z_cut, 0.75 * top))
    comps = components(cover > cut)
    peak = max((float(cover[tuple(np.array(c).T)].max()) for c in comps), default=0.0)
    boxes: list[Box] = []
    for comp in comps:
        arr = np.array(comp)
        strength = float(cover[arr[:, 0], arr[:, 1]].max())
        r0, c0 = arr.min(axis=0)
        r1, c1 = arr.max(axis=0) + 1
        boxes.append(
            Box(
                x1=round(c0 * cue.cell),
                y1=round(cue.origin_y + r0 * cue.cell),
                x2=min(width, round(c1 * cue.cell)),
                y2=min(height, round(cue.origin_y + r1 * cue.cell)),
                score=score * strength / peak if peak > 0 else score,
                evidence=cue.evidence,
                extra={"z": round(strength, 2)},
            )
        )
    boxes.sort(key=lambda b: -b.score)
    return boxes[:limit]
