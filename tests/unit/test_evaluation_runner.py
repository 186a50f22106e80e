"""The evaluation harness end to end on a tiny manifest, with two test-double detectors.

The detectors below are test doubles, not real detectors: ``testmark`` "finds provenance"
in a PNG text chunk this test writes, and ``brightness`` calls bright images artificial.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, PngImagePlugin
from typer.testing import CliRunner

from originlens.cli import app
from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.registry import DetectorRegistry
from originlens.evaluation import build_report, render_markdown, run_evaluation, write_reports
from originlens.evaluation.runner import PERTURBATIONS, perturb, strip_metadata

CHUNK_KEY, CHUNK_VALUE = "test-generator", "made-by-testgen"


class ChunkProvenanceDouble(Detector):
    """Test double: conclusive 'provenance' when the PNG has the test's text chunk."""

    name = "testmark"
    version = "test-1"
    kind = "provenance"
    relevance = 1.0

    def _predict(self, media: MediaInput) -> Prediction:
        if media.mime_type == "image/png" and Image.open(io.BytesIO(media.data)).info.get(CHUNK_KEY) == CHUNK_VALUE:
            return Prediction(model=self.name, artificial=0.99, forces="artificial", details={"reason": "test chunk"})
        return self.unknown("no test chunk")


class BrightnessDouble(Detector):
    """Test double: the 'artificial' score is the mean brightness (bright = AI). Meaningless on purpose."""

    name = "brightness"
    version = "test-1"

    def _predict(self, media: MediaInput) -> Prediction:
        gray = media.image().convert("L")
        histogram = gray.histogram()
        mean = sum(value * count for value, count in enumerate(histogram)) / (gray.width * gray.height)
        return Prediction(model=self.name, artificial=mean / 255)


def _registry() -> DetectorRegistry:
    return DetectorRegistry([ChunkProvenanceDouble(), BrightnessDouble()])


def _save(path: Path, image: Image.Image, fmt: str, chunk: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if chunk:
        info = PngImagePlugin.PngInfo()
        info.add_text(CHUNK_KEY, CHUNK_VALUE)
        image.save(path, format=fmt, pnginfo=info)
    else:
        image.save(path, format=fmt)


def _frame_image() -> Image.Image:
    """Bright frame, dark centre: bright on average (0.716) but dark once cropped to the centre."""
    image = Image.new("L", (64, 64), 240)
    ImageDraw.Draw(image).rectangle((16, 16, 47, 47), fill=10)
    return image


def _manifest(root: Path, *, chunk_on_human: bool = False) -> Path:
    _save(root / "ai/gen/bright.png", Image.new("RGB", (40, 30), (220, 220, 220)), "PNG", chunk=True)
    _save(root / "ai/gen/dim.png", Image.new("RGB", (40, 30), (60, 60, 60)), "PNG", chunk=True)
    _save(root / "ai/other/bright2.jpg", Image.new("RGB", (48, 32), (200, 200, 200)), "JPEG")
    _save(root / "real/cam/dark.jpg", Image.new("RGB", (48, 32), (40, 40, 40)), "JPEG")
    _save(root / "real/cam/frame.png", _frame_image(), "PNG", chunk=chunk_on_human)
    _save(root / "real/cam/unlabelled.png", Image.new("RGB", (8, 8), (0, 0, 0)), "PNG")
    (root / "docs").mkdir()
    (root / "docs/boxes.xml").write_text("<?xml version='1.0'?><boxes/>")
    rows = [
        ("ai/gen/bright.png", "artificial", "TestGen"),
        ("ai/gen/dim.png", "artificial", "TestGen"),
        ("ai/other/bright2.jpg", "artificial", "OtherGen"),
        ("real/cam/dark.jpg", "human", "camera"),
        ("real/cam/frame.png", "human", "camera"),
        ("real/cam/unlabelled.png", "", ""),
        ("docs/boxes.xml", "human", ""),
        ("real/cam/missing.jpg", "human", "camera"),
    ]
    manifest = root / "MANIFEST.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "generator", "source_repo", "source_path", "license", "notes"])
        for file, label, generator in rows:
            writer.writerow([file, label, generator, "test/repo", file, "CC0", ""])
    return manifest


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return _manifest(tmp_path / "eval")


def _by_file(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["file"]: f for f in report["files"]}


def test_baseline_numbers(manifest: Path, tmp_path: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=_registry()))
    md_path, json_path = write_reports(report, tmp_path / "out" / "evaluation")
    report = json.loads(json_path.read_text())  # check what is written, not what is in memory

    assert report["counts"] == {
        "rows": 8,
        "analysed": 5,
        "analysed_human": 2,
        "analysed_artificial": 3,
        "skipped": 2,
        "skipped_by_reason": {
            "no label (do not score)": 1,
            "not an accepted image format (e.g. video, XML, HEIC)": 1,
        },
        "errors": 1,
    }
    assert report["errors"][0]["file"] == "real/cam/missing.jpg"
    assert "cannot read the file" in report["errors"][0]["reason"]
    assert [d["name"] for d in report["config"]["detectors"]] == ["testmark", "brightness"]
    assert report["config"]["heuristic"] == "AverageExcludeObsolete"

    # The verdict: bright/dim forced artificial (score 1), bright2 0.784, frame 0.716 (a false
    # positive), dark 0.157. Every artificial score beats every human one.
    verdict = report["summary"]["verdict"]
    assert verdict["n_covered"] == 5
    assert verdict["coverage"] == 1.0
    assert verdict["auc"] == 1.0
    assert verdict["accuracy"] == pytest.approx(0.8)
    assert verdict["fpr"] == pytest.approx(0.5)
    assert verdict["tpr"] == 1.0
    assert verdict["tpr_at_5pct_fpr"] == 1.0  # 2 humans: no false positive allowed, threshold 0.716

    # brightness on its own: artificial [0.863, 0.235, 0.784] vs human [0.157, 0.716] -> 5/6.
    brightness = report["summary"]["detectors"]["brightness"]
    assert brightness["auc"] == pytest.approx(5 / 6)
    assert brightness["accuracy"] == pytest.approx(0.6)
    assert brightness["kind"] == "statistical"
    testmark = report["summary"]["detectors"]["testmark"]
    assert (testmark["n_covered"], testmark["coverage"]) == (2, pytest.approx(0.4))
    assert testmark["auc"] is None  # one class only: n/a, not 0.5 or 1

    forcing = report["forcing"]
    assert forcing["forced"] == 2
    assert forcing["by_detector"] == {"testmark": {"forced artificial": {"on artificial": 2}}}
    assert forcing["forced_artificial_on_human"] == []
    assert forcing["evidence"] == {"provenance": 2, "statistical": 3}

    files = _by_file(report)
    assert files["ai/gen/dim.png"]["forced_by"] == "testmark"
    assert files["ai/gen/dim.png"]["verdict"]["classification"] == "artificial"
    assert files["ai/gen/dim.png"]["detectors"]["brightness"]["score"] == pytest.approx(60 / 255, abs=1e-3)
    assert files["real/cam/dark.jpg"]["detectors"]["testmark"]["unknown"] is True
    assert files["real/cam/dark.jpg"]["verdict"]["score"] == pytest.approx(40 / 255, abs=0.01)
    assert files["docs/boxes.xml"]["status"] == "skipped"
    assert files["real/cam/unlabelled.png"]["status"] == "skipped"
    assert files["real/cam/missing.jpg"]["status"] == "error"

    source = report["breakdowns"]["source"]
    assert set(source) == {"ai/gen", "ai/other", "real/cam"}
    assert source["real/cam"]["fpr"] == pytest.approx(0.5)
    assert source["real/cam"]["tpr"] is None
    assert source["ai/gen"]["forced"] == 2
    assert source["ai/gen"]["detectors"]["brightness"]["tpr"] == pytest.approx(0.5)
    assert report["breakdowns"]["generator"]["TestGen"]["n_labelled"] == 2

    markdown = md_path.read_text()
    assert "Provenance-forced `artificial` verdicts on human files: 0" in markdown
    assert "| ai/gen |" in markdown
    assert "PNG vs JPEG" in markdown


def test_strip_metadata_removes_the_forcing(manifest: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=_registry(), strip_metadata=True))
    assert report["config"]["strip_metadata"] is True
    assert report["forcing"]["forced"] == 0
    assert report["summary"]["detectors"]["testmark"]["n_covered"] == 0
    # Without the chunk the verdict is brightness alone: dim.png is now missed.
    verdict = report["summary"]["verdict"]
    assert verdict["accuracy"] == pytest.approx(0.6)
    assert verdict["auc"] == pytest.approx(5 / 6)
    files = _by_file(report)
    assert files["ai/gen/dim.png"]["verdict"]["classification"] == "human"
    assert files["ai/gen/dim.png"]["forced_by"] is None
    # The pixels are unchanged: same brightness score as on the original.
    assert files["ai/gen/bright.png"]["detectors"]["brightness"]["score"] == pytest.approx(220 / 255, abs=1e-3)


def test_perturbation_flip_rates(manifest: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=_registry(), perturbations="crop50,jpeg90"))
    crop = report["perturbations"]["crop50"]
    # dim.png loses its chunk (forced artificial -> brightness says human) and frame.png's centre
    # is dark (artificial -> human): 2 flips of 5; among pixel-only verdicts 1 of 3.
    flips = crop["verdict_flips"]
    assert (flips["flips"], flips["compared"]) == (2, 5)
    assert flips["flip_rate"] == pytest.approx(0.4)
    assert sorted(flips["flipped_to_human"]) == ["ai/gen/dim.png", "real/cam/frame.png"]
    assert (flips["statistical_flips"], flips["statistical_compared"]) == (1, 3)
    assert crop["forcing_lost"] == 2
    assert crop["coverage_change"] == 0.0
    assert crop["detector_flips"]["brightness"]["flips"] == 1
    assert crop["summary"]["detectors"]["testmark"]["n_covered"] == 0
    assert crop["summary"]["verdict"]["fpr"] == 0.0  # the frame false positive is gone
    jpeg = report["perturbations"]["jpeg90"]["verdict_flips"]
    assert (jpeg["flips"], jpeg["statistical_flips"]) == (1, 0)

    files = _by_file(report)
    assert files["real/cam/frame.png"]["perturbations"]["crop50"]["verdict"]["classification"] == "human"
    assert files["real/cam/frame.png"]["perturbations"]["jpeg90"]["mime_type"] == "image/jpeg"
    assert "Robustness to perturbations" in render_markdown(report)


def test_strip_and_perturb_together_measure_pixels_only(manifest: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=_registry(), strip_metadata=True, perturbations=["crop50"]))
    flips = report["perturbations"]["crop50"]["verdict_flips"]
    assert (flips["flips"], flips["compared"], flips["flip_rate"]) == (1, 5, pytest.approx(0.2))
    assert flips["statistical_flip_rate"] == pytest.approx(0.2)


def test_forced_artificial_on_a_human_file_is_shouted(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "eval", chunk_on_human=True)
    report = build_report(run_evaluation(manifest, registry=_registry()))
    assert report["forcing"]["forced_artificial_on_human"] == ["real/cam/frame.png (by testmark)"]
    assert "MUST BE ZERO" in render_markdown(report)


def test_limit_and_bad_arguments(manifest: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=_registry(), limit=2))
    assert report["counts"]["rows"] == 2
    with pytest.raises(ValueError, match="perturbation"):
        run_evaluation(manifest, registry=_registry(), perturbations="jpeg75,blur")
    with pytest.raises(ValueError, match="heuristic"):
        run_evaluation(manifest, registry=_registry(), heuristic="Nope")


def test_an_empty_registry_covers_nothing(manifest: Path) -> None:
    report = build_report(run_evaluation(manifest, registry=DetectorRegistry([])))
    verdict = report["summary"]["verdict"]
    assert (verdict["n_covered"], verdict["coverage"], verdict["auc"], verdict["accuracy"]) == (0, 0.0, None, None)
    assert "n/a" in render_markdown(report)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (20, 10), i) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], transparency=0, comment=b"hello")
    return out.getvalue()


@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "1", "P", "P-trns", "CMYK", "I;16", "animated"])
def test_strip_and_perturb_every_mode(mode: str) -> None:
    image: Image.Image
    if mode == "animated":
        image = Image.open(io.BytesIO(_animated_gif()))
        image.load()
    elif mode == "P-trns":  # palette transparency given per entry, as libpng test files do
        image = Image.new("P", (33, 21))
        image.info["transparency"] = bytes(range(256))
    else:
        image = Image.new(mode, (33, 21))
        image.info["exif"] = b"Exif\x00\x00fake"
        image.info["icc_profile"] = b"fake icc"
    stripped = Image.open(io.BytesIO(strip_metadata(image)))
    assert stripped.format == "PNG"
    assert stripped.size == image.size
    assert not set(stripped.info) & {"exif", "icc_profile", "comment", "transparency"}
    for name in PERTURBATIONS:
        copy = Image.open(io.BytesIO(perturb(image, name, "image/jpeg" if mode == "CMYK" else "image/png")))
        copy.load()
        assert not set(copy.info) & {"exif", "icc_profile", "comment"}
        half = (image.width // 2, image.height // 2)
        assert copy.size == (half if name in {"half", "crop50"} else image.size)
        assert copy.format == ("JPEG" if name.startswith("jpeg") or mode == "CMYK" else "PNG")


def test_cli_eval_writes_both_reports(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "report" / "evaluation"
    result = CliRunner().invoke(app, ["eval", str(manifest), "--out", str(out), "--perturb", "half", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "5 images analysed, 2 skipped, 1 errors" in result.output
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["config"]["perturbations"] == ["half"]
    assert "c2pa" in [d["name"] for d in data["config"]["detectors"]]
    assert out.with_suffix(".md").read_text().startswith("# originlens evaluation")
    bad = CliRunner().invoke(app, ["eval", str(manifest), "--perturb", "blur", "--no-progress"])
    assert bad.exit_code != 0
