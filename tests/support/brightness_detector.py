"""A test double of a statistical detector: its artificial score is the mean brightness.

Loaded through ``ORIGINLENS_EXTRA_DETECTORS`` so heatmap tests can predict exactly which
regions are "artificial" (the bright ones) without depending on a trained model.
"""

from __future__ import annotations

import numpy as np

from originlens.detectors.base import Detector, MediaInput, Prediction


class BrightnessDetector(Detector):
    name = "brightness-test-double"
    version = "1"

    def _predict(self, media: MediaInput) -> Prediction:
        grey = np.asarray(media.image().convert("L"), dtype=np.float64)
        return Prediction(model=self.name, artificial=float(grey.mean() / 255.0))
