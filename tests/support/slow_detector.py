"""A detector plugin for durability tests: it blocks while a file exists.

Loaded through ``ORIGINLENS_EXTRA_DETECTORS`` like any third-party detector. It marks that
it has started (so a test knows the job is mid-way), waits while the block file exists,
then says honestly that it cannot judge anything.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from originlens.detectors.base import Detector, MediaInput, Prediction


class BlockingDetector(Detector):
    name = "blocking-test-detector"
    version = "1"
    relevance = 0.1

    def _predict(self, media: MediaInput) -> Prediction:
        started = Path(os.environ["ORIGINLENS_TEST_STARTED_FILE"])
        block = Path(os.environ["ORIGINLENS_TEST_BLOCK_FILE"])
        started.write_text(str(os.getpid()))
        deadline = time.time() + 120
        while block.exists() and time.time() < deadline:
            time.sleep(0.05)
        return self.unknown("test detector: judges nothing")


class BlockingAudioDetector(BlockingDetector):
    """The same for recordings: it reads the whole file once (as provenance does), so a test can
    watch a recording's waiting page."""

    name = "blocking-audio-test-detector"
    kind = "provenance"
    modalities = ("audio",)
    media_types = ("audio/", "video/")  # without it the base class answers unknown at once, unblocked
