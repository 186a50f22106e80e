"""A failed job tells its user a sentence about their file; the exception goes to the log, with the job id."""

from __future__ import annotations

import logging
import re

import pytest

from tests.api.test_video import _submit_video, _wait_video
from tests.conftest import SHARED, RunningServer, image_bytes, make_user, submit, wait_done

BITFLIP_MP4 = SHARED / "adversarial" / "bitflip-attrerror.mp4"
INTERNALS = re.compile(r"Error\b|Exception|Traceback|0x[0-9a-f]{4,}|object at|NoneType|<[^>]*>|File \"")


def assert_readable(text: str) -> None:
    assert text and text[0].isupper() and text.rstrip().endswith("."), text
    assert not INTERNALS.search(text), text


@pytest.mark.skipif(not BITFLIP_MP4.is_file(), reason=f"{BITFLIP_MP4} not found")
def test_a_bit_flipped_mp4_ends_errored_with_a_sentence(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        response = _submit_video(client, BITFLIP_MP4.read_bytes())
        assert response.status_code == 200, response.text
        body = _wait_video(client, response.json()["identifier"])
    assert body["status"] == "errored"
    assert body["errors"].startswith("The video could not be")
    assert_readable(body["errors"])


def test_a_bug_in_a_detector_is_logged_with_the_job_id_not_shown(
    server_factory,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    buggy = server_factory(extra_detectors=["tests.support.broken_detector:BrokenDetector"])
    _, key = make_user(buggy, balance=3)
    with caplog.at_level(logging.ERROR, logger="originlens"), buggy.client(key) as client:
        body = wait_done(client, submit(client, image_bytes(seed=77), with_heatmap=True))
        credits = client.get("/api/user/credits").json()
    assert body["status"] == "errored"
    assert_readable(body["errors"])
    assert "internal error" in body["errors"] and credits["available_credits"] == 3
    logged = [r for r in caplog.records if r.exc_info and "failed unexpectedly" in r.getMessage()]
    assert logged and re.search(r"analysis \d+ failed", logged[0].getMessage())
    assert "NoneType" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_a_failing_detector_is_unknown_with_a_sentence_not_its_exception(server_factory) -> None:  # type: ignore[no-untyped-def]
    buggy = server_factory(extra_detectors=["tests.support.broken_detector:BrokenDetector"])
    _, key = make_user(buggy)
    with buggy.client(key) as client:
        body = wait_done(client, submit(client, image_bytes(seed=78)))
    assert body["status"] == "done"
    broken = next(r for r in body["results"] if r["model"] == "broken-test-double")
    assert broken["unknown"] is True
    reason = broken["classification_details"]["reason"]
    assert_readable(reason[0].upper() + reason[1:])
