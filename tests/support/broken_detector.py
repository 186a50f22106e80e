"""A test double of a detector with a bug: it raises what a real bug raises, for every image."""

from __future__ import annotations

from originlens.detectors.base import Detector, MediaInput, Prediction


class BrokenDetector(Detector):
    name = "broken-test-double"
    version = "1"
    kind = "statistical"  # so the heatmap, which does not shield its detectors, meets the bug too

    def _predict(self, media: MediaInput) -> Prediction:
        found = None
        return Prediction(model=self.name, artificial=found.width)  # type: ignore[attr-defined]
