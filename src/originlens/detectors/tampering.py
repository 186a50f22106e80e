"""Tampering detector: classic forensics for edits made *without* generative AI.

Answers identifAI's ``with_tampering`` option ("look for signs of tampering or manipulation
done without generative AI"). For this model the label ``artificial`` means **manipulated**
(spliced, copy-moved, locally retouched or re-compressed), ``human`` means no sign of that;
it is an ``auxiliary`` analysis and never votes on "made by AI?".

Five cues, each a module of ``originlens.detectors.forensics``:

* ``ela``: error level analysis (grey re-save 10 below the file's estimated JPEG quality,
  within 50-90, or at 90 for non-JPEG input; error per cell regressed on texture; high
  unexplained error is suspicious; cells with clipped RGB are left out);
* ``double_jpeg``: JPEG input only; per-block agreement with the double-quantisation comb of
  the DCT histograms (quantisation table from the file); low agreement is suspicious;
* ``grid``: a blocking-artefact grid at a phase the rest of the image does not show (a
  pasted, non-aligned JPEG region); a grid shared by the whole image is not evidence;
* ``noise``: local noise level (Immerkaer high-pass, per-cell median) regressed on texture
  and brightness; a robust |z| outlier is suspicious (too clean: blur; too noisy: splice);
* ``copy_move``: ORB self-matching, groups sharing one shift (or a near-rigid similarity),
  disjoint ends and pixel-verified; distinct matched places.

Combination: each map cue is summarised by its largest 2x2-cell window mean z-score
(corrected for the number of windows). Each statistic becomes a p-value under the null
"untouched photo", from its empirical distribution on 1,000-odd human photo crops of
``/work/shared/train``, each as stored and re-saved at a random quality 75-95 (body:
empirical; beyond the 90th percentile: an exponential tail). The map cues' p-value is the
Sidak-corrected minimum over the ``m`` applicable ones, ``p = 1 - (1 - min p_c)^m``, giving
``t / (t + p)``. Copy-move stands on its own: a fixed rule (``copymove.MIN_PLACES`` verified
places) whose score ``n / (n + MIN_PLACES - 1)`` passes 0.5 exactly when the rule holds. The
score is the larger of the two; ``t`` is set so that both together flag 5% of the calibration
images.

Cells are multiples of 8 px (16 to 64) so that a 256x256 crop and a 1 MP photo both have a
few hundred. Images over ``NATIVE_MAX_PIXELS`` are read on evenly spaced rows of cells for
the JPEG cues (ELA, double JPEG, grid need native pixels); noise and copy-move run on a copy
down-scaled to ``WORK_MAX_PIXELS``. The details say when either happened.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.forensics import copymove
from originlens.detectors.forensics.calibration import CALIBRATION
from originlens.detectors.forensics.common import Box, CueResult, luminance, map_regions, map_stat, window_mean
from originlens.detectors.forensics.ela import ela_cue
from originlens.detectors.forensics.jpeg import double_quant_cue, estimate_quality, grid_cue, luma_table
from originlens.detectors.forensics.noise import noise_cue

MIN_SIDE = 64
"""Below this many pixels on a side there are too few cells to compare: ``unknown``."""
MIN_CELLS = 16
FLAT_STD = 2.0
"""Grey-level standard deviation under which an image is flat: ``unknown``."""
MIN_TEXTURED_SHARE = 0.2
"""Share of cells with some texture under which an image is mostly flat: ``unknown``."""
FLAT_CELL_TEXTURE = 0.4
"""Mean absolute neighbour difference under which a cell is flat and not judged."""
CLIP_LOW, CLIP_HIGH = 3, 250
CLIPPED_CELL_SHARE = 0.1
"""Cells with more clipped pixels than this are not judged by the JPEG cues (ELA, double JPEG)."""
NATIVE_MAX_PIXELS = 3_000_000
WORK_MAX_PIXELS = 1_500_000
MAP_CUES = ("ela", "double_jpeg", "grid", "noise")
CUES = (*MAP_CUES, "copy_move")


def cell_size(width: int, height: int) -> int:
    """Cell side (multiple of 8, 16 to 64) giving about 256 cells."""
    return int(8 * min(8, max(2, round(math.sqrt(width * height / 256) / 8))))


@dataclass
class TamperingAnalysis:
    """Everything the detector learnt about one image."""

    width: int
    height: int
    cues: dict[str, CueResult] = field(default_factory=dict)
    unknown_reason: str | None = None
    map_cell: int = 0
    notes: list[str] = field(default_factory=list)
    quality: dict[str, Any] | None = None


def _grey_clip(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Luma and a mask of clipped pixels (a channel at <= CLIP_LOW or >= CLIP_HIGH).

    Clipped RGB is off the JPEG lattice once converted back to luma: such pixels change on any
    re-save whatever their history, so the JPEG cues leave cells full of them out."""
    if image.mode in ("L", "1", "LA", "La", "I", "I;16", "I;16L", "I;16B", "F"):
        y = np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.float32)
        return y, (y <= CLIP_LOW) | (y >= CLIP_HIGH)
    rgb = np.asarray(image.convert("RGB"))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    high = np.maximum(np.maximum(r, g), b) >= CLIP_HIGH  # channel views: faster than a reduce over axis 2
    low = np.minimum(np.minimum(r, g), b) <= CLIP_LOW
    return luminance(rgb), high | low


def _diffs(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute neighbour differences, padded back to ``y``'s shape (column/row j: j to j+1)."""
    dx = np.zeros_like(y)
    dy = np.zeros_like(y)
    dx[:, :-1] = np.abs(y[:, 1:] - y[:, :-1])
    dy[:-1, :] = np.abs(y[1:, :] - y[:-1, :])
    return dx, dy


def _place_rows(zmap: np.ndarray | None, rows: np.ndarray, total_rows: int) -> np.ndarray | None:
    """Put the maps of sampled cell rows back at their rows of the full grid (NaN elsewhere)."""
    if zmap is None:
        return None
    full = np.full((total_rows, zmap.shape[1]), np.nan)
    full[rows[: zmap.shape[0]]] = zmap[: len(rows)]
    return full


def analyse(image: Image.Image, quantization: Any = None) -> TamperingAnalysis:
    """Run every cue on ``image``; ``quantization`` is the JPEG file's tables when it has them."""
    width, height = image.size
    result = TamperingAnalysis(width=width, height=height)
    if min(width, height) < MIN_SIDE:
        result.unknown_reason = f"image is {width}x{height}; tampering analysis needs at least {MIN_SIDE} px a side"
        return result
    cell = cell_size(width, height)
    total_rows, total_cols = height // cell, width // cell
    if total_rows * total_cols < MIN_CELLS:
        result.unknown_reason = f"too few {cell}-px cells to compare ({total_rows}x{total_cols})"
        return result
    result.map_cell = cell
    rows = np.arange(total_rows)
    if width * height > NATIVE_MAX_PIXELS:
        keep = max(4, NATIVE_MAX_PIXELS // (total_cols * cell * cell))
        rows = np.unique(np.linspace(0, total_rows - 1, min(keep, total_rows)).round().astype(int))
        result.notes.append(f"JPEG cues read on {len(rows)} of {total_rows} rows of {cell}-px cells")
        parts = [_grey_clip(image.crop((0, int(r) * cell, width, (int(r) + 1) * cell))) for r in rows]
        native = np.concatenate([g for g, _ in parts])
        clipped = np.concatenate([c for _, c in parts])
    else:
        native, clipped = _grey_clip(image)
    if float(native.std()) < FLAT_STD:
        result.unknown_reason = "image is flat (no texture to compare regions by)"
        return result
    dx, dy = _diffs(native)
    texture = (dx + dy)[: len(rows) * cell, : total_cols * cell]
    tex_cells = texture.reshape(len(rows), cell, total_cols, cell).mean(axis=(1, 3))
    valid = tex_cells > FLAT_CELL_TEXTURE
    if valid.mean() < MIN_TEXTURED_SHARE:
        result.unknown_reason = f"image is mostly flat ({valid.mean():.0%} of cells have texture)"
        return result

    cues: dict[str, CueResult] = {}
    table = luma_table(quantization)
    file_quality: int | None = None
    if table is not None:
        file_quality, err = estimate_quality(table)
        result.quality = {"luma_quality_estimate": file_quality, "table_mismatch": round(err, 3)}
    clip_cells = clipped[: len(rows) * cell, : total_cols * cell].reshape(len(rows), cell, total_cols, cell)
    unclipped = valid & (clip_cells.mean(axis=(1, 3)) <= CLIPPED_CELL_SHARE)
    cues["ela"] = ela_cue(native, tex_cells, cell, unclipped, file_quality)
    if table is not None:
        cues["double_jpeg"] = double_quant_cue(native, table, cell, unclipped)
    else:
        cues["double_jpeg"] = CueResult(evidence="double_jpeg", stat=None, info={"applicable": False})
        cues["double_jpeg"].info["reason"] = "not a JPEG (no quantisation table)"
    cues["grid"] = grid_cue(dx, dy, cell, unclipped, is_jpeg=table is not None)
    for name in ("ela", "double_jpeg", "grid"):
        cue = cues[name]
        cue.zmap = _place_rows(cue.zmap, rows, total_rows)

    # Noise and copy-move on a (possibly) down-scaled working copy.
    scale = 1.0
    if width * height > WORK_MAX_PIXELS:
        scale = math.sqrt(WORK_MAX_PIXELS / (width * height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = image.convert("L") if image.mode != "L" else image
        work = np.asarray(small.resize(size, Image.Resampling.BOX), dtype=np.float32)
        result.notes.append(f"noise and copy-move read on a copy down-scaled to {size[0]}x{size[1]}")
    else:
        work = native
    wcell = cell_size(work.shape[1], work.shape[0])
    wdx, wdy = _diffs(work)
    wr, wc = work.shape[0] // wcell, work.shape[1] // wcell
    wtex = (wdx + wdy)[: wr * wcell, : wc * wcell].reshape(wr, wcell, wc, wcell).mean(axis=(1, 3))
    noise = noise_cue(work, wtex, wcell, wtex > FLAT_CELL_TEXTURE)
    noise.cell = wcell / scale
    cues["noise"] = noise
    gray8 = np.clip(np.rint(work), 0, 255).astype(np.uint8)
    cues["copy_move"] = copymove.copy_move_cue(gray8, 1.0 / scale, width, height)

    for name in MAP_CUES:
        cue = cues[name]
        if cue.zmap is not None and cue.stat is None:
            cue.stat = map_stat(cue.zmap)
    result.cues = cues
    return result


def cue_p_value(name: str, stat: float, calibration: dict[str, Any]) -> float:
    """Tail probability of ``stat`` among untouched calibration photos (exponential beyond p90)."""
    null = calibration["cues"][name]
    quantiles = np.asarray(null["quantiles"], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, quantiles.size)
    if stat > null["tail_start"]:
        return float(0.1 * math.exp(-(stat - null["tail_start"]) / null["tail_scale"]))
    below = levels[quantiles < stat]
    return float(max(0.1, 1.0 - (below.max() if below.size else 0.0)))


def combine(analysis: TamperingAnalysis, calibration: dict[str, Any]) -> tuple[float, dict[str, float], float]:
    """Per-cue p-values of the map cues, their Sidak-corrected minimum ``p`` and the score.

    The score is the larger of ``t / (t + p)`` (map cues) and the copy-move rule's score
    (``copymove.rule_score``: above 0.5 exactly when its fixed rule holds)."""
    p_values = {
        name: cue_p_value(name, cue.stat, calibration)
        for name, cue in analysis.cues.items()
        if cue.stat is not None and name in MAP_CUES and name in calibration["cues"]
    }
    m = max(1, len(p_values))
    p_min = min(p_values.values(), default=1.0)
    p = 1.0 - (1.0 - p_min) ** m
    t = float(calibration["p_threshold"])
    score = t / (t + p)
    cm = analysis.cues.get("copy_move")
    if cm is not None and cm.stat is not None:
        score = max(score, copymove.rule_score(cm.stat))
    return score, p_values, p


def _cue_scores(
    p_values: dict[str, float], calibration: dict[str, Any], analysis: TamperingAnalysis | None = None
) -> dict[str, float]:
    """What the score would be if each cue alone were the strongest: used for regions and map."""
    m = max(1, len(p_values))
    t = float(calibration["p_threshold"])
    out = {name: t / (t + 1.0 - (1.0 - p) ** m) for name, p in p_values.items()}
    cm = None if analysis is None else analysis.cues.get("copy_move")
    if cm is not None and cm.stat is not None:
        out["copy_move"] = copymove.rule_score(cm.stat)
    return out


def regions(analysis: TamperingAnalysis, cue_scores: dict[str, float], min_score: float = 0.5) -> list[Box]:
    """Suspicious boxes of every cue that on its own passes ``min_score``."""
    boxes: list[Box] = []
    for name, score in cue_scores.items():
        if score < min_score:
            continue
        cue = analysis.cues[name]
        if name == "copy_move":
            for box in cue.boxes:
                box.score = score
                boxes.append(box)
        else:
            boxes.extend(map_regions(cue, score, analysis.width, analysis.height))
    boxes.sort(key=lambda b: -b.score)
    return boxes


def build_map(analysis: TamperingAnalysis, cue_scores: dict[str, float]) -> np.ndarray:
    """One value per cell in [0, 1]: max over cues of (cue score x how far the cell stands out).

    A cell's standing is its 2x2-window z mapped linearly from 1 (0) to 4 (1); copy-move boxes
    paint their cells with the cue score. An untouched image therefore stays near 0."""
    cell = analysis.map_cell
    rows, cols = max(1, analysis.height // cell), max(1, analysis.width // cell)
    out = np.zeros((rows, cols), dtype=np.float32)
    centres_y = (np.arange(rows) + 0.5) * cell
    centres_x = (np.arange(cols) + 0.5) * cell
    for name in MAP_CUES:
        cue = analysis.cues.get(name)
        if cue is None or cue.zmap is None or name not in cue_scores:
            continue
        w = window_mean(cue.zmap, 2)
        zr, zc = cue.zmap.shape
        cover = np.full((zr, zc), np.nan)
        if w.shape == (zr - 1, zc - 1):
            for i in (0, 1):
                for j in (0, 1):
                    sub = cover[i : zr - 1 + i, j : zc - 1 + j]
                    np.fmax(sub, w, out=sub)
        else:
            cover = cue.zmap
        ri = np.clip((centres_y / cue.cell).astype(int), 0, zr - 1)
        ci = np.clip((centres_x / cue.cell).astype(int), 0, zc - 1)
        standing = np.clip((np.nan_to_num(cover[np.ix_(ri, ci)], nan=0.0) - 1.0) / 3.0, 0.0, 1.0)
        np.maximum(out, (cue_scores[name] * standing).astype(np.float32), out=out)
    cm = analysis.cues.get("copy_move")
    if cm is not None and "copy_move" in cue_scores:
        for box in cm.boxes:
            r0, r1 = box.y1 // cell, max(box.y1 // cell + 1, -(-box.y2 // cell))
            c0, c1 = box.x1 // cell, max(box.x1 // cell + 1, -(-box.x2 // cell))
            sub = out[r0:r1, c0:c1]
            np.maximum(sub, np.float32(cue_scores["copy_move"]), out=sub)
    return out


def _quantization(media: MediaInput, image: Image.Image) -> Any:
    """The JPEG tables: from the decoded object, or from the file header when it was converted."""
    tables = getattr(image, "quantization", None)
    if tables or not media.mime_type.startswith("image/jpeg") or not media.data:
        return tables
    try:
        return getattr(Image.open(io.BytesIO(media.data)), "quantization", None)
    except Exception:  # a broken header only costs the JPEG cue
        return None


def tampering_map(image: Image.Image, quantization: Any = None) -> np.ndarray:
    """Per-cell tampering suspicion in [0, 1], float32, one value per ``cell_size`` cell.

    Cell ``(r, c)`` covers pixels ``[r*cell, (r+1)*cell) x [c*cell, (c+1)*cell)``, with
    ``cell = cell_size(width, height)``; an image the detector cannot judge gives a 0x0 map."""
    if quantization is None:
        quantization = getattr(image, "quantization", None)
    analysis = analyse(image, quantization)
    if analysis.unknown_reason is not None or CALIBRATION is None:
        return np.zeros((0, 0), dtype=np.float32)
    _, p_values, _ = combine(analysis, CALIBRATION)
    return build_map(analysis, _cue_scores(p_values, CALIBRATION, analysis))


class TamperingDetector(Detector):
    """Classic-forensics tampering analysis; ``artificial`` here means "manipulated"."""

    name = "tampering"
    version = "1.1"
    kind = "auxiliary"
    option = "with_tampering"
    relevance = 0.3
    media_types = ("image/",)

    def _predict(self, media: MediaInput) -> Prediction:
        calibration = CALIBRATION
        if calibration is None:
            return self.unknown("tampering detector is not calibrated")
        try:
            image = media.image()
        except Exception as exc:  # undecodable input: say so instead of raising
            return self.unknown_because("the image could not be decoded", exc)
        try:
            analysis = analyse(image, _quantization(media, image))
        except (ValueError, MemoryError, OSError) as exc:
            return self.unknown_because("the tampering analysis could not be run on this image", exc)
        if analysis.unknown_reason is not None:
            return self.unknown(analysis.unknown_reason)
        score, p_values, p = combine(analysis, calibration)
        cue_scores = _cue_scores(p_values, calibration, analysis)
        boxes = regions(analysis, cue_scores)
        flagged = score > 0.5
        strongest = max(cue_scores, key=lambda k: cue_scores[k]) if cue_scores else None
        if flagged and strongest is not None:
            found: list[str] = sorted({b.evidence for b in boxes}) or [strongest]
            why = (
                f"{analysis.cues['copy_move'].info.get('distinct_inliers')} matched places sharing one shift"
                if strongest == "copy_move"
                else f"p={p_values[strongest]:.2g} among untouched photos"
            )
            reason = f"signs of manipulation: {', '.join(found)} (strongest cue {strongest}, {why})"
        else:
            reason = "no sign of manipulation above the threshold (at most 5% of untouched photos are flagged)"
        details: dict[str, Any] = {
            "reason": reason,
            "meaning": "artificial = manipulated without generative AI; human = no sign of it",
            "scores": {
                name: {
                    "statistic": None if cue.stat is None else round(cue.stat, 4),
                    "p_value": None if name not in p_values else round(p_values[name], 5),
                    "score": None if name not in cue_scores else round(cue_scores[name], 4),
                }
                for name, cue in analysis.cues.items()
            },
            "combined_p_value": round(p, 6),
            "threshold": {"p_value": calibration["p_threshold"], "score": 0.5},
            "regions": [b.as_dict() for b in boxes],
            "cue_details": {name: cue.info for name, cue in analysis.cues.items()},
            "map_cell_px": analysis.map_cell,
            "calibration": calibration.get("source", ""),
        }
        if analysis.quality is not None:
            details["jpeg"] = analysis.quality
        if analysis.notes:
            details["sampling"] = analysis.notes
        grid = build_map(analysis, cue_scores)
        return Prediction(
            model=self.name,
            artificial=float(min(1.0, max(0.0, score))),
            details=details,
            # the map goes to the service's tampering-map endpoint, not into the JSON result
            evidence={"map": grid, "cell": analysis.map_cell} if grid.size else None,
        )
