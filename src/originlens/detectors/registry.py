"""The list of detectors a service runs, built once and shared by every worker."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from originlens.detectors.base import Detector


def load_detector_class(dotted: str) -> type[Detector]:
    """Import ``package.module:ClassName``; used for detector plugins."""
    module_name, _, class_name = dotted.partition(":")
    if not class_name:
        raise ValueError(f"detector plugin {dotted!r} must look like 'package.module:ClassName'")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"{dotted} is not a Detector subclass")
    return cls


class DetectorRegistry:
    def __init__(self, detectors: Iterable[Detector], faces: Any | None = None) -> None:
        """``faces``: the face finder (``originlens.faces.detection.FaceDetector``) whose faces
        fill ``details``; ``None`` turns face analysis off."""
        self._detectors = list(detectors)
        self.faces = faces
        names = [d.name for d in self._detectors]
        if len(names) != len(set(names)):
            raise ValueError(f"detector names must be unique, got {names}")

    def __iter__(self) -> Iterator[Detector]:
        return iter(self._detectors)

    def __len__(self) -> int:
        return len(self._detectors)

    def get(self, name: str) -> Detector | None:
        return next((d for d in self._detectors if d.name == name), None)

    def fingerprint(self) -> str:
        """Changes whenever a detector is added, removed or upgraded: part of the cache key."""
        parts = sorted(f"{d.name}@{d.version}" for d in self._detectors)
        if self.faces is not None:
            parts.append(f"faces@{getattr(self.faces, 'version', '?')}")
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def describe(self) -> list[dict[str, object]]:
        return [
            {
                "name": d.name,
                "version": d.version,
                "obsolete": d.obsolete,
                "relevance": d.relevance,
                "loaded": d.loaded,
            }
            for d in self._detectors
        ]
