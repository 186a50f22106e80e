"""``originlens eval`` on a speech manifest: the manifest reader, the served analysis of each
recording, and the report, on a tiny manifest of encoded clips written here.

``LoudnessDouble`` is a test double, not a detector: its artificial score is the recording's
peak amplitude, so the test knows every score it will see and can check that the report's
numbers are the ones those scores imply. The shipped speech model is run once too (the real
registry), on real clips of the shared speech eval set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from originlens.audio.features import encode_audio
from originlens.cli import app
from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.registry import DetectorRegistry
from originlens.detectors.speech import audio_samples
from originlens.evaluation.audio import (
    build_audio_report,
    is_audio_manifest,
    load_audio_manifest,
    render_audio_markdown,
    run_audio_evaluation,
)
from originlens.evaluation.metrics import roc_auc
from tests.support.recordings import tone
from tests.support.speech import needs_speech, speech_files

HEADER = "file,label,system,speaker_or_dataset,source_repo,source_path,source_commit,orig_format,orig_rate,duration_s,license,pair_id,notes\n"  # noqa: E501


class LoudnessDouble(Detector):
    """Test double: 'artificial' is the peak amplitude (loud = synthetic). Meaningless on purpose."""

    name = "loudness"
    version = "test-1"
    modalities = ("audio",)
    media_types = ("audio/",)

    def _predict(self, media: MediaInput) -> Prediction:
        peak = float(np.max(np.abs(audio_samples(media))))
        if peak < 0.01:
            return self.unknown("no speech found: silence")
        return Prediction(model=self.name, artificial=min(peak, 1.0))


AMPLITUDES = {  # file -> (label as the manifest says it, system, peak amplitude)
    "human/a/one.wav": ("human", "human: A", 0.10),
    "human/a/two.mp3": ("human", "human: A", 0.30),
    "human/b/three.flac": ("human", "human: B", 0.60),
    "synthetic/a/four.wav": ("synthetic", "TTS-1", 0.50),
    "synthetic/a/five.mp3": ("synthetic", "TTS-1", 0.80),
    "synthetic/b/six.flac": ("synthetic", "VC-2", 0.90),
}


def _manifest(root: Path) -> Path:
    """Six tones of known loudness, a silent clip, an unlabelled row, a missing file and a text file."""
    lines = [HEADER]
    for file, (label, system, amplitude) in AMPLITUDES.items():
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        codec = path.suffix.lstrip(".")
        samples = tone(2.0) / 0.3 * amplitude
        path.write_bytes(encode_audio(samples, codec, bitrate=64_000 if codec == "mp3" else None))
        source = file.split("/")[1]
        lines.append(f"{file},{label},{system},speaker {source},demo/{source},,,,,2.0,,,\n")
    (root / "human" / "b" / "silent.wav").write_bytes(encode_audio(np.zeros(32_000, np.float32), "wav"))
    lines.append("human/b/silent.wav,human,human: B,speaker b,demo/b,,,,,2.0,,,\n")
    lines.append("human/b/one.wav,,human: B,,demo/b,,,,,,,,unlabelled on purpose\n")
    lines.append("human/b/gone.wav,human,human: B,,demo/b,,,,,,,,\n")
    (root / "synthetic" / "b" / "notes.flac").write_text("not a recording")
    lines.append("synthetic/b/notes.flac,synthetic,VC-2,,demo/b,,,,,,,,\n")
    manifest = root / "MANIFEST.csv"
    manifest.write_text("".join(lines), encoding="utf-8")
    return manifest


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _manifest(tmp_path_factory.mktemp("speech-eval"))


@pytest.fixture(scope="module")
def report(manifest: Path) -> dict[str, Any]:
    run = run_audio_evaluation(manifest, registry=DetectorRegistry([LoudnessDouble()]), heuristic="Average")
    return build_audio_report(run)


def test_the_manifest_reader_maps_synthetic_to_artificial(manifest: Path) -> None:
    assert is_audio_manifest(manifest)
    rows = load_audio_manifest(manifest)
    assert [r.label for r in rows[:6]] == ["human", "human", "human", "artificial", "artificial", "artificial"]
    assert rows[0].system == "human: A" and rows[0].dataset == "speaker a" and rows[0].source == "demo/a"
    assert rows[0].path == manifest.parent / "human" / "a" / "one.wav"
    assert not rows[7].labelled  # the unlabelled row
    assert len(load_audio_manifest(manifest, limit=2)) == 2


def test_an_image_manifest_is_not_an_audio_one(tmp_path: Path) -> None:
    images = tmp_path / "MANIFEST.csv"
    images.write_text("file,label,generator,source_repo,source_path,license,notes\n")
    assert not is_audio_manifest(images)
    with pytest.raises(ValueError, match="system"):
        load_audio_manifest(images)


def test_every_row_is_analysed_skipped_or_an_error_with_a_sentence(report: dict[str, Any]) -> None:
    counts = report["counts"]
    assert (counts["rows"], counts["analysed"], counts["skipped"], counts["errors"]) == (10, 7, 1, 2)
    assert (counts["analysed_human"], counts["analysed_artificial"]) == (4, 3)
    assert counts["skipped_by_reason"] == {"no label (do not score)": 1}
    errors = {e["file"]: e["reason"] for e in report["errors"]}
    assert errors["human/b/gone.wav"].startswith("cannot read the file")
    assert errors["synthetic/b/notes.flac"].startswith("the recording could not be analysed: ")
    files = {f["file"]: f for f in report["files"]}
    assert files["human/a/two.mp3"]["mime_type"] == "audio/mpeg"
    assert files["human/a/two.mp3"]["duration_s"] == pytest.approx(2.0, abs=0.1)


def test_the_numbers_are_the_ones_the_scores_imply(report: dict[str, Any]) -> None:
    scores = [amplitude for _, _, amplitude in AMPLITUDES.values()]
    labels = [1 if label == "synthetic" else 0 for label, _, _ in AMPLITUDES.values()]
    detector = report["summary"]["loudness"]
    assert detector["auc"] == pytest.approx(roc_auc(scores, labels), abs=1e-3)
    assert (detector["n_covered"], detector["n_labelled"]) == (6, 7)  # the silent clip is unknown
    assert detector["fpr"] == pytest.approx(1 / 3)  # the 0.6 human clip is above 0.5
    assert detector["tpr"] == pytest.approx(2 / 3)  # 0.5 is not above 0.5
    assert detector["auc_ci"] is not None and detector["auc_ci"]["low"] <= detector["auc"] <= 1.0
    assert report["summary"]["verdict"]["auc"] == pytest.approx(detector["auc"], abs=1e-3)  # it decides alone
    assert report["unknown_reasons"]["loudness"] == {"no speech found": 1}


def test_groups_by_system_source_and_dataset(report: dict[str, Any]) -> None:
    systems = report["breakdowns"]["system"]
    assert list(systems) == ["human: A", "human: B", "TTS-1", "VC-2"]  # human first
    tts = systems["TTS-1"]["verdict"]
    assert (tts["label"], tts["n"], tts["called_artificial"]) == ("artificial", 2, 0.5)
    assert tts["auc"] == pytest.approx(roc_auc([0.5, 0.8, 0.1, 0.3, 0.6], [1, 1, 0, 0, 0]), abs=1e-3)
    human_b = systems["human: B"]["verdict"]
    assert (human_b["n"], human_b["n_covered"], human_b["unknown"]) == (2, 1, 0.5)
    source_a = report["breakdowns"]["source"]["demo/a"]["verdict"]
    assert source_a["label"] == "both" and source_a["auc"] == pytest.approx(roc_auc([0.1, 0.3, 0.5, 0.8], [0, 0, 1, 1]))
    assert set(report["breakdowns"]["dataset"]) == {"speaker a", "speaker b"}


def test_markdown_shows_the_json_numbers(report: dict[str, Any]) -> None:
    text = render_audio_markdown(report)
    assert text.startswith("# originlens evaluation: speech")
    auc = report["summary"]["verdict"]["auc"]
    assert f"{auc:.3f} [" in text
    for system in report["breakdowns"]["system"]:
        assert f"| {system} |" in text
    assert "human/b/gone.wav" in text  # errors are listed
    assert "`loudness` alone gives the verdict's numbers" in text


def test_the_command_writes_both_reports_and_refuses_image_options(manifest: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report"
    result = runner.invoke(
        app, ["eval", str(manifest), "--out", str(out), "--align", "mp3-64k", "--no-progress", "--limit", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "3 recordings analysed" in result.output
    body = json.loads((tmp_path / "report.json").read_text())
    assert body["config"]["align"] == "mp3-64k" and body["counts"]["analysed"] == 3
    assert all(f["mime_type"] == "audio/mpeg" for f in body["files"])  # what was analysed is the MP3
    assert "**Aligned (`--align mp3-64k`)**" in (tmp_path / "report.md").read_text()
    for args, named in ((["--perturb", "jpeg90"], "--perturb"), (["--align", "jpeg90"], "--align")):
        refused = runner.invoke(app, ["eval", str(manifest), "--out", str(out), *args])
        assert refused.exit_code == 2 and named in refused.output


@needs_speech
def test_the_shipped_speech_model_scores_real_clips(tmp_path: Path) -> None:
    """Two human and two synthetic clips of the shared set, through the real registry."""
    lines = [HEADER]
    for label in ("human", "synthetic"):
        for clip in speech_files(label)[:2]:
            lines.append(f"{clip},{label},{label} system,,,,,,,,,,\n")
    manifest = tmp_path / "MANIFEST.csv"
    manifest.write_text("".join(lines))
    report = build_audio_report(run_audio_evaluation(manifest))
    assert report["counts"]["analysed"] == 4 and report["counts"]["errors"] == 0
    names = [d["name"] for d in report["config"]["detectors"]]
    assert "speech" in names and "pixel" not in names  # the audio detectors only
    for file in report["files"]:
        speech = file["detectors"]["speech"]
        assert speech["unknown"] or 0.0 <= speech["score"] <= 1.0
