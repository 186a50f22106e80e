"""Fixtures for the client tests: one real server for the package, with a statistical test
detector (so results carry scores and heatmaps exist), and a fresh user per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from originlens.client import Client
from tests.conftest import RunningServer, image_bytes, make_user, start_server
from tests.support.clips import FPS, flat_frames, write_clip

BRIGHTNESS = "tests.support.brightness_detector:BrightnessDetector"


@pytest.fixture(scope="package")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("client-api"), extra_detectors=[BRIGHTNESS])
    yield running
    running.stop()


@pytest.fixture
def key(api: RunningServer) -> str:
    """A fresh account's API key (so overrides and credits never leak between tests)."""
    return make_user(api)[1]


@pytest.fixture
def client(api: RunningServer, key: str) -> Iterator[Client]:
    with Client(base_url=api.base_url, api_key=key) as made:
        yield made


@pytest.fixture(scope="package")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s video clip."""
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", flat_frames(60, FPS))


@pytest.fixture
def photo_path(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(image_bytes(seed=11))
    return path
