"""Options are charged only for what they produced: a heatmap that cannot be made is refunded
(and the notes say so), videos are not charged for one, and the dashboard does not pre-tick it."""

from __future__ import annotations

from pathlib import Path

from tests.api.test_video import _submit_video, _wait_video
from tests.conftest import RunningServer, image_bytes, make_user, submit, wait_done
from tests.dashboard.conftest import BRIGHTNESS, dashboard_user, sign_in
from tests.support.clips import FPS, flat_frames, write_clip


def test_a_heatmap_that_cannot_be_made_is_not_paid_for(server_factory) -> None:  # type: ignore[no-untyped-def]
    """With the pixel model turned off no statistical detector is left, so no heatmap can be made."""
    running = server_factory(disabled_detectors=["pixel"])
    _, key = make_user(running, balance=5)
    with running.client(key) as client:
        body = wait_done(client, submit(client, image_bytes(seed=91), with_heatmap=True))
        credits = client.get("/api/user/credits").json()
    assert body["status"] == "done" and body["has_heatmap"] is False
    assert any("no heatmap was made" in note and "refunded" in note for note in body["notes"])
    assert credits == {"available_credits": 4, "total_spent": 1}  # the image, not the option


def test_a_heatmap_that_was_made_is_paid_for(server_factory) -> None:  # type: ignore[no-untyped-def]
    running = server_factory(extra_detectors=[BRIGHTNESS])
    _, key = make_user(running, balance=5)
    with running.client(key) as client:
        body = wait_done(client, submit(client, image_bytes(seed=92), with_heatmap=True))
        credits = client.get("/api/user/credits").json()
    assert body["has_heatmap"] is True
    assert credits == {"available_credits": 3, "total_spent": 2}


def test_videos_are_not_charged_for_a_heatmap(server: RunningServer, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "flat.mp4", flat_frames(90, FPS)).read_bytes()
    _, key = make_user(server, balance=20)
    with server.client(key) as client:
        body = _wait_video(client, _submit_video(client, clip, frames=5, with_heatmap=True).json()["identifier"])
        credits = client.get("/api/user/credits").json()
    assert body["status"] == "done", body["errors"]
    assert any("not charged" in note for note in body["notes"])
    assert credits["total_spent"] == 5  # five frames, no option


def test_the_dashboard_does_not_pre_tick_the_heatmap(server_factory) -> None:  # type: ignore[no-untyped-def]
    no_models_server = server_factory(disabled_detectors=["pixel"])
    user, _ = dashboard_user(no_models_server)
    with sign_in(no_models_server, user["email"]) as client:
        without_models = client.get("/dashboard/upload").text
    with_models_server = server_factory()  # the default install: the pixel model
    user, _ = dashboard_user(with_models_server)
    with sign_in(with_models_server, user["email"]) as client:
        with_models = client.get("/dashboard/upload").text
    assert 'name="with_heatmap" value="true" disabled' in without_models and "not available" in without_models
    assert 'name="with_heatmap" value="true">' in with_models
    assert "checked" not in with_models.split('name="with_heatmap"')[1].split(">")[0]
