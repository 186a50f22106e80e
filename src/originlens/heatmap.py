"""AI heatmaps: where in the image the statistical detectors see generated pixels.

A window slides over the image at native resolution; every statistical detector judges
each window, and each cell of the map gets the mean artificial probability of the windows
that cover it. The map is rendered over the image (blue = human, red = artificial) with a
legend, and kept raw (a JSON grid) for clients that draw their own. The summary score, as
identifAI's heatmap model reports it, is the share of the image judged artificial.
Pure: imports detectors, numpy and Pillow only.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from originlens.detectors.base import Detector, MediaInput

WINDOW = 256
MAX_WINDOWS = 48
"""Caps the cost: windows are spread evenly when more would be needed."""
RENDER_MAX_SIDE = 1024


@dataclass
class Heatmap:
    grid: np.ndarray
    """Artificial probability per cell, rows x cols, NaN where no window judged."""
    cell: int
    """Cell size in pixels of the original image."""
    width: int
    height: int
    windows: int
    models: list[str]
    elapsed_time: float

    @property
    def share_artificial(self) -> float:
        """Share of the judged area whose probability is above 0.5."""
        judged = self.grid[~np.isnan(self.grid)]
        return float((judged > 0.5).mean()) if judged.size else 0.0

    def raw_json(self) -> bytes:
        values = [[None if math.isnan(v) else round(float(v), 4) for v in row] for row in self.grid]
        return json.dumps(
            {
                "width": self.width,
                "height": self.height,
                "cell": self.cell,
                "rows": int(self.grid.shape[0]),
                "cols": int(self.grid.shape[1]),
                "values": values,
                "models": self.models,
                "share_artificial": round(self.share_artificial, 4),
            },
            separators=(",", ":"),
        ).encode()


def _positions(length: int, window: int, count: int) -> list[int]:
    if length <= window:
        return [0]
    if count <= 1:
        return [(length - window) // 2]
    return sorted({round(i * (length - window) / (count - 1)) for i in range(count)})


def build(detectors: Sequence[Detector], image: Image.Image, window: int = WINDOW) -> Heatmap | None:
    """Judge windows of ``image`` with every statistical detector; None if none can judge."""
    started = time.perf_counter()
    statistical = [d for d in detectors if d.kind == "statistical"]
    if not statistical:
        return None
    rgb = image.convert("RGB")
    width, height = rgb.size
    window = min(window, width, height)
    stride = window // 2
    want_x = max(1, math.ceil((width - window) / stride) + 1)
    want_y = max(1, math.ceil((height - window) / stride) + 1)
    if want_x * want_y > MAX_WINDOWS:  # spread fewer windows evenly, keeping the aspect
        shrink = math.sqrt(MAX_WINDOWS / (want_x * want_y))
        want_x, want_y = max(1, math.floor(want_x * shrink)), max(1, math.floor(want_y * shrink))
    cell = max(1, stride)
    rows, cols = math.ceil(height / cell), math.ceil(width / cell)
    total = np.zeros((rows, cols))
    counts = np.zeros((rows, cols))
    used: set[str] = set()
    windows = 0
    for top in _positions(height, window, want_y):
        for left in _positions(width, window, want_x):
            crop = rgb.crop((left, top, left + window, top + window))
            scores = []
            for detector in statistical:
                prediction = detector.predict(MediaInput(data=b"", mime_type="image/png", decoded=crop))
                if not prediction.unknown:
                    scores.append(prediction.artificial)
                    used.add(detector.name)
            windows += 1
            if not scores:
                continue
            r0, r1 = top // cell, math.ceil((top + window) / cell)
            c0, c1 = left // cell, math.ceil((left + window) / cell)
            total[r0:r1, c0:c1] += float(np.mean(scores))
            counts[r0:r1, c0:c1] += 1
    if not used:
        return None
    with np.errstate(invalid="ignore"):
        grid = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    return Heatmap(grid, cell, width, height, windows, sorted(used), round(time.perf_counter() - started, 6))


def _colour(p: float) -> tuple[int, int, int, int]:
    """Blue (human) through white to red (artificial); translucent."""
    p = min(1.0, max(0.0, p))
    if p < 0.5:
        t = p / 0.5
        return (int(40 + 215 * t), int(90 + 165 * t), 255, 110)
    t = (p - 0.5) / 0.5
    return (255, int(255 - 215 * t), int(255 - 215 * t), int(110 + 60 * t))


def render_png(
    heatmap: Heatmap,
    image: Image.Image,
    low: str = "human",
    high: str = "artificial",
    summary: str = "share judged artificial",
) -> bytes:
    """The image with the map over it and a legend underneath (labels given for other maps)."""
    base = image.convert("RGB")
    scale = min(1.0, RENDER_MAX_SIDE / max(base.size))
    size = (max(1, round(base.width * scale)), max(1, round(base.height * scale)))
    base = base.resize(size, Image.Resampling.BILINEAR).convert("RGBA")
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    step = heatmap.cell * scale
    for r, row in enumerate(heatmap.grid):
        for c, value in enumerate(row):
            if not math.isnan(value):
                box = (c * step, r * step, min(size[0], (c + 1) * step), min(size[1], (r + 1) * step))
                draw.rectangle(box, fill=_colour(float(value)))
    composed = Image.alpha_composite(base, overlay)
    legend_h = 36
    canvas = Image.new("RGB", (size[0], size[1] + legend_h), (255, 255, 255))
    canvas.paste(composed.convert("RGB"), (0, 0))
    legend = ImageDraw.Draw(canvas)
    bar_w = max(60, min(300, size[0] - 150))
    for x in range(bar_w):
        r, g, b, _ = _colour(x / max(1, bar_w - 1))
        legend.line([(70 + x, size[1] + 8), (70 + x, size[1] + 20)], fill=(r, g, b))
    legend.text((4, size[1] + 8), low, fill=(0, 0, 0))
    legend.text((76 + bar_w, size[1] + 8), high, fill=(0, 0, 0))
    legend.text((4, size[1] + 22), f"{summary}: {heatmap.share_artificial:.0%}", fill=(0, 0, 0))
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()


def result_json(heatmap: Heatmap) -> dict[str, Any]:
    """The ``heatmap`` entry of ``results``: its score is the share of the area judged artificial."""
    share = heatmap.share_artificial
    return {
        "model": "heatmap",
        "version": "1.0",
        "kind": "derived",
        "unknown": False,
        "obsolete": False,
        "relevance": 0.0,
        "elapsed_time": heatmap.elapsed_time,
        "classification": [
            {"label": "human", "score": round(1 - share, 6)},
            {"label": "artificial", "score": round(share, 6)},
        ],
        "classification_details": {
            "share_artificial": round(share, 4),
            "windows": heatmap.windows,
            "cell_pixels": heatmap.cell,
            "models": heatmap.models,
            "reason": f"{share:.0%} of the image judged artificial by {', '.join(heatmap.models)}",
        },
    }
