"""What a user reads when a detector cannot judge a file: a sentence, never Python internals."""

from __future__ import annotations

import re

import pytest

from originlens.container import build_registry
from originlens.detectors.base import MediaInput
from originlens.detectors.catalog import EXPERIMENTAL_DETECTORS
from originlens.settings import Settings

INTERNALS = re.compile(r"[A-Z][A-Za-z]*(Error|Exception)\b|object at 0x|Traceback|NoneType")

REGISTRY = build_registry(Settings(extra_detectors=list(EXPERIMENTAL_DETECTORS.values())))


@pytest.mark.parametrize("detector", list(REGISTRY), ids=lambda d: d.name)
@pytest.mark.parametrize(
    "data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"GIF89a\x01\x00", b"not an image at all"], ids=["png", "gif", "junk"]
)
def test_a_file_that_cannot_be_read_gets_a_sentence(detector, data: bytes) -> None:  # type: ignore[no-untyped-def]
    prediction = detector.predict(MediaInput(data=data, mime_type="image/png", name="broken.png"))
    assert prediction.unknown
    reason = str(prediction.details.get("reason", ""))
    assert reason, detector.name
    assert not INTERNALS.search(reason), (detector.name, reason)
    notes = " ".join(str(n) for n in prediction.details.get("notes", []))
    assert not INTERNALS.search(notes), (detector.name, notes)
