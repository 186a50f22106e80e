"""A test double that takes a quarter of a second per image and judges nothing, so that a
video's progress can be watched frame by frame."""

from __future__ import annotations

import time

from originlens.detectors.base import Detector, MediaInput, Prediction


class SleepyDetector(Detector):
    name = "sleepy-test-double"
    version = "1"

    def _predict(self, media: MediaInput) -> Prediction:
        time.sleep(0.25)
        return self.unknown("test double: judges nothing")
