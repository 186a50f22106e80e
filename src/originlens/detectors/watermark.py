"""Public invisible-watermark detector: decodes the ``imwatermark`` dwtDct marks that the
reference Stable Diffusion, SDXL and FLUX scripts put into every image they save.

It is a pure-numpy reimplementation of the decoder of ``invisible-watermark`` 0.2.0
(``imwatermark/maxDct.py``, ``EmbedMaxDct.decode``), without torch, OpenCV or PyWavelets.
What that decoder does, read from its source:

1. ``cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)`` on the array it is given, cropped to
   ``[:rows // 4 * 4, :cols // 4 * 4]``.
2. ``for channel in range(2)`` with ``scales=[0, 36, 36]``: channel 0 (Y) has scale 0 and is
   skipped, so only channel 1, U, is read (V is never visited despite its scale).
3. One level of ``pywt.dwt2(U, 'haar')``; only the LL band (``cA``) is used.
4. LL is cut into 4x4 blocks read row by row; block number ``n`` votes for bit ``n % L``.
   Despite the name, ``infer_dct_matrix`` applies no DCT: it reads the raw LL block.
5. A block's vote is 1 when ``|c| mod 36 > 18``, ``c`` being its coefficient of largest
   magnitude other than the top-left one. Every block is read, none is skipped.
6. Bit ``k`` is ``mean(votes of blocks k, k + L, ...) * 255 > 127`` (no votes: 0).
   ``WatermarkDecoder.decode`` (``imwatermark/watermark.py``) refuses images under 256x256
   pixels of area, as the encoder does.

How this module gets the same answer cheaply (bit-exact with imwatermark on all 153 eval
images of 256x256 or more when every block is read, and on the reference encoder's fixtures;
``tests/unit/test_watermark_detector.py``):

* U is cv2's 8-bit integer formula (checked against cv2 4.x on all 2**24 colours):
  ``Y = (R*4899 + G*9617 + B*1868 + 2**13) >> 14``,
  ``U = ((B - Y)*8061 + 128*2**14 + 2**13) >> 14``.
* The haar LL coefficient of a 2x2 pixel square is half the sum ``S`` of its four U values,
  so a vote is ``max S mod 72 > 36``, in integers. pywt's float64 arithmetic can land a hair
  either side of the boundary when ``max S mod 72 == 36``; those blocks (about 1.5%) are
  recomputed with pywt's exact sequence of float operations.
* Images over ``FULL_DECODE_MAX_PIXELS`` are read on evenly spaced bands of block rows
  (about ``SAMPLE_PIXELS`` in all), each block keeping its real index: still hundreds of votes
  per bit, at a fraction of the cost. The details say when that happened.

The known messages and where they come from (see ``KNOWN_MARKS``) differ in how the image
reached the encoder. SD 1.x and 2.x pass a uint8 BGR array, as imwatermark's own decoder reads
a file. SDXL and FLUX pass float32 (``255 * image``), and cv2's float conversion centres U on
0.5 instead of 128: read back as uint8, their blocks pick other coefficients and, where U is
negative, inverted bits. They are decoded here in their own convention,
``LL_float ~= (S - 510) / 2`` (the uint8 rounding moves LL by at most 1.5 of the 9 units of
margin the embedder leaves). diffusers before 0.27 handed the encoder RGB instead of BGR
(fixed by diffusers PR #7013), so its SDXL mark sits in the R-B-swapped "U"; that variant is
checked too.

Decision: a message is found when at least ``k`` of its ``n`` decoded bits match, ``k`` the
smallest count that an unmarked image (each bit a fair coin) reaches with probability at most
``false_alarm_per_message`` (1e-3 by default). A hit scores 0.99 artificial and forces the
verdict. No hit is ``unknown``: the mark does not survive resizing, cropping or JPEG, so its
absence says nothing. See ``docs/watermark.md``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction

Convention = Literal["bgr-uint8", "bgr-float", "rgb-float"]
"""How the reference script handed the image to ``WatermarkEncoder.encode``: channel order
and uint8 (cv2 U centred on 128) or float32 (U centred on 0.5)."""

SCALE = 36
"""``EmbedMaxDct`` default ``scales=[0, 36, 36]``: the quantisation step on U."""
MIN_PIXELS = 256 * 256
"""imwatermark's ``encode`` and ``decode`` refuse smaller images (``r * c < 256 * 256``)."""
FULL_DECODE_MAX_PIXELS = 1536 * 1536
"""Up to this many pixels every block is read (the exact imwatermark decode)."""
SAMPLE_PIXELS = 1 << 19
"""Larger images are read on evenly spaced bands of about this many pixels in all (~8,000
blocks: about 60 votes per bit of the 136-bit message, plenty for a majority)."""
FALSE_ALARM_PER_MESSAGE = 1e-3
"""Default chance that an unmarked image reaches a message's threshold."""
AI_SCORE = 0.99

_HAAR = 0.7071067811865476
"""``pywt.Wavelet('haar').dec_lo[0]``, the float64 that pywt multiplies by."""
_FLOAT_OFFSET = 510
"""2 x 2 x 127.5: four uint8 U values (centred on 128) summed, re-centred on 4 x 0.5."""
_BAND_BLOCK_ROWS = 4
"""Block rows per sampled band (32 pixel rows)."""
_CHUNK_BLOCK_ROWS = 8
"""Block rows (64 pixel rows) converted at a time: keeps the temporaries in cache."""
_GRAYSCALE_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


def bits_from_bytes(data: bytes) -> tuple[int, ...]:
    """``WatermarkEncoder.set_by_bytes``: ``np.unpackbits``, most significant bit first."""
    return tuple(int(bit) for byte in data for bit in f"{byte:08b}")


def bits_from_int(value: int) -> tuple[int, ...]:
    """The reference scripts' ``[int(bit) for bit in bin(WATERMARK_MESSAGE)[2:]]``.

    ``bin`` drops leading zeros, so a message written with leading zeros is shorter than its
    literal (FLUX's 48-digit literal gives 46 bits)."""
    return tuple(int(bit) for bit in bin(value)[2:])


@dataclass(frozen=True)
class KnownMark:
    """One message that a public reference pipeline embeds with ``method='dwtDct'``."""

    name: str
    """Unique name of this check."""
    message: str
    """The message as its source names it."""
    generator: str
    bits: tuple[int, ...]
    convention: Convention
    source: str


_SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
_FLUX_MESSAGE = 0b001010101111111010000111100111001111010100101110

KNOWN_MARKS: tuple[KnownMark, ...] = (
    KnownMark(
        name="StableDiffusionV1",
        message="StableDiffusionV1",
        generator="Stable Diffusion 1.x",
        bits=bits_from_bytes(b"StableDiffusionV1"),  # 136 bits
        convention="bgr-uint8",
        source=(
            "CompVis/stable-diffusion scripts/txt2img.py: wm = 'StableDiffusionV1', "
            "set_watermark('bytes', ...), put_watermark(): cv2.cvtColor(np.array(img), COLOR_RGB2BGR), "
            "encode(img, 'dwtDct')"
        ),
    ),
    KnownMark(
        name="SDV2",
        message="SDV2",
        generator="Stable Diffusion 2.x",
        bits=bits_from_bytes(b"SDV2"),  # 32 bits
        convention="bgr-uint8",
        source="Stability-AI/stablediffusion scripts/txt2img.py: wm = 'SDV2', same put_watermark() as SD 1.x",
    ),
    KnownMark(
        name="SDXL",
        message="SDXL",
        generator="Stable Diffusion XL",
        bits=bits_from_int(_SDXL_MESSAGE),  # 48 bits
        convention="bgr-float",
        source=(
            "Stability-AI/generative-models sgm/inference/helpers.py: WATERMARK_MESSAGE = 0b1011...0110, "
            "WatermarkEmbedder encodes (255 * image) float32 in BGR order; diffusers >= 0.27 "
            "src/diffusers/pipelines/stable_diffusion_xl/watermark.py does the same"
        ),
    ),
    KnownMark(
        name="SDXL-rgb",
        message="SDXL",
        generator="Stable Diffusion XL (diffusers before 0.27)",
        bits=bits_from_int(_SDXL_MESSAGE),
        convention="rgb-float",
        source=(
            "diffusers 0.19-0.26 src/diffusers/pipelines/stable_diffusion_xl/watermark.py passed float32 RGB "
            "to the BGR encoder (diffusers issue #6292, fixed by PR #7013)"
        ),
    ),
    KnownMark(
        name="FLUX",
        message="FLUX",
        generator="FLUX.1",
        bits=bits_from_int(_FLUX_MESSAGE),  # 46 bits: bin() drops the two leading zeros
        convention="bgr-float",
        source=(
            "black-forest-labs/flux src/flux/util.py: WATERMARK_MESSAGE = 0b0010...1110 (its own message, "
            "not SDXL's), WatermarkEmbedder encodes (255 * image) float32 in BGR order"
        ),
    ),
)


@lru_cache(maxsize=1024)
def binomial_tail(n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): the chance that an unmarked image, whose decoded
    bits are fair coins, matches ``k`` or more of an ``n``-bit message."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


@lru_cache(maxsize=256)
def min_matching_bits(n: int, false_alarm: float) -> int:
    """The smallest ``k`` with ``binomial_tail(n, k) <= false_alarm``."""
    for k in range(n + 1):
        if binomial_tail(n, k) <= false_alarm:
            return k
    return n + 1


# --------------------------------------------------------------------------- decoding


@dataclass
class BlockVotes:
    """Per-block votes of the decoder, for each convention, on the block rows that were read."""

    block_rows: int
    block_cols: int
    rows: np.ndarray
    """Indices of the block rows read (all of them unless sampled)."""
    votes: dict[Convention, np.ndarray]
    """Boolean ``(len(rows), block_cols)`` per convention."""

    @property
    def sampled(self) -> bool:
        return len(self.rows) < self.block_rows

    @property
    def blocks_read(self) -> int:
        return len(self.rows) * self.block_cols

    def bits(self, convention: Convention, length: int) -> np.ndarray:
        """imwatermark's majority rule: bit k = mean(votes of blocks n with n % length == k)*255 > 127."""
        votes = self.votes[convention]
        index = ((self.rows[:, None] * self.block_cols + np.arange(self.block_cols)) % length).ravel()
        ones = np.bincount(index, weights=votes.ravel(), minlength=length)
        counts = np.bincount(index, minlength=length)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((ones / counts) * 255 > 127)


def _u_plane(rgb: np.ndarray, *, swapped: bool = False) -> np.ndarray:
    """cv2 ``COLOR_BGR2YUV`` channel U of a uint8 RGB array, exactly, as int32:
    ``Y = (R*4899 + G*9617 + B*1868 + 2**13) >> 14``, ``U = ((B - Y)*8061 + 128*2**14 + 2**13) >> 14``.

    ``swapped`` reads the array as if it were BGR: the U that a pipeline which handed RGB to
    the encoder marked."""
    red = rgb[..., 2 if swapped else 0]
    blue = rgb[..., 0 if swapped else 2]
    luma = np.multiply(red, 4899, dtype=np.int32)
    luma += np.multiply(rgb[..., 1], 9617, dtype=np.int32)
    luma += np.multiply(blue, 1868, dtype=np.int32)
    luma += 1 << 13
    luma >>= 14
    u = blue.astype(np.int32)
    u -= luma
    u *= 8061
    u += (128 << 14) + (1 << 13)
    u >>= 14
    return u


def _pair_sums(u: np.ndarray) -> np.ndarray:
    """``S``: the sum of each 2x2 square, twice the haar LL coefficient."""
    s = u[0::2, 0::2] + u[1::2, 0::2]
    s += u[0::2, 1::2]
    s += u[1::2, 1::2]
    return s


def _block_max(t: np.ndarray, block_rows: int, block_cols: int) -> np.ndarray:
    """Largest value of each 4x4 block except its top-left one (``t`` is non-negative; modified)."""
    t[0::4, 0::4] = -1
    return np.asarray(t.reshape(block_rows, 4, block_cols, 4).max(axis=(1, 3)))


def _exact_uint8_votes(u: np.ndarray, block_rows: int, block_cols: int, bi: np.ndarray, bj: np.ndarray) -> np.ndarray:
    """Votes of the given blocks computed with pywt's float64 haar LL, operation for operation
    (``(a*h + c*h)*h + (b*h + d*h)*h``, rows first), for blocks on the ``mod 72 == 36`` boundary."""
    patches = u.reshape(block_rows, 8, block_cols, 8).transpose(0, 2, 1, 3)[bi, bj].astype(np.float64)
    vertical = patches[:, 0::2, :] * _HAAR + patches[:, 1::2, :] * _HAAR
    ll = vertical[:, :, 0::2] * _HAAR + vertical[:, :, 1::2] * _HAAR
    peak = np.abs(ll).reshape(-1, 16)[:, 1:].max(axis=1)
    return np.asarray(peak % SCALE > SCALE / 2)


def votes_from_rgb(rgb: np.ndarray, conventions: tuple[Convention, ...]) -> dict[Convention, np.ndarray]:
    """Per-block votes for an RGB uint8 array whose height and width are multiples of 8."""
    block_rows, block_cols = rgb.shape[0] // 8, rgb.shape[1] // 8
    out: dict[Convention, np.ndarray] = {}
    if "bgr-uint8" in conventions or "bgr-float" in conventions:
        u = _u_plane(rgb)
        s = _pair_sums(u)
        if "bgr-uint8" in conventions:
            peak = _block_max(s.copy(), block_rows, block_cols)
            rest = peak % (2 * SCALE)
            votes = rest > SCALE
            bi, bj = np.nonzero(rest == SCALE)
            if bi.size:
                votes[bi, bj] = _exact_uint8_votes(u, block_rows, block_cols, bi, bj)
            out["bgr-uint8"] = votes
        if "bgr-float" in conventions:
            out["bgr-float"] = _float_votes(s, block_rows, block_cols)
    if "rgb-float" in conventions:
        out["rgb-float"] = _float_votes(_pair_sums(_u_plane(rgb, swapped=True)), block_rows, block_cols)
    return out


def _float_votes(s: np.ndarray, block_rows: int, block_cols: int) -> np.ndarray:
    """Votes in the float32 convention: ``LL_float ~= (S - 510) / 2`` (``s`` is modified)."""
    s -= _FLOAT_OFFSET
    np.abs(s, out=s)
    return np.asarray(_block_max(s, block_rows, block_cols) % (2 * SCALE) > SCALE)


def _read_band(image: Any, top: int, bottom: int, width: int) -> np.ndarray:
    """Pixel rows ``[top, bottom)`` and columns ``[0, width)`` as an RGB uint8 array."""
    region = image if (top, bottom, width) == (0, image.height, image.width) else image.crop((0, top, width, bottom))
    if region.mode != "RGB":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette-with-transparency notices
            region = region.convert("RGB")
    return np.asarray(region)


def _bands(block_rows: int, block_cols: int, full_max: int, sample: int) -> list[tuple[int, int]]:
    """(first block row, block row count) of each band to read."""
    if 64 * block_rows * block_cols <= full_max:
        return [(0, block_rows)]
    height = min(_BAND_BLOCK_ROWS, block_rows)
    count = max(1, math.ceil(sample / (64 * block_cols * height)))
    if count * height >= block_rows:
        return [(0, block_rows)]
    starts = sorted({round(i * (block_rows - height) / max(1, count - 1)) for i in range(count)})
    return [(start, height) for start in starts]


def block_votes(
    image: Any,
    conventions: tuple[Convention, ...] = ("bgr-uint8", "bgr-float", "rgb-float"),
    *,
    full_decode_max_pixels: int = FULL_DECODE_MAX_PIXELS,
    sample_pixels: int = SAMPLE_PIXELS,
) -> BlockVotes:
    """Decode the per-block votes of a PIL image (any colour mode that converts to RGB)."""
    block_rows, block_cols = image.height // 8, image.width // 8
    width = 8 * block_cols
    rows: list[np.ndarray] = []
    parts: dict[Convention, list[np.ndarray]] = {c: [] for c in conventions}
    for start, count in _bands(block_rows, block_cols, full_decode_max_pixels, sample_pixels):
        rgb = _read_band(image, 8 * start, 8 * (start + count), width)
        for first in range(0, count, _CHUNK_BLOCK_ROWS):
            chunk = rgb[8 * first : 8 * min(count, first + _CHUNK_BLOCK_ROWS)]
            for convention, votes in votes_from_rgb(chunk, conventions).items():
                parts[convention].append(votes)
        rows.append(np.arange(start, start + count))
    return BlockVotes(
        block_rows=block_rows,
        block_cols=block_cols,
        rows=np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
        votes={c: np.concatenate(v) if v else np.zeros((0, block_cols), dtype=bool) for c, v in parts.items()},
    )


@dataclass(frozen=True)
class MarkResult:
    mark: KnownMark
    matching: int
    threshold: int
    false_alarm: float

    @property
    def n(self) -> int:
        return len(self.mark.bits)

    @property
    def accuracy(self) -> float:
        return self.matching / self.n

    @property
    def hit(self) -> bool:
        return self.matching >= self.threshold

    @property
    def p_value(self) -> float:
        return binomial_tail(self.n, self.matching)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.mark.name,
            "message": self.mark.message,
            "generator": self.mark.generator,
            "bits": self.n,
            "bit_accuracy": round(self.accuracy, 4),
            "matching_bits": self.matching,
            "threshold": round(self.threshold / self.n, 4),
            "threshold_bits": self.threshold,
            "threshold_false_alarm_probability": float(f"{self.false_alarm:.3g}"),
            "false_alarm_probability": float(f"{self.p_value:.3g}"),
            "hit": self.hit,
        }


def check_marks(votes: BlockVotes, marks: tuple[KnownMark, ...], false_alarm_per_message: float) -> list[MarkResult]:
    results = []
    for mark in marks:
        n = len(mark.bits)
        decoded = votes.bits(mark.convention, n)
        matching = int(np.count_nonzero(decoded == np.asarray(mark.bits, dtype=bool)))
        threshold = min_matching_bits(n, false_alarm_per_message)
        results.append(MarkResult(mark, matching, threshold, binomial_tail(n, threshold)))
    return results


# --------------------------------------------------------------------------- detector


class WatermarkDetector(Detector):
    """Decodes the public dwtDct invisible watermarks of SD 1.x/2.x, SDXL and FLUX; forces
    ``artificial`` when one is found, ``unknown`` otherwise."""

    name = "watermark"
    kind = "provenance"
    version = "1.0"
    relevance = 0.9
    media_types = ("image/",)

    def __init__(
        self,
        *,
        false_alarm_per_message: float = FALSE_ALARM_PER_MESSAGE,
        marks: tuple[KnownMark, ...] = KNOWN_MARKS,
        full_decode_max_pixels: int = FULL_DECODE_MAX_PIXELS,
        sample_pixels: int = SAMPLE_PIXELS,
    ) -> None:
        super().__init__()
        if not 0.0 < false_alarm_per_message < 1.0:
            raise ValueError("false_alarm_per_message must be in (0, 1)")
        self.false_alarm_per_message = false_alarm_per_message
        self.marks = marks
        self.full_decode_max_pixels = full_decode_max_pixels
        self.sample_pixels = sample_pixels

    def _predict(self, media: MediaInput) -> Prediction:
        try:
            image = media.image()
            width, height = int(image.width), int(image.height)
            mode = str(image.mode)
        except Exception as exc:
            return self.unknown_because("image could not be decoded", exc)
        if mode in _GRAYSCALE_MODES:
            return self.unknown(
                f"grayscale image ({mode}): the dwtDct mark is carried by the U colour channel",
                width=width,
                height=height,
            )
        longest = max((len(m.bits) for m in self.marks), default=0)
        if width * height < MIN_PIXELS or (width // 8) * (height // 8) < longest:
            return self.unknown(
                f"image too small for the dwtDct watermark ({width}x{height}; "
                f"the reference encoder needs at least {MIN_PIXELS} pixels)",
                width=width,
                height=height,
            )
        conventions = tuple(dict.fromkeys(m.convention for m in self.marks))
        try:
            votes = block_votes(
                image,
                conventions,
                full_decode_max_pixels=self.full_decode_max_pixels,
                sample_pixels=self.sample_pixels,
            )
        except Exception as exc:  # an exotic mode that does not convert to RGB, memory, ...
            return self.unknown_because("image could not be read for watermark decoding", exc)
        results = check_marks(votes, self.marks, self.false_alarm_per_message)
        family = sum(r.false_alarm for r in results)
        common: dict[str, Any] = {
            "method": "imwatermark dwtDct (U channel, haar LL, 4x4 blocks)",
            "messages": [r.as_dict() for r in results],
            "blocks_read": votes.blocks_read,
            "blocks_total": votes.block_rows * votes.block_cols,
            "sampled": votes.sampled,
            "false_alarm_probability_all_messages": float(f"{family:.3g}"),
        }
        hits = [r for r in results if r.hit]
        if not hits:
            best = max(results, key=lambda r: r.accuracy)
            return self.unknown(
                f"no known invisible watermark (best bit accuracy {best.accuracy:.2f})",
                best_bit_accuracy=round(best.accuracy, 4),
                best_message=best.mark.name,
                **common,
            )
        found = min(hits, key=lambda r: r.p_value)
        details = {
            "reason": (f"{found.mark.generator} invisible watermark decoded ({found.accuracy:.0%} of {found.n} bits)"),
            "message": found.mark.message,
            "generator": found.mark.generator,
            "bit_accuracy": round(found.accuracy, 4),
            "threshold": round(found.threshold / found.n, 4),
            "bits": found.n,
            "false_alarm_probability": float(f"{found.p_value:.3g}"),
            "threshold_false_alarm_probability": float(f"{found.false_alarm:.3g}"),
            "source": found.mark.source,
            **common,
        }
        return Prediction(model=self.name, artificial=AI_SCORE, details=details, forces="artificial")
