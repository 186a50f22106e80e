"""Detectors: pure layer, imports nothing from the server."""

from originlens.detectors.base import Detector, Label, MediaInput, Prediction

__all__ = ["Detector", "Label", "MediaInput", "Prediction"]
