"""Spectral up-sampling detector: a cheap statistical second opinion from the noise residual.

Generators that up-sample (transposed convolutions, nearest/bilinear up-sampling in decoders,
VAE decoders of latent diffusion models) leave periodic traces in the spectrum of the image's
noise residual (Durall 2020, Frank 2020, Corvi 2023). This module measures them with numpy
only and feeds a small logistic-regression head trained by ``scripts/train_spectral.py``
(model card: ``docs/models/spectral.md``).

Features (``FEATURE_SPEC_VERSION``), computed on one square patch of side ``N`` (256 when the
image allows it, otherwise the largest multiple of 8 that fits, at least ``MIN_SIDE``):

* grey level ``Y = 0.299 R + 0.587 G + 0.114 B``; residual ``r = Y - mean of its 4 neighbours``
  (a Laplacian high-pass; edges reflected), also per colour channel;
* ``log |FFT(r * hann)|^2``, azimuthally averaged in ``RADIAL_BINS`` rings from DC to the
  axis Nyquist frequency, centred (mean subtracted) so that global contrast cancels out;
* peak-to-neighbourhood ratios (log power of the 3x3 cell at a frequency minus the median of
  the 9x9 window around it) at the periodic up-sampling frequencies ``N/2``, ``N/4``, ``N/8``
  (and ``3N/8``) on the axes and diagonals, grouped in 7 features;
* the largest and 99.9th-percentile deviation of the log spectrum from its radial mean (any
  periodic peak, wherever it is);
* high-frequency energy ratios of the grey image (power beyond 0.5 and 0.75 of Nyquist over
  the power beyond 0.05);
* residual statistics: log variance, kurtosis, and the correlations of the R/G/B residuals.

Inference scores up to ``MAX_PATCHES`` patches on a grid at native resolution (large images
are never down-scaled), averages the head's logits, Platt-calibrates the mean and maps the
calibrated probability ``p`` onto ``artificial`` piecewise-linearly so that the operating
threshold ``t`` (chosen on validation for at most 5% false positives on human images) lands
on 0.5: ``artificial = 0.5 * p / t`` below it, ``0.5 + 0.5 * (p - t) / (1 - t)`` above.
Calibrated logits within the abstain band around the threshold give ``unknown``.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction

FEATURE_SPEC_VERSION = "spectral-features-1"
PATCH = 256
"""Side of the square patches the features are computed on."""
MIN_SIDE = 64
"""Below this many pixels on a side there is too little spectrum to judge: ``unknown``."""
MAX_PATCHES = 8
RADIAL_BINS = 32
HEAD_FILE = "spectral_head.json"

_PEAK_GROUPS: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = (
    ("peak_n2_axis", ((0.5, 0.0), (0.0, 0.5))),
    ("peak_n2_diag", ((0.5, 0.5),)),
    ("peak_n4_axis", ((0.25, 0.0), (0.0, 0.25))),
    ("peak_n4_diag", ((0.25, 0.25), (0.25, -0.25))),
    ("peak_n4_mixed", ((0.25, 0.5), (0.5, 0.25))),
    ("peak_n8_axis", ((0.125, 0.0), (0.0, 0.125), (0.375, 0.0), (0.0, 0.375))),
    ("peak_n8_diag", ((0.125, 0.125), (0.125, -0.125), (0.375, 0.375), (0.375, -0.375))),
)
"""Frequencies as fractions of the patch side (``0.5`` is ``N/2``); each group is averaged."""

FEATURE_NAMES: tuple[str, ...] = (
    *(f"radial_{i:02d}" for i in range(RADIAL_BINS)),
    *(name for name, _ in _PEAK_GROUPS),
    "spec_dev_max",
    "spec_dev_p999",
    "hf_ratio_050",
    "hf_ratio_075",
    "res_log_var",
    "res_kurtosis",
    "res_corr_rg",
    "res_corr_gb",
    "res_corr_rb",
)
N_FEATURES = len(FEATURE_NAMES)

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# --------------------------------------------------------------------------- features


@lru_cache(maxsize=8)
def _geometry(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hann window, radial bin index (-1 beyond Nyquist or at DC), bin counts, radius."""
    hann = np.hanning(n).astype(np.float32)
    window = np.outer(hann, hann)
    f = np.fft.fftfreq(n)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2) / 0.5  # 1.0 = axis Nyquist
    bins = np.floor(radius * RADIAL_BINS).astype(np.int64)
    bins[(radius > 1.0) | (radius == 0.0)] = -1
    bins[bins >= RADIAL_BINS] = RADIAL_BINS - 1  # radius exactly 1.0
    counts = np.bincount(bins[bins >= 0], minlength=RADIAL_BINS).astype(np.float64)
    return window, bins, counts, radius


def _laplacian_residual(channel: np.ndarray) -> np.ndarray:
    """``x`` minus the mean of its 4 neighbours, with reflected edges."""
    p = np.pad(channel, 1, mode="reflect")
    return channel - 0.25 * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:])


def _peak_ratio(log_power: np.ndarray, fy: float, fx: float) -> float:
    n = log_power.shape[0]
    cy, cx = round(fy * n), round(fx * n)
    inner = np.ix_([(cy + d) % n for d in (-1, 0, 1)], [(cx + d) % n for d in (-1, 0, 1)])
    outer_idx = [(cy + d) % n for d in range(-4, 5)]
    outer_idx_x = [(cx + d) % n for d in range(-4, 5)]
    outer = log_power[np.ix_(outer_idx, outer_idx_x)]
    return float(log_power[inner].mean() - np.median(outer))


def patch_features(patch: np.ndarray) -> np.ndarray:
    """Feature vector (``N_FEATURES`` float64) of one square ``(N, N, 3)`` patch in 0..255."""
    if patch.ndim != 3 or patch.shape[0] != patch.shape[1] or patch.shape[2] != 3:
        raise ValueError(f"expected a square (N, N, 3) patch, got {patch.shape}")
    n = patch.shape[0]
    window, bins, counts, radius = _geometry(n)
    rgb = patch.astype(np.float32)
    grey = rgb @ _LUMA

    residual = _laplacian_residual(grey)
    spectrum = np.abs(np.fft.fft2(residual * window)) ** 2
    log_power = np.log(spectrum + 1e-3)
    valid = bins >= 0
    radial = np.bincount(bins[valid], weights=log_power[valid], minlength=RADIAL_BINS) / np.maximum(counts, 1)
    radial_centred = radial - radial.mean()

    peaks = [np.mean([_peak_ratio(log_power, fy, fx) for fy, fx in points]) for _, points in _PEAK_GROUPS]

    deviation = log_power[valid] - radial[bins[valid]]
    far = radius[valid] > 0.1
    dev = deviation[far]
    spec_dev = [float(dev.max()), float(np.percentile(dev, 99.9))]

    grey_power = np.abs(np.fft.fft2((grey - grey.mean()) * window)) ** 2
    base = float(grey_power[radius > 0.05].sum()) + 1e-6
    hf = [
        math.log(float(grey_power[radius > 0.5].sum()) / base + 1e-9),
        math.log(float(grey_power[radius > 0.75].sum()) / base + 1e-9),
    ]

    var = float(residual.var())
    centred = residual - residual.mean()
    kurt = float((centred**4).mean() / (var**2 + 1e-12))
    res_stats = [math.log(var + 1e-6), math.log(kurt + 1e-6)]

    per_channel = [_laplacian_residual(rgb[:, :, c]).ravel() for c in range(3)]
    corrs = []
    for a, b in ((0, 1), (1, 2), (0, 2)):
        sa, sb = per_channel[a].std(), per_channel[b].std()
        if sa < 1e-6 or sb < 1e-6:
            corrs.append(1.0)
        else:
            corrs.append(
                float(
                    np.mean((per_channel[a] - per_channel[a].mean()) * (per_channel[b] - per_channel[b].mean()))
                    / (sa * sb)
                )
            )

    return np.concatenate([radial_centred, peaks, spec_dev, hf, res_stats, corrs]).astype(np.float64)


# --------------------------------------------------------------------------- image -> patches


def to_rgb_array(image: Any) -> np.ndarray:
    """A float32 ``(H, W, 3)`` array in 0..255 from any PIL image, without touching it.

    16-bit and 32-bit integer or float modes are rescaled by their own range, palette and
    alpha modes are converted (alpha flattened on white), grey is replicated on 3 channels.
    """
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if mode.startswith("I;16") and lo >= 0 and hi <= 65535:
            scale_hi = 65535.0 if hi > 255 else 255.0
            arr = arr / scale_hi * 255.0
        elif hi > lo:
            arr = (arr - lo) / (hi - lo) * 255.0
        else:
            arr = np.zeros_like(arr)
        grey = np.nan_to_num(arr).astype(np.float32)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        from PIL import Image

        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return np.asarray(white.convert("RGB"), dtype=np.float32)
    if mode != "RGB":
        return np.asarray(image.convert("RGB"), dtype=np.float32)
    return np.asarray(image, dtype=np.float32)


def patch_boxes(width: int, height: int, patch: int = PATCH, max_patches: int = MAX_PATCHES) -> list[tuple[int, int]]:
    """Top-left corners of up to ``max_patches`` patches on an even grid, on the 8-px JPEG grid."""

    def positions(length: int, count: int) -> list[int]:
        if count <= 1:
            return [((length - patch) // 2) // 8 * 8]
        step = (length - patch) / (count - 1)
        return [round(i * step) // 8 * 8 for i in range(count)]

    nx, ny = max(1, width // patch), max(1, height // patch)
    if width >= height:
        nx = min(nx, max_patches)
        ny = min(ny, max(1, max_patches // nx))
    else:
        ny = min(ny, max_patches)
        nx = min(nx, max(1, max_patches // ny))
    return [(x, y) for y in positions(height, ny) for x in positions(width, nx)]


def image_patches(image: Any) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Square patches of a PIL image at native resolution, and what was done to get them."""
    width, height = image.size
    side = min(PATCH, width, height) // 8 * 8
    info: dict[str, Any] = {"image_size": [width, height], "patch_side": side}
    if side < MIN_SIDE:
        return [], info
    if side < PATCH:
        info["note"] = f"image smaller than {PATCH} px on a side: one {side}x{side} native-resolution patch"
    patches = []
    for x, y in patch_boxes(width, height, side):
        crop = image.crop((x, y, x + side, y + side))  # a new image; the shared one is untouched
        patches.append(to_rgb_array(crop))
    info["patches"] = len(patches)
    return patches, info


def image_features(image: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """``(P, N_FEATURES)`` features of the patches of an image (``P`` may be 0)."""
    patches, info = image_patches(image)
    if not patches:
        return np.zeros((0, N_FEATURES)), info
    return np.stack([patch_features(p) for p in patches]), info


# --------------------------------------------------------------------------- head


class SpectralHead:
    """The trained head: standardisation, linear weights, Platt scaling, threshold, band."""

    def __init__(self, spec: dict[str, Any]) -> None:
        if spec.get("feature_spec_version") != FEATURE_SPEC_VERSION:
            raise ValueError(f"head was trained on {spec.get('feature_spec_version')}, code has {FEATURE_SPEC_VERSION}")
        self.spec = spec
        names = spec.get("feature_subset", list(FEATURE_NAMES))
        unknown_names = set(names) - set(FEATURE_NAMES)
        if unknown_names:
            raise ValueError(f"head uses unknown features {sorted(unknown_names)}")
        self.indices = np.array([FEATURE_NAMES.index(n) for n in names], dtype=np.int64)
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.std = np.asarray(spec["std"], dtype=np.float64)
        self.weights = np.asarray(spec["weights"], dtype=np.float64)
        self.bias = float(spec["bias"])
        self.platt_a = float(spec["platt"]["a"])
        self.platt_b = float(spec["platt"]["b"])
        self.threshold = float(spec["threshold"])
        self.abstain_low = float(spec["abstain_band"][0])
        self.abstain_high = float(spec["abstain_band"][1])
        expected = (len(self.indices),)
        if self.weights.shape != expected or self.mean.shape != expected or self.std.shape != expected:
            raise ValueError("head does not match the feature vector length")

    @classmethod
    def load(cls, path: Path | None = None) -> SpectralHead:
        if path is None:
            text = resources.files("originlens.detectors").joinpath("models", HEAD_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        return cls(json.loads(text))

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Raw head logits of a ``(P, N_FEATURES)`` array."""
        z = np.clip((np.atleast_2d(features)[:, self.indices] - self.mean) / self.std, -8.0, 8.0)
        return np.asarray(z @ self.weights + self.bias, dtype=np.float64)

    def calibrated(self, logit: float) -> float:
        """Platt-calibrated probability of ``artificial`` for a (mean) raw logit."""
        return _sigmoid(self.platt_a * logit + self.platt_b)

    def to_score(self, probability: float) -> float:
        """Piecewise-linear map putting the operating threshold on 0.5."""
        t = self.threshold
        score = 0.5 * probability / t if probability <= t else 0.5 + 0.5 * (probability - t) / (1.0 - t)
        return float(min(1.0, max(0.0, score)))

    def abstains(self, probability: float) -> bool:
        return self.abstain_low <= probability <= self.abstain_high


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# --------------------------------------------------------------------------- detector


class SpectralDetector(Detector):
    """Periodic up-sampling peaks and spectral shape of the noise residual + a linear head."""

    name = "spectral"
    version = "1.0"
    kind = "statistical"
    obsolete = True
    """Validation AUC 0.549 across unseen sources (docs/models/spectral.md): below the 0.65 bar, so
    it is reported as a second opinion but left out of ``AverageExcludeObsolete`` (the default)."""
    relevance = 0.1
    """``2 * (validation AUC - 0.5)`` rounded (AUC 0.549, ``docs/models/spectral.md``): the head
    barely beats chance on unseen sources, so it should carry little weight."""

    def __init__(self, head_path: Path | None = None) -> None:
        super().__init__()
        self._head_path = head_path
        self._head: SpectralHead | None = None

    def _load(self) -> None:
        self._head = SpectralHead.load(self._head_path)

    @property
    def head(self) -> SpectralHead:
        self.load()
        assert self._head is not None
        return self._head

    def _predict(self, media: MediaInput) -> Prediction:
        head = self.head
        try:
            image = media.image()
        except Exception as exc:  # any decoder failure is "cannot judge", never a crash
            return self.unknown_because("image could not be decoded", exc)
        try:
            features, info = image_features(image)
        except Exception as exc:
            return self.unknown_because("spectral features failed", exc)
        if features.shape[0] == 0:
            return self.unknown(f"image smaller than {MIN_SIDE} px on a side", **info)
        if not np.all(np.isfinite(features)):
            return self.unknown("non-finite spectral features", **info)
        logits = head.logits(features)
        mean_logit = float(logits.mean())
        probability = head.calibrated(mean_logit)
        score = head.to_score(probability)
        details: dict[str, Any] = {
            **info,
            "calibrated_probability": round(probability, 4),
            "operating_threshold": round(head.threshold, 4),
            "patch_logits": [round(float(v), 3) for v in logits],
            "peak_features": {
                name: round(float(features[:, RADIAL_BINS + i].mean()), 3) for i, (name, _) in enumerate(_PEAK_GROUPS)
            },
            "score_mapping": "piecewise-linear, operating threshold -> 0.5",
        }
        if head.abstains(probability):
            return self.unknown("score inside the abstain band around the operating threshold", **details)
        return Prediction(model=self.name, artificial=score, details=details)
