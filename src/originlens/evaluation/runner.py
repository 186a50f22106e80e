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
import functools
import hashlib
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from PIL import Image

from originlens import __version__
from originlens.detectors.base import Detector, MediaInput
from originlens.detectors.registry import DetectorRegistry
from originlens.evaluation.perturbations import (
    ALIGN_HELP,
    ALIGN_MODES,
    PERTURBATION_HELP,
    PERTURBATIONS,
    align_image,
    parse_align,
    parse_perturbations,
    perturb,
    strip_metadata,
)
from originlens.media.images import ImageError, decode_image, sniff_image_type
from originlens.pipeline import analyse_media
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC, HEURISTICS

LABELS = ("human", "artificial")
MANIFEST_COLUMNS = ("file", "label", "generator", "source_repo", "source_path", "license", "notes")

ProgressCallback = Callable[[str], None]
"""Called once per manifest row, after the row is done, with the row's file name."""


class LabelledRow(Protocol):
    """What the shared harness reads of a manifest row, image (:class:`ManifestRow`) or audio."""

    @property
    def file(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def labelled(self) -> bool: ...


RowT = TypeVar("RowT", bound=LabelledRow)
ResultT = TypeVar("ResultT")

__all__ = [  # the transformations live in perturbations.py; re-exported for existing callers
    "ALIGN_HELP",
    "ALIGN_MODES",
    "PERTURBATIONS",
    "PERTURBATION_HELP",
    "Analysis",
    "EvaluationRun",
    "FileResult",
    "ManifestRow",
    "align_image",
    "analyse_bytes",
    "load_manifest",
    "parse_align",
    "parse_perturbations",
    "perturb",
    "run_evaluation",
    "strip_metadata",
    "terminal_progress",
]


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
    notes: str = ""
    """Free text: source commit and checks on the file (EXIF Make/Model, chunks...); read by
    :func:`originlens.evaluation.families.family_of`."""

    @property
    def source(self) -> str:
        """The first two path components, e.g. ``ai/comfyui`` or ``real/exif-samples``."""
        return "/".join(Path(self.file).parts[:2])

    @property
    def labelled(self) -> bool:
        return self.label in LABELS


def load_manifest(manifest: str | Path, limit: int | None = None) -> list[ManifestRow]:
    """Read ``MANIFEST.csv``; ``limit`` keeps the first N rows (in file order)."""

    def row(file: str, label: str, path: Path, record: dict[str, str]) -> ManifestRow:
        return ManifestRow(
            file=file,
            label=label,
            generator=manifest_field(record, "generator"),
            path=path,
            source_repo=manifest_field(record, "source_repo"),
            notes=manifest_field(record, "notes"),
        )

    return read_manifest(manifest, ("file", "label"), row, limit)


def read_manifest(
    manifest: str | Path,
    required: Sequence[str],
    make_row: Callable[[str, str, Path, dict[str, str]], RowT],
    limit: int | None = None,
    *,
    what: str = "manifest",
) -> list[RowT]:
    """The rows of a labelled ``MANIFEST.csv`` (image or audio), in file order, ``limit`` at most.

    ``make_row(file, label, path, record)`` builds each row from the file as written, its label
    (stripped, lower case), its path (relative to the manifest's folder) and the whole CSV
    record; rows without a file are passed over.
    """
    manifest = Path(manifest)
    root = manifest.resolve().parent
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(required) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{manifest}: the {what} lacks the column(s) {', '.join(sorted(missing))}")
        rows = []
        for record in reader:
            file = manifest_field(record, "file")
            if not file:
                continue
            rows.append(make_row(file, manifest_field(record, "label").lower(), root / file, record))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def manifest_field(record: dict[str, str], column: str) -> str:
    """A CSV cell, stripped; ``""`` when the column or the cell is missing."""
    return (record.get(column) or "").strip()


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
class RowResult(Generic[RowT]):
    """One manifest row's outcome, image (:class:`FileResult`) or audio: what the shared report code reads."""

    row: RowT
    status: str
    """``analysed``, ``skipped`` or ``error``."""
    reason: str | None = None
    mime_type: str | None = None


@dataclass
class FileResult(RowResult[ManifestRow]):
    baseline: Analysis | None = None
    perturbed: dict[str, Analysis] = field(default_factory=dict)
    video: bool = False
    """The content is a video: never aligned (left as it is), and skipped by this harness."""


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
    return scored_analysis(mime, outcome.results, outcome.verdict(heuristic))


def scored_analysis(mime: str, results: Sequence[dict[str, Any]], verdict: dict[str, Any] | None) -> Analysis:
    """An analysis (image or recording) reduced to the numbers the reports need: each
    detector's artificial score and the verdict."""
    detectors = {}
    for result in results:
        details = result.get("classification_details") or {}
        detectors[result["model"]] = DetectorScore(
            model=result["model"],
            kind=str(result.get("kind", "statistical")),
            artificial=_artificial_score(result),
            unknown=bool(result.get("unknown", False)),
            reason=str(details["reason"]) if details.get("reason") else None,
        )
    return Analysis(mime_type=mime, detectors=detectors, verdict=_verdict_record(verdict))


def _analyse_row(
    registry: DetectorRegistry,
    row: ManifestRow,
    *,
    heuristic: str,
    strip: bool,
    perturbations: Sequence[str],
    max_image_pixels: int,
    align: str = "none",
) -> FileResult:
    if not row.labelled:
        return FileResult(row, "skipped", reason=skip_reason(row))
    try:
        data = row.path.read_bytes()
    except OSError as exc:
        return FileResult(row, "error", reason=f"cannot read the file: {type(exc).__name__}: {exc.strerror or exc}")
    mime = sniff_image_type(data[:16])
    if mime is None:
        from originlens.media.video import SNIFF_BYTES, sniff_video_type  # PyAV loads only when needed

        reason = "not an accepted image format (e.g. video, XML, HEIC)"
        return FileResult(row, "skipped", reason=reason, video=sniff_video_type(data[:SNIFF_BYTES]) is not None)
    try:
        image = decode_image(data, max_image_pixels)
    except ImageError as exc:
        return FileResult(row, "error", reason=f"the image could not be decoded: {exc}", mime_type=mime)
    result = FileResult(row, "analysed", mime_type=mime)
    try:
        if align != "none":
            # Both classes re-encoded identically; the aligned JPEG is what is analysed and perturbed.
            data = align_image(image, align)
            mime = "image/jpeg"
            image = decode_image(data, max_image_pixels)
            strip = False  # the re-encode kept no metadata: stripping again would only change the container
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


def skip_reason(row: LabelledRow) -> str:
    """Why a row without a usable label is not scored."""
    return "no label (do not score)" if not row.label else f"unknown label {row.label!r}"


def describe_detectors(
    registry: DetectorRegistry, keep: Callable[[Detector], bool] | None = None
) -> list[dict[str, Any]]:
    """The detectors a report lists: those ``keep`` accepts, by default the image detectors but
    the option analyses, which never run here (no options are asked): see evaluation-options.md."""
    return [
        {
            "name": d.name,
            "version": d.version,
            "kind": d.kind,
            "obsolete": d.obsolete,
            "relevance": d.relevance,
        }
        for d in registry
        if (keep(d) if keep is not None else d.option is None and "image" in d.modalities)
    ]


def check_heuristic(heuristic: str) -> None:
    if heuristic not in HEURISTICS:
        raise ValueError(f"unknown heuristic {heuristic!r}; choose one of {', '.join(HEURISTICS)}")


def analyse_rows(
    rows: Sequence[RowT],
    analyse: Callable[[RowT], ResultT],
    progress: Callable[[int], ProgressCallback] | None,
) -> tuple[list[ResultT], float]:
    """Every row through ``analyse``, in order, the progress bar stepped after each; returns
    the results and the seconds it took."""
    started = time.perf_counter()
    step = progress(len(rows)) if progress else None
    results = []
    for row in rows:
        results.append(analyse(row))
        if step:
            step(row.file)
    return results, time.perf_counter() - started


def run_date() -> str:
    """The run's date for the report: UTC, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


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
    align: str = "none",
) -> EvaluationRun:
    """Analyse every row of ``manifest``; ``registry`` defaults to the service's own.

    ``align`` (``jpeg90``, ``half-jpeg90``) re-encodes every image of both classes the same way
    before the analysis (:func:`~originlens.evaluation.perturbations.align_image`); the
    perturbations then start from the aligned image. ``progress`` is called once with the
    number of rows and returns the per-row callback.
    """
    check_heuristic(heuristic)
    align = parse_align(align)
    names = parse_perturbations(perturbations)
    if registry is None or max_image_pixels is None:
        from originlens.settings import Settings

        settings = Settings()
        if max_image_pixels is None:
            max_image_pixels = settings.max_image_pixels
        if registry is None:
            from originlens.container import build_registry

            registry = build_registry(settings)
    analyse = functools.partial(
        _analyse_row,
        registry,
        heuristic=heuristic,
        strip=strip_metadata,
        perturbations=names,
        max_image_pixels=max_image_pixels,
        align=align,
    )
    files, elapsed = analyse_rows(load_manifest(manifest, limit), analyse, progress)
    import PIL

    config = {
        "manifest": str(manifest),
        "date": run_date(),
        "originlens_version": __version__,
        "heuristic": heuristic,
        "strip_metadata": strip_metadata or align != "none",
        "align": align,
        "align_description": ALIGN_HELP[align],
        "perturbations": list(names),
        "limit": limit,
        "max_image_pixels": max_image_pixels,
        "rows": len(files),
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
