#!/usr/bin/env python3
"""Make the invisible-watermark test fixtures with the reference encoder (run by hand, not by CI).

Each fixture is a 256x256 crop of a public-domain or CC0 photo from ``shared/eval`` marked by
``invisible-watermark`` 0.2.0 exactly as one public pipeline marks its outputs (same message,
same dtype and channel order, same conversion back to 8 bits), saved as PNG.
``tests/fixtures/watermark/fixtures.json`` lists what each one carries and what the reference
decoder reads back from the saved file; ``tests/unit/test_watermark_detector.py`` checks
originlens's decoder against it.

torch is not needed: ``imwatermark/__init__`` imports ``rivaGan.py``, which imports torch, so
when torch is missing a stand-in ``imwatermark.rivaGan`` module is registered first (dwtDct
never uses it). In a throw-away virtual environment::

    python3.11 -m venv /tmp/wm
    /tmp/wm/bin/pip install --no-deps invisible-watermark==0.2.0
    /tmp/wm/bin/pip install "opencv-python-headless>=4.10,<5" PyWavelets numpy pillow
    /tmp/wm/bin/python scripts/make_watermark_fixtures.py

(``pip install torch==2.13.0`` instead of the stand-in works too.) The output is deterministic
for a given set of package versions; the versions used are recorded in the JSON.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL = REPO.parent / "shared" / "eval"
DEFAULT_OUT = REPO / "tests" / "fixtures" / "watermark"

# Messages, as the reference code builds them (see src/originlens/detectors/watermark.py).
SD1_BYTES = b"StableDiffusionV1"  # CompVis/stable-diffusion scripts/txt2img.py
SDV2_BYTES = b"SDV2"  # Stability-AI/stablediffusion scripts/txt2img.py
SDXL_BITS = [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]  # sgm/inference/helpers.py
FLUX_BITS = [int(b) for b in bin(0b001010101111111010000111100111001111010100101110)[2:]]  # flux src/flux/util.py


def import_imwatermark() -> tuple[Any, Any]:
    """``WatermarkEncoder`` and ``WatermarkDecoder`` from the installed package, without torch."""
    try:
        import torch  # noqa: F401
    except ImportError:
        stand_in = types.ModuleType("imwatermark.rivaGan")

        class RivaWatermark:  # rivaGan needs torch; dwtDct never touches it
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                raise RuntimeError("rivaGan is not available without torch")

        stand_in.RivaWatermark = RivaWatermark  # type: ignore[attr-defined]
        sys.modules["imwatermark.rivaGan"] = stand_in
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    return WatermarkEncoder, WatermarkDecoder


WatermarkEncoder, WatermarkDecoder = import_imwatermark()
import cv2  # noqa: E402  (imwatermark brings OpenCV; imported after it on purpose)


def _encoder(kind: str, content: Any) -> Any:
    encoder = WatermarkEncoder()
    encoder.set_watermark(kind, content)
    return encoder


# Each pipeline takes the "model output" as an RGB uint8 array and returns the RGB uint8 array
# that the reference code would save.


def sd_put_watermark(rgb: np.ndarray, message: bytes) -> np.ndarray:
    """CompVis/stable-diffusion and Stability-AI/stablediffusion scripts/txt2img.py ``put_watermark``:
    ``cv2.cvtColor(np.array(img), COLOR_RGB2BGR)``, ``encode(img, 'dwtDct')``, ``img[:, :, ::-1]``."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    out = _encoder("bytes", message).encode(bgr, "dwtDct")
    return np.ascontiguousarray(out[:, :, ::-1])


def sgm_embed(rgb: np.ndarray) -> np.ndarray:
    """Stability-AI/generative-models sgm/inference/helpers.py ``WatermarkEmbedder`` then
    ``perform_save_locally``: ``(255 * image)`` float32 in BGR order, ``clamp(image / 255, 0, 1)``,
    then ``(255.0 * sample).astype(np.uint8)``."""
    image = rgb.astype(np.float32) / np.float32(255.0)  # the decoder's output in [0, 1]
    image_np = np.ascontiguousarray((np.float32(255) * image)[:, :, ::-1])
    out = _encoder("bits", SDXL_BITS).encode(image_np, "dwtDct")[:, :, ::-1]
    image = np.clip(out / np.float32(255), 0.0, 1.0).astype(np.float32)
    return (np.float32(255.0) * image).astype(np.uint8)


def diffusers_sdxl_before_0_27(rgb: np.ndarray) -> np.ndarray:
    """diffusers 0.19-0.26 ``StableDiffusionXLWatermarker.apply_watermark`` (RGB handed to the BGR
    encoder), then the pipeline's ``postprocess``: ``(images / 2 + 0.5).clamp(0, 1)``,
    ``(images * 255).round().astype('uint8')``."""
    images = rgb.astype(np.float32) / np.float32(127.5) - np.float32(1.0)  # decoder output in [-1, 1]
    images = (np.float32(255) * (images / np.float32(2) + np.float32(0.5))).astype(np.float32)
    out = _encoder("bits", SDXL_BITS).encode(np.ascontiguousarray(images), "dwtDct")
    images = np.clip(np.float32(2) * (out / np.float32(255) - np.float32(0.5)), -1.0, 1.0)
    images = np.clip(images / np.float32(2) + np.float32(0.5), 0.0, 1.0).astype(np.float32)
    return np.round(images * np.float32(255)).astype(np.uint8)


def flux_embed(rgb: np.ndarray) -> np.ndarray:
    """black-forest-labs/flux src/flux/util.py ``WatermarkEmbedder`` then cli.py's save:
    ``0.5 * x + 0.5``, ``(255 * image)`` float32 in BGR order, ``clamp(image / 255, 0, 1)``,
    ``2 * image - 1``, then ``(127.5 * (x + 1.0)).byte()``."""
    x = rgb.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    image = np.float32(0.5) * x + np.float32(0.5)
    image_np = np.ascontiguousarray((np.float32(255) * image)[:, :, ::-1])
    out = _encoder("bits", FLUX_BITS).encode(image_np, "dwtDct")[:, :, ::-1]
    image = np.clip(out / np.float32(255), 0.0, 1.0).astype(np.float32)
    x = np.clip(np.float32(2) * image - np.float32(1), -1.0, 1.0)
    return np.trunc(np.float32(127.5) * (x + np.float32(1.0))).astype(np.uint8)


def bits_of(message: bytes) -> list[int]:
    return [int(b) for byte in message for b in f"{byte:08b}"]


@dataclass(frozen=True)
class Spec:
    file: str
    source: str
    """Photo in shared/eval."""
    box: tuple[int, int, int, int]
    """Crop (left, upper, right, lower)."""
    pipeline: Callable[[np.ndarray], np.ndarray]
    check: str
    """The detector's name for the message (``KNOWN_MARKS``)."""
    bits: list[int]
    convention: str
    how: str


SPECS = [
    Spec(
        "sd1_rocket_256.png",
        "real/pypi-scikit-image/rocket.jpg",
        (256, 0, 512, 256),
        lambda rgb: sd_put_watermark(rgb, SD1_BYTES),
        "StableDiffusionV1",
        bits_of(SD1_BYTES),
        "bgr-uint8",
        "CompVis/stable-diffusion scripts/txt2img.py put_watermark (uint8 BGR)",
    ),
    Spec(
        "sdv2_retina_256.png",
        "real/pypi-scikit-image/retina.jpg",
        (832, 576, 1088, 832),
        lambda rgb: sd_put_watermark(rgb, SDV2_BYTES),
        "SDV2",
        bits_of(SDV2_BYTES),
        "bgr-uint8",
        "Stability-AI/stablediffusion scripts/txt2img.py put_watermark (uint8 BGR)",
    ),
    Spec(
        "sdxl_astronaut_256.png",
        "real/pypi-scikit-image/astronaut.png",
        (256, 256, 512, 512),
        sgm_embed,
        "SDXL",
        SDXL_BITS,
        "bgr-float",
        "Stability-AI/generative-models sgm/inference/helpers.py WatermarkEmbedder (float32 BGR)",
    ),
    Spec(
        "sdxl_rgb_retina_256.png",
        "real/pypi-scikit-image/retina.jpg",
        (1152, 192, 1408, 448),
        diffusers_sdxl_before_0_27,
        "SDXL-rgb",
        SDXL_BITS,
        "rgb-float",
        "diffusers 0.19-0.26 StableDiffusionXLWatermarker (float32, RGB handed to the BGR encoder)",
    ),
    Spec(
        "flux_rocket_256.png",
        "real/pypi-scikit-image/rocket.jpg",
        (64, 64, 320, 320),
        flux_embed,
        "FLUX",
        FLUX_BITS,
        "bgr-float",
        "black-forest-labs/flux src/flux/util.py WatermarkEmbedder (float32 BGR)",
    ),
]


def reference_decode(rgb: np.ndarray, length: int, convention: str) -> np.ndarray:
    """What ``WatermarkDecoder('bits', length).decode(..., 'dwtDct')`` reads, given the array in
    the form the pipeline handed to the encoder (uint8 BGR, float32 BGR, or float32 RGB)."""
    if convention == "bgr-uint8":
        array = np.ascontiguousarray(rgb[:, :, ::-1])
    elif convention == "bgr-float":
        array = np.ascontiguousarray(rgb[:, :, ::-1]).astype(np.float32)
    else:
        array = rgb.astype(np.float32)
    return np.asarray(WatermarkDecoder("bits", length).decode(array, "dwtDct"), dtype=bool)


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="shared/eval folder (source photos)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the fixtures")
    args = parser.parse_args(argv)

    licences = {row["file"]: row["license"] for row in csv.DictReader((args.eval / "MANIFEST.csv").open())}
    args.out.mkdir(parents=True, exist_ok=True)
    entries = []
    total = 0
    for spec in SPECS:
        file, source, box, name, bits, convention = (
            spec.file,
            spec.source,
            spec.box,
            spec.check,
            spec.bits,
            spec.convention,
        )
        crop = np.asarray(Image.open(args.eval / source).convert("RGB").crop(box))
        marked = spec.pipeline(crop.copy())
        buffer = io.BytesIO()
        Image.fromarray(marked).save(buffer, "PNG", optimize=True)
        data = buffer.getvalue()
        (args.out / file).write_bytes(data)
        total += len(data)
        saved = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        message = np.asarray(bits, dtype=bool)
        own = reference_decode(saved, len(bits), convention)
        plain = reference_decode(saved, len(bits), "bgr-uint8")
        entries.append(
            {
                "file": file,
                "check": name,
                "bits": "".join(map(str, bits)),
                "convention": convention,
                "pipeline": spec.how,
                "source": source,
                "source_license": licences.get(source, "see shared/eval/MANIFEST.csv"),
                "crop_box": list(box),
                "size": list(marked.shape[1::-1]),
                "reference_bits": "".join("1" if b else "0" for b in own),
                "reference_bit_accuracy": round(float(np.mean(own == message)), 4),
                "reference_uint8_bit_accuracy": round(float(np.mean(plain == message)), 4),
            }
        )
        print(f"{file}: {len(data)} bytes, reference bit accuracy {entries[-1]['reference_bit_accuracy']}")
    manifest = {
        "about": (
            "Crops of public-domain / CC0 photos from shared/eval marked with invisible-watermark's dwtDct "
            "encoder the way each pipeline does; made by scripts/make_watermark_fixtures.py. "
            "reference_bit_accuracy: imwatermark's own decoder on the saved PNG, given the array as the "
            "pipeline gave it to the encoder; reference_uint8_bit_accuracy: the same decoder on the file "
            "read as uint8 BGR (cv2.imread)."
        ),
        "versions": {
            "invisible-watermark": version("invisible-watermark"),
            "opencv": cv2.__version__,
            "PyWavelets": version("PyWavelets"),
            "numpy": np.__version__,
            "Pillow": version("pillow"),
        },
        "fixtures": entries,
    }
    (args.out / "fixtures.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"total {total} bytes in {len(entries)} PNGs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
