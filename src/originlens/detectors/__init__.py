"""Detectors: pure layer, imports nothing from the server."""

from originlens.detectors.base import Detector, EvidenceKind, Label, MediaInput, Prediction

__all__ = ["Detector", "EvidenceKind", "Label", "MediaInput", "Prediction"]
