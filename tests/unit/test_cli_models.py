"""``originlens models list``: every model, with its weights' size, licence and measured quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from originlens.cli import app
from originlens.commands.models import list_models
from originlens.container import build_registry
from originlens.detectors.base import Detector
from originlens.detectors.catalog import CATALOG, EXPERIMENTAL_DETECTORS, FACE_FINDER, entry
from originlens.detectors.registry import load_detector_class
from originlens.faces.detection import FaceDetector
from originlens.faces.landmarks import FaceLandmarker
from originlens.settings import Settings
from tests.support.shared_data import REPO

MODEL_BACKED = {"nsfw", "morphing", "clip-probe", "spectral", FACE_FINDER, "pixel", "speech"}
"""The models that load weight files (the provenance and tampering detectors are rules)."""


def listed(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["models", "list", "--json", *args])
    assert result.exit_code == 0, result.output
    models: list[dict[str, Any]] = json.loads(result.stdout)
    return models


def every_shipped_name() -> set[str]:
    registry = build_registry(Settings(disabled_detectors=[], extra_detectors=list(EXPERIMENTAL_DETECTORS.values())))
    return {d.name for d in registry} | {FACE_FINDER}


def test_every_shipped_model_has_a_catalogue_entry_with_a_real_model_card() -> None:
    for name in every_shipped_name():
        known = entry(name)
        assert known.licence and known.quality
        assert (REPO / known.model_card).is_file(), known.model_card
    assert set(CATALOG) == every_shipped_name(), "catalogue entries for models that do not ship"


def test_experimental_detectors_are_loadable_by_their_dotted_path() -> None:
    for name, dotted in EXPERIMENTAL_DETECTORS.items():
        assert load_detector_class(dotted).name == name


def test_list_shows_every_model_with_size_licence_and_quality() -> None:
    models = {m["name"]: m for m in listed()}
    assert set(models) == every_shipped_name()
    for name, model in models.items():
        assert model["licence"] == CATALOG[name].licence
        assert model["quality"] == CATALOG[name].quality
        assert model["problem"] is None, model
        if name in MODEL_BACKED:
            assert model["size_bytes"] > 0, name
            assert model["size_bytes"] == sum(Path(f).stat().st_size for f in model["weight_files"])
        else:
            assert model["size_bytes"] == 0 and model["weight_files"] == []
    assert models["nsfw"]["kind"] == "auxiliary" and models["nsfw"]["option"] == "with_nsfw"
    assert models["c2pa"]["kind"] == "provenance"
    assert models[FACE_FINDER]["kind"] == "face finder"
    for name in EXPERIMENTAL_DETECTORS:
        assert not models[name]["enabled_by_default"] and not models[name]["enabled"]
        assert models[name]["enable_with"] == EXPERIMENTAL_DETECTORS[name]
    assert models["metadata"]["enabled_by_default"] and models["metadata"]["enabled"]
    assert "0.626" in models["clip-probe"]["quality"]


def test_settings_change_what_is_enabled_not_what_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGINLENS_DISABLED_DETECTORS", '["watermark", "faces"]')
    monkeypatch.setenv("ORIGINLENS_EXTRA_DETECTORS", json.dumps([EXPERIMENTAL_DETECTORS["spectral"]]))
    models = {m["name"]: m for m in listed()}
    assert set(models) == every_shipped_name()
    assert models["watermark"]["enabled_by_default"] and not models["watermark"]["enabled"]
    assert not models[FACE_FINDER]["enabled"]
    assert models["spectral"]["enabled"] and not models["spectral"]["enabled_by_default"]


def test_listing_loads_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object) -> None:
        raise AssertionError(f"{type(self).__name__} was loaded")

    for cls in (Detector, FaceDetector, FaceLandmarker):
        monkeypatch.setattr(cls, "load", refuse)
    infos = list_models(Settings(extra_detectors=list(EXPERIMENTAL_DETECTORS.values())))
    assert {info.name for info in infos} == every_shipped_name()


def test_table_names_each_model() -> None:
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0
    for name in every_shipped_name():
        assert name in result.stdout
    assert "MiB" in result.stdout
