"""When provenance or an override decides, every heuristic's verdict shows that decision and
says it was forced: a client reading any heuristic gets one answer."""

from __future__ import annotations

import hashlib

import pytest

from originlens.verdicts import policy
from tests.api.test_submit_and_results import AI_C2PA
from tests.conftest import RunningServer, get_result, image_bytes, make_user, submit, wait_done


def _agree(body: dict, classification: str, forced_by: str) -> None:  # type: ignore[type-arg]
    assert body["verdict"]["classification"] == classification
    assert len(body["verdicts"]) == 7
    for verdict in body["verdicts"]:
        assert verdict["classification"] == classification, verdict
        assert verdict["forced_by"] == forced_by and verdict["reason"] and verdict["confidence"] == 1.0
        assert "classification" in verdict["unforced"]  # the heuristic's own reading is kept


@pytest.mark.skipif(not AI_C2PA.exists(), reason="shared eval files are not beside the repo")
def test_a_c2pa_forced_file_says_artificial_under_every_heuristic(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        forced = wait_done(client, submit(client, AI_C2PA.read_bytes(), name="ocsp.jpg"))
        allowed = wait_done(client, submit(client, AI_C2PA.read_bytes(), prevent_c2pa_forces=True))
    _agree(forced, "artificial", "c2pa")
    assert all("forced_by" not in v for v in allowed["verdicts"])  # prevent_c2pa_forces: the heuristics decide


def test_an_override_shows_under_every_heuristic(server: RunningServer) -> None:
    _, key = make_user(server)
    data = image_bytes(seed=61)
    with server.client(key) as client:
        identifier = submit(client, data)
        wait_done(client, identifier)
        digest = hashlib.sha256(data).hexdigest()
        client.post(f"/api/classification/{digest}/override", json={"classification": "human"})
        body = get_result(client, identifier)
        listed = client.get("/api/classifications", params={"identifiers[]": identifier}).json()[0]
    _agree(body, "human", "override")
    _agree(listed, "human", "override")


def test_the_policy_forces_every_heuristic_or_none() -> None:
    verdicts = [
        {"heuristic": "Majority", "classification": "human", "confidence": 0.2, "models": []},
        {"heuristic": "Average", "classification": "human", "confidence": 0.0, "models": [], "unknown": True},
    ]
    forcing = [{"by": "c2pa", "classification": "artificial", "reason": "a signed AI assertion"}]
    shown = policy.shown_verdicts(verdicts, forcing)
    assert {v["classification"] for v in shown} == {"artificial"} and all("unknown" not in v for v in shown)
    assert shown[1]["unforced"] == {"classification": "human", "confidence": 0.0, "unknown": True}
    assert policy.shown_verdicts(verdicts, forcing, prevent_c2pa_forces=True) == verdicts
    assert policy.select_verdict(verdicts, forcing, "Average") == shown[1]
