"""The service's real detectors and evidence policy over the shared eval set.

Runs ``originlens eval``'s in-process pipeline (exactly what the worker runs) once over every
labelled image of ``../shared/eval/MANIFEST.csv`` and checks what a user would rely on.
"""

from __future__ import annotations

import pytest

from originlens.container import build_registry
from originlens.evaluation.runner import EvaluationRun, run_evaluation
from originlens.settings import Settings
from tests.conftest import EVAL

pytestmark = pytest.mark.skipif(not (EVAL / "MANIFEST.csv").exists(), reason="shared eval set not beside the repo")


@pytest.fixture(scope="module")
def run() -> EvaluationRun:
    # Provenance is under test: the pixel model (which never forces, and does not vote by
    # default) would add CLIP on all 398 files; docs/evaluation*.md measure it.
    return run_evaluation(EVAL / "MANIFEST.csv", registry=build_registry(Settings(disabled_detectors=["pixel"])))


def _analysed(run: EvaluationRun):  # type: ignore[no-untyped-def]
    return [f for f in run.files if f.baseline is not None and f.baseline.verdict is not None]


def test_no_human_file_is_forced_artificial_by_provenance(run: EvaluationRun) -> None:
    forced_on_human = [
        f.row.file
        for f in _analysed(run)
        if f.row.label == "human"
        and f.baseline.verdict.forced_by is not None
        and f.baseline.verdict.classification == "artificial"
    ]
    assert len(_analysed(run)) > 350
    assert forced_on_human == []


def test_c2pa_ai_assertions_force_artificial(run: EvaluationRun) -> None:
    rows = {f.row.file: f for f in _analysed(run)}
    for name in ("c2pa/c2pa-rs/ocsp.jpg", "c2pa/c2pa-js/firefly_thirdparty_gemini.png"):
        verdict = rows[name].baseline.verdict
        assert verdict.classification == "artificial" and verdict.forced_by == "c2pa", name


def test_generator_metadata_decides_every_metadata_sample(run: EvaluationRun) -> None:
    samples = [f for f in _analysed(run) if f.row.file.startswith("metadata/") and f.row.label == "artificial"]
    assert len(samples) >= 12
    for f in samples:
        assert f.baseline.verdict.forced_by in ("metadata", "watermark", "c2pa"), f.row.file
        assert f.baseline.verdict.classification == "artificial"


def test_every_comfyui_image_is_attributed(run: EvaluationRun) -> None:
    comfy = [f for f in _analysed(run) if f.row.file.startswith("ai/comfyui/")]
    assert comfy
    for f in comfy:
        metadata = f.baseline.detectors["metadata"]
        assert not metadata.unknown and metadata.artificial > 0.9, f.row.file
