"""``originlens models list``: every model this installation knows, without loading any.

The list is the registry as configured, plus the built-ins the settings disable, the
experimental detectors that ship off by default, and the face finder. Static facts come from
``detectors.catalog``; sizes are read from the weight files on disk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from originlens.detectors.catalog import EXPERIMENTAL_DETECTORS, FACE_FINDER, MissingCatalogEntryError, entry
from originlens.detectors.weights import ModelFileError
from originlens.settings import Settings


@dataclass
class ModelInfo:
    name: str
    version: str
    kind: str
    """``provenance`` and ``statistical`` vote on "made by AI?"; ``auxiliary`` answers an option; ``face finder``."""
    option: str | None
    """The request option that runs it (``with_nsfw`` ...); ``None``: runs on every file."""
    obsolete: bool
    enabled_by_default: bool
    enabled: bool
    """In this configuration (``ORIGINLENS_DISABLED_DETECTORS`` / ``ORIGINLENS_EXTRA_DETECTORS``)."""
    size_bytes: int
    """Total size of the weight files it loads; 0 for rule-based detectors."""
    weight_files: list[str] = field(default_factory=list)
    licence: str = "unknown (no catalogue entry)"
    quality: str = "unknown (no catalogue entry)"
    model_card: str | None = None
    enable_with: str | None = None
    """For the experimental ones: the ``ORIGINLENS_EXTRA_DETECTORS`` entry that turns it on."""
    problem: str | None = None
    """Why its weight files could not be found, if they could not."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _describe(obj: Any, name: str, kind: str, option: str | None, obsolete: bool) -> ModelInfo:
    info = ModelInfo(
        name=name,
        version=str(getattr(obj, "version", "?")),
        kind=kind,
        option=option,
        obsolete=obsolete,
        enabled_by_default=False,
        enabled=False,
        size_bytes=0,
        enable_with=EXPERIMENTAL_DETECTORS.get(name),
    )
    try:
        known = entry(name)
    except MissingCatalogEntryError:
        return info
    info.licence, info.quality, info.model_card = known.licence, known.quality, known.model_card
    try:
        files = known.weight_files(obj)
        info.size_bytes = sum(path.stat().st_size for path in files)
        info.weight_files = [str(path) for path in files]
    except (ModelFileError, OSError) as exc:
        info.problem = str(exc)
    return info


def list_models(settings: Settings | None = None) -> list[ModelInfo]:
    """Every model: configured, disabled built-ins and shipped experimental ones (none is loaded)."""
    from originlens.container import build_registry
    from originlens.detectors.registry import load_detector_class

    settings = settings or Settings()
    configured = build_registry(settings)
    defaults = build_registry(settings.model_copy(update={"disabled_detectors": [], "extra_detectors": []}))
    default_names = {d.name for d in defaults} | ({FACE_FINDER} if defaults.faces is not None else set())
    enabled_names = {d.name for d in configured} | ({FACE_FINDER} if configured.faces is not None else set())

    everything = {d.name: d for d in defaults}
    everything.update({d.name: d for d in configured})
    for name, dotted in EXPERIMENTAL_DETECTORS.items():
        everything.setdefault(name, load_detector_class(dotted)())
    infos = [_describe(d, d.name, d.kind, d.option, d.obsolete) for d in everything.values()]
    faces = configured.faces or defaults.faces
    if faces is not None:
        infos.append(_describe(faces, FACE_FINDER, "face finder", None, False))
    for info in infos:
        info.enabled_by_default = info.name in default_names
        info.enabled = info.name in enabled_names
    return infos


def human_size(n: int) -> str:
    if n == 0:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def render_models(infos: list[ModelInfo], console: Console) -> None:
    table = Table()
    for title in ("model", "version", "kind", "default", "enabled", "weights", "licence", "quality"):
        table.add_column(title, overflow="fold")
    for info in infos:
        kind = f"{info.kind} ({info.option})" if info.option else info.kind
        size = human_size(info.size_bytes) if info.problem is None else f"missing: {info.problem}"
        table.add_row(
            info.name,
            info.version,
            kind,
            "yes" if info.enabled_by_default else "no",
            "yes" if info.enabled else "no",
            size,
            info.licence,
            info.quality,
        )
    console.print(table)


__all__ = ["ModelInfo", "human_size", "list_models", "render_models"]
