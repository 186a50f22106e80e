"""Run the served analysis over a labelled manifest: load it, analyse every file, perturb.

Each file goes through exactly what the worker does (sniff the type from the content,
decode with the pixel limit, :func:`originlens.pipeline.analyse_media`), so what is measured
is what is served. The detector sees the file's SHA-256 as its name, as in the service, so
no file name (``..._fake.png``) can leak the label.

Nothing here computes metrics: :mod:`originlens.evaluation.report` turns the
:class:`EvaluationRun` into numbers.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from originlens import __version__
from originlens.detectors.base import MediaInput
from originlens.detectors.registry import DetectorRegistry
from originlens.media.images import ImageError, decode_image, sniff_image_type
from originlens.pipeline import analyse_media
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC, HEURISTICS

LABELS = ("human", "artificial")
MANIFEST_COLUMNS = ("file", "label", "generator", "source_repo", "source_path", "license", "notes")

ProgressCallback = Callable[[str], None]
"""Called once per manifest row, after the row is done, with the row's file name."""


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class ManifestRow:
    file: str
    """As written in the manifest: relative to the manifest's folder."""
    label: str
    """``human``, ``artificial`` or ``""`` (do not score)."""
    generator: str
    path: Path
    source_repo: str = ""

    @property
    def source(self) -> str:
        """The first two path components, e.g. ``ai/comfyui`` or ``real/exif-samples``."""
        return "/".join(Path(self.file).parts[:2])

    @property
    def labelled(self) -> bool:
        return self.label in LABELS


def load_manifest(manifest: str | Path, limit: int | None = None) -> list[ManifestRow]:
    """Read ``MANIFEST.csv``; ``limit`` keeps the first N rows (in file order)."""
    manifest = Path(manifest)
    root = manifest.resolve().parent
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{manifest}: the manifest lacks the column(s) {', '.join(sorted(missing))}")
        rows = []
        for record in reader:
            file = (record.get("file") or "").strip()
            if not file:
                continue
            label = (record.get("label") or "").strip().lower()
            rows.append(
                ManifestRow(
                    file=file,
                    label=label,
                    generator=(record.get("generator") or "").strip(),
                    path=root / file,
                    source_repo=(record.get("source_repo") or "").strip(),
                )
            )
            if limit is not None and len(rows) >= limit:
                break
    return rows


# --------------------------------------------------------------------------- transformations


PERTURBATIONS: tuple[str, ...] = ("jpeg75", "jpeg90", "half", "crop50")
PERTURBATION_HELP = {
    "jpeg75": "re-encoded as JPEG quality 75",
    "jpeg90": "re-encoded as JPEG quality 90",
    "half": "resized to 50% of each side (Lanczos)",
    "crop50": "centre crop keeping 50% of each side",
}
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})
RESAVE_JPEG_QUALITY = 95
"""Quality used when ``half``/``crop50`` re-save a JPEG source as JPEG."""


def _png_ready(image: Image.Image) -> Image.Image:
    """A metadata-free copy of the pixels in a mode PNG can store, mode kept where possible.

    Transparency that lives in ``info`` (palette or colour-key ``tRNS``) is pixel data, not
    metadata, so such images become ``RGBA``/``LA`` before ``info`` is dropped.
    """
    if "transparency" in image.info and image.mode in {"P", "RGB", "L", "1"}:
        with warnings.catch_warnings():  # "convert to RGBA": what this does
            warnings.simplefilter("ignore", UserWarning)
            image = image.convert("LA" if image.mode in {"L", "1"} else "RGBA")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    elif image.mode == "F":
        image = image.convert("I")
    elif image.mode not in _PNG_MODES:
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    else:
        image = image.copy()
    image.info = {}
    return image


def _png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Only pixels: no pnginfo, exif, icc_profile or dpi; info was emptied by _png_ready.
    _png_ready(image).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """JPEG has no alpha: transparent pixels keep their underlying colour, as ``convert`` does."""
    image = _png_ready(image)  # a copy with no info, palette transparency made explicit
    if image.mode not in {"L", "RGB"}:
        image = image.convert("L" if image.mode in {"1", "LA", "I", "I;16"} else "RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def strip_metadata(image: Image.Image) -> bytes:
    """The (first frame's) pixels as a lossless PNG with no metadata at all."""
    return _png_bytes(image)


def _resave(image: Image.Image, source_format: str) -> bytes:
    """Re-save a geometrically changed image in the source's container family, with no metadata:
    JPEG sources as JPEG (quality :data:`RESAVE_JPEG_QUALITY`), everything else as lossless PNG.
    Keeping the container avoids turning camera JPEGs into PNGs (eval README caveat 4)."""
    if source_format == "image/jpeg":
        return _jpeg_bytes(image, RESAVE_JPEG_QUALITY)
    return _png_bytes(image)


def perturb(image: Image.Image, name: str, source_format: str) -> bytes:
    """Apply the named perturbation to the (first frame's) pixels; the result carries no metadata."""
    if name == "jpeg75":
        return _jpeg_bytes(image, 75)
    if name == "jpeg90":
        return _jpeg_bytes(image, 90)
    width, height = image.size
    if name == "half":
        # Lanczos needs real channels: palette and bilevel images would silently get NEAREST.
        base = _png_ready(image)
        if base.mode in {"P", "1"}:
            base = base.convert("RGB" if base.mode == "P" else "L")
        return _resave(base.resize((max(1, width // 2), max(1, height // 2)), Image.Resampling.LANCZOS), source_format)
    if name == "crop50":
        new_w, new_h = max(1, width // 2), max(1, height // 2)
        left, top = (width - new_w) // 2, (height - new_h) // 2
        return _resave(image.crop((left, top, left + new_w, top + new_h)), source_format)
    raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")


def parse_perturbations(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"jpeg75,half"`` (or a list) to a checked tuple, in the order given, without repeats."""
    if not spec:
        return ()
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        if not name:
            continue
        if name not in PERTURBATIONS:
            raise ValueError(f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}")
        if name not in names:
            names.append(name)
    return tuple(names)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DetectorScore:
    model: str
    kind: str
    artificial: float
    unknown: bool
    reason: str | None = None


@dataclass(frozen=True)
class VerdictRecord:
    classification: str
    confidence: float
    unknown: bool
    evidence: str
    forced_by: str | None

    @property
    def score(self) -> float:
        """The verdict as an artificial score: the confidence of an artificial verdict, else 1 - it."""
        return self.confidence if self.classification == "artificial" else 1.0 - self.confidence


@dataclass
class Analysis:
    """One analysis of one file's bytes (the original, the stripped copy or a perturbed copy)."""

    mime_type: str
    detectors: dict[str, DetectorScore]
    verdict: VerdictRecord | None
    error: str | None = None

    @property
    def covered(self) -> bool:
        return self.verdict is not None and not self.verdict.unknown


@dataclass
class FileResult:
    row: ManifestRow
    status: str
    """``analysed``, ``skipped`` or ``error``."""
    reason: str | None = None
    mime_type: str | None = None
    baseline: Analysis | None = None
    perturbed: dict[str, Analysis] = field(default_factory=dict)


@dataclass
class EvaluationRun:
    config: dict[str, Any]
    files: list[FileResult]
    detectors: list[dict[str, Any]]


def _verdict_record(verdict: dict[str, Any] | None) -> VerdictRecord | None:
    if verdict is None:
        return None
    return VerdictRecord(
        classification=str(verdict.get("classification", "human")),
        confidence=float(verdict.get("confidence", 0.5)),
        unknown=bool(verdict.get("unknown", False)),
        evidence=str(verdict.get("evidence", "none")),
        forced_by=verdict.get("forced_by"),
    )


def _artificial_score(result: dict[str, Any]) -> float:
    for entry in result.get("classification", []):
        if entry.get("label") == "artificial":
            return float(entry["score"])
    raise ValueError(f"{result.get('model')}: the result has no artificial score")


def analyse_bytes(
    registry: DetectorRegistry,
    data: bytes,
    heuristic: str,
    max_image_pixels: int,
    decoded: Image.Image | None = None,
) -> Analysis:
    """What the worker does with one stored file, reduced to the numbers the report needs."""
    mime = sniff_image_type(data[:16]) or ""
    if not mime:
        return Analysis(mime_type="", detectors={}, verdict=None, error="not an accepted image format")
    if decoded is None:
        decoded = decode_image(data, max_image_pixels)
    media = MediaInput(data=data, mime_type=mime, name=hashlib.sha256(data).hexdigest(), decoded=decoded)
    outcome = analyse_media(registry, media)
    detectors = {}
    for result in outcome.results:
        details = result.get("classification_details") or {}
        detectors[result["model"]] = DetectorScore(
            model=result["model"],
            kind=str(result.get("kind", "statistical")),
            artificial=_artificial_score(result),
            unknown=bool(result.get("unknown", False)),
            reason=str(details["reason"]) if details.get("reason") else None,
        )
    return Analysis(mime_type=mime, detectors=detectors, verdict=_verdict_record(outcome.verdict(heuristic)))


def _analyse_row(
    registry: DetectorRegistry,
    row: ManifestRow,
    *,
    heuristic: str,
    strip: bool,
    perturbations: Sequence[str],
    max_image_pixels: int,
) -> FileResult:
    if not row.labelled:
        reason = "no label (do not score)" if not row.label else f"unknown label {row.label!r}"
        return FileResult(row, "skipped", reason=reason)
    try:
        data = row.path.read_bytes()
    except OSError as exc:
        return FileResult(row, "error", reason=f"cannot read the file: {type(exc).__name__}: {exc.strerror or exc}")
    mime = sniff_image_type(data[:16])
    if mime is None:
        return FileResult(row, "skipped", reason="not an accepted image format (e.g. video, XML, HEIC)")
    try:
        image = decode_image(data, max_image_pixels)
    except ImageError as exc:
        return FileResult(row, "error", reason=f"the image could not be decoded: {exc}", mime_type=mime)
    result = FileResult(row, "analysed", mime_type=mime)
    try:
        perturbed_bytes = {name: perturb(image, name, mime) for name in perturbations}
        if strip:
            stripped = strip_metadata(image)
            result.baseline = analyse_bytes(registry, stripped, heuristic, max_image_pixels)
        else:
            result.baseline = analyse_bytes(registry, data, heuristic, max_image_pixels, decoded=image)
    except Exception as exc:  # one bad file must not end a long run
        return FileResult(row, "error", reason=f"the analysis failed: {type(exc).__name__}: {exc}", mime_type=mime)
    for name, copy in perturbed_bytes.items():
        try:
            result.perturbed[name] = analyse_bytes(registry, copy, heuristic, max_image_pixels)
        except Exception as exc:
            result.perturbed[name] = Analysis(
                mime_type="", detectors={}, verdict=None, error=f"{type(exc).__name__}: {exc}"
            )
    return result


def describe_detectors(registry: DetectorRegistry) -> list[dict[str, Any]]:
    return [
        {
            "name": d.name,
            "version": d.version,
            "kind": d.kind,
            "obsolete": d.obsolete,
            "relevance": d.relevance,
        }
        for d in registry
        if d.option is None  # option analyses never run here (no options are asked): see evaluation-options.md
    ]


def run_evaluation(
    manifest: str | Path,
    *,
    registry: DetectorRegistry | None = None,
    heuristic: str = DEFAULT_HEURISTIC,
    strip_metadata: bool = False,
    perturbations: str | Sequence[str] | None = None,
    limit: int | None = None,
    max_image_pixels: int | None = None,
    progress: Callable[[int], ProgressCallback] | None = None,
) -> EvaluationRun:
    """Analyse every row of ``manifest``; ``registry`` defaults to the service's own.

    ``progress`` is called once with the number of rows and returns the per-row callback.
    """
    if heuristic not in HEURISTICS:
        raise ValueError(f"unknown heuristic {heuristic!r}; choose one of {', '.join(HEURISTICS)}")
    names = parse_perturbations(perturbations)
    if registry is None or max_image_pixels is None:
        from originlens.settings import Settings

        settings = Settings()
        if max_image_pixels is None:
            max_image_pixels = settings.max_image_pixels
        if registry is None:
            from originlens.container import build_registry

            registry = build_registry(settings)
    rows = load_manifest(manifest, limit)
    started = time.perf_counter()
    step = progress(len(rows)) if progress else None
    files = []
    for row in rows:
        files.append(
            _analyse_row(
                registry,
                row,
                heuristic=heuristic,
                strip=strip_metadata,
                perturbations=names,
                max_image_pixels=max_image_pixels,
            )
        )
        if step:
            step(row.file)
    elapsed = time.perf_counter() - started
    import PIL

    config = {
        "manifest": str(manifest),
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "originlens_version": __version__,
        "heuristic": heuristic,
        "strip_metadata": strip_metadata,
        "perturbations": list(names),
        "limit": limit,
        "max_image_pixels": max_image_pixels,
        "rows": len(rows),
        "elapsed_s": round(elapsed, 2),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
    }
    return EvaluationRun(config=config, files=files, detectors=describe_detectors(registry))


# --------------------------------------------------------------------------- progress bar


@contextlib.contextmanager
def terminal_progress(enabled: bool = True) -> Iterator[Callable[[int], ProgressCallback] | None]:
    """A progress bar on stderr: ``rich`` when it is installed, else a carriage-return bar."""
    if not enabled:
        yield None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
    except ImportError:
        yield _plain_progress
        sys.stderr.write("\n")
        return
    with Progress(
        TextColumn("[bold]eval[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}", style="dim"),
        console=Console(stderr=True),
        transient=False,
    ) as bar:

        def start(total: int) -> ProgressCallback:
            task = bar.add_task("", total=total)

            def step(name: str) -> None:
                bar.update(task, advance=1, description=name[-50:])

            return step

        yield start


def _plain_progress(total: int) -> ProgressCallback:
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\reval [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[-40:]:<40}")
        sys.stderr.flush()

    return step
