"""The measuring stick of ``originlens eval``: ``--align``, parts and families, bootstrap intervals.

The detectors are the test doubles of ``test_evaluation_runner`` (``brightness`` calls bright
images artificial) plus one that records what the pipeline was given; the manifest is written
here, so no shared data is needed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from typer.testing import CliRunner

from originlens.cli import app
from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.registry import DetectorRegistry
from originlens.evaluation import build_report, render_markdown, run_evaluation, write_reports
from originlens.evaluation.families import (
    AI_FAMILIES,
    CNNDETECTION_PART,
    HUMAN_FAMILIES,
    OTHER_AI,
    OTHER_HUMAN,
    RECENT_PART,
    family_of,
    part_of,
)
from originlens.evaluation.perturbations import ALIGN_MODES, align_image, parse_align
from tests.unit.test_evaluation_runner import BrightnessDouble, ChunkProvenanceDouble

# --------------------------------------------------------------------------- align_image


def _jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert not set(image.info) & {"exif", "icc_profile", "comment", "transparency", "dpi"}
    return image


@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "1", "P", "CMYK", "I;16", "I", "F"])
def test_align_image_is_a_plain_jpeg_and_half_halves(mode: str) -> None:
    image = Image.new(mode, (33, 21))
    image.info["exif"] = b"Exif\x00\x00fake"
    image.info["icc_profile"] = b"fake icc"
    assert _jpeg(align_image(image, "jpeg90")).size == (33, 21)
    assert _jpeg(align_image(image, "half-jpeg90")).size == (16, 10)
    assert _jpeg(align_image(Image.new(mode, (1, 3)), "half-jpeg90")).size == (1, 1)  # at least 1 px


def test_align_image_is_the_same_for_both_classes() -> None:
    """Only the pixels count: an 'AI' PNG with generator chunks and a 'camera' TIFF of the same
    pixels give byte-identical aligned files, so container and metadata cannot tell them apart."""
    rng = np.random.default_rng(1)
    pixels = Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8), "RGB")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a photo of a cat, Steps: 20, Sampler: Euler")
    png, tiff = io.BytesIO(), io.BytesIO()
    pixels.save(png, format="PNG", pnginfo=info)
    pixels.save(tiff, format="TIFF")
    for mode in ("jpeg90", "half-jpeg90"):
        from_png = align_image(Image.open(io.BytesIO(png.getvalue())), mode)
        from_tiff = align_image(Image.open(io.BytesIO(tiff.getvalue())), mode)
        assert from_png == from_tiff
        assert b"parameters" not in from_png


def test_align_image_applies_exif_orientation_and_flattens_alpha_on_white() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 200, 10)).save(out, format="JPEG", exif=exif)
    upright = _jpeg(align_image(Image.open(io.BytesIO(out.getvalue())), "jpeg90"))
    assert upright.size == (20, 40)
    assert _jpeg(align_image(Image.open(io.BytesIO(out.getvalue())), "half-jpeg90")).size == (10, 20)

    transparent = _jpeg(align_image(Image.new("RGBA", (16, 16), (0, 0, 0, 0)), "jpeg90"))
    assert min(transparent.getpixel((8, 8))) >= 250  # white, not the black under the alpha
    palette = Image.new("P", (16, 16), 3)
    palette.info["transparency"] = 3
    assert min(_jpeg(align_image(palette, "jpeg90")).getpixel((8, 8))) >= 250


def test_align_image_scales_sixteen_bit_instead_of_clipping() -> None:
    mid = _jpeg(align_image(Image.new("I;16", (16, 16), 32768), "jpeg90"))
    assert abs(mid.getpixel((8, 8))[0] - 128) <= 2


def test_align_modes_are_checked() -> None:
    assert ALIGN_MODES == ("none", "jpeg90", "half-jpeg90")
    assert parse_align(None) == "none"
    assert parse_align(" JPEG90 ") == "jpeg90"
    with pytest.raises(ValueError, match="unknown alignment 'webp'; choose one of none, jpeg90, half-jpeg90"):
        parse_align("webp")
    with pytest.raises(ValueError, match="unknown alignment"):
        align_image(Image.new("RGB", (4, 4)), "jpeg75")
    with pytest.raises(ValueError, match="other than 'none'"):
        align_image(Image.new("RGB", (4, 4)), "none")


# --------------------------------------------------------------------------- families


AI_CASES = [
    ("ai/cnndetection/crn/1_crn_fake.png", "CRN (cascaded refinement network)", "", "GAN"),
    ("ai/cnndetection/cyclegan/1.png", "CycleGAN", "real: ImageNet-style photos (horse/zebra/apple)", "GAN"),
    ("ai/cnndetection/gaugan/1.png", "GauGAN (SPADE)", "", "GAN"),
    ("ai/cnndetection/imle/1.png", "IMLE", "real = GTA-V game renders", "GAN"),
    ("x.png", "StyleGAN2-ADA", "", "GAN"),
    ("ai/cnndetection/san/1.png", "SAN super-resolution", "fake = AI-upscaled real photo", "AI processing"),
    ("ai/cnndetection/seeingdark/1.png", "SITD (learning to see in the dark)", "", "AI processing"),
    ("ai/cnndetection/deepfake/1.png", "DeepFakes face swap (FaceForensics++)", "", "AI processing"),
    ("x.png", "Stable Diffusion 2 inpainting of a real photo", "", "AI processing"),
    ("ai/sd-v1/00000.png", "Stable Diffusion v1 (CompVis scripts/txt2img.py)", "", "diffusion"),
    ("ai/comfyui/a.png", "SDXL-Turbo", "PNG tEXt prompt+workflow chunks (ComfyUI metadata)", "diffusion"),
    ("x.png", "FLUX.1 [dev]", "", "diffusion"),
    ("ai/comfyui/b.png", "Chroma1-HD (Flux-schnell-derived)", "", "diffusion"),
    ("ai/comfyui/c.png", "AuraFlow 0.2", "", "diffusion"),
    ("ai/comfyui/d.png", "Z-Image Turbo", "", "diffusion"),
    ("metadata/e.png", 'InvokeAI (legacy "Dream" format)', "", "diffusion"),
    ("c2pa/f.jpg", "Adobe Firefly (generative fill) via Photoshop", "", "closed service"),
    ("c2pa/g.png", 'Google Gemini 2.5 Flash Image ("nano-banana") via Adobe Firefly', "", "closed service"),
    ("x.png", "Midjourney v6.1", "", "closed service"),
    ("x.png", "DALL-E 3", "", "closed service"),
    ("x.png", "gpt-image-1", "", "closed service"),
    ("x.png", "LlamaGen", "", "autoregressive"),
    ("x.png", "Janus-Pro 7B", "", "autoregressive"),
    ("video/ai/a.webp", "Stable Video Diffusion (img2vid)", "animated WebP", "video model"),
    ("video/ai/b.webp", "Wan 2.1 t2v", "", "video model"),
    ("video/ai/c.mp4", "CogVideoX-2B", "", "video model"),
    ("clips/d.mp4", "some new model", "", "video model"),
    ("x.png", "", "", OTHER_AI),
]
HUMAN_CASES = [
    (
        "real/cnndetection/crn/1_crn_real.png",
        "none (GTA-V render)",
        "real = GTA-V game renders, NOT camera photos",
        "render/CG",
    ),
    ("real/e/t45.jpg", "none (video-game render: Gran Turismo 5 photo mode)", "EXIF Polyphony Digital", "render/CG"),
    ("video/real/bbb.mp4", "none (Blender CG animation)", "", "render/CG"),
    (
        "real/cnndetection/c/1.png",
        "camera (dataset photo)",
        "real: ImageNet-style photos (horse/zebra/apple)",
        "camera photo",
    ),
    ("real/e/canon.jpg", "camera (see EXIF Make/Model)", "EXIF Canon Canon EOS 40D", "camera photo"),
    ("real/e/heic.HEIC", "camera: Apple iPhone 11 Pro Max", "EXIF Apple iPhone 11 Pro Max", "phone photo"),
    ("real/e/s.jpg", "camera (see EXIF)", "Samsung SM-G930F phone; EXIF samsung SM-G930F", "phone photo"),
    (
        "c2pa/t.jpg",
        "non-AI test asset (real photo, procedural graphic or composite)",
        "EXIF Google Pixel 5",
        "phone photo",
    ),
    ("c2pa/C.jpg", "non-AI test asset (real photo/video, procedural graphic or composite)", "JPEG", "camera photo"),
    ("c2pa/C.dng", "non-AI procedural gradient test graphic, DNG with C2PA", "DNG format", "test graphic"),
    ("c2pa/libpng-test_with_url.png", "non-AI test asset (real photo/video, procedural graphic)", "", "test graphic"),
    ("docs/r.png", "scanned document (flatbed scanner)", "", "scan/document"),
    ("art/p.png", "hand-drawn illustration", "", "art/illustration"),
    ("x.png", "", "", OTHER_HUMAN),
]


@pytest.mark.parametrize(("file", "generator", "notes", "family"), AI_CASES)
def test_ai_families(file: str, generator: str, notes: str, family: str) -> None:
    assert family_of(file, generator, notes, "artificial") == family


@pytest.mark.parametrize(("file", "generator", "notes", "family"), HUMAN_CASES)
def test_human_families(file: str, generator: str, notes: str, family: str) -> None:
    assert family_of(file, generator, notes, " Human ") == family


def test_every_family_is_exercised_and_unlabelled_rows_have_none() -> None:
    assert {c[3] for c in AI_CASES} == {*AI_FAMILIES, OTHER_AI}
    assert {c[3] for c in HUMAN_CASES} == {*HUMAN_FAMILIES, OTHER_HUMAN}
    assert family_of("faces/dlib/testing.xml", "", "annotations", "") is None


def test_parts() -> None:
    assert part_of("ai/cnndetection/crn/1.png") == CNNDETECTION_PART
    assert part_of("real/cnndetection/crn/1.png") == CNNDETECTION_PART
    assert part_of("ai/comfyui/a.png") == RECENT_PART
    assert part_of("cnndetection/a.png") == RECENT_PART
    assert part_of("real/exif-samples/cnndetection.jpg") == RECENT_PART


# --------------------------------------------------------------------------- the report


class SeenDouble(Detector):
    """Test double: records the type and size of what the pipeline gave it; never votes."""

    name = "seen"
    version = "test-1"
    seen: ClassVar[list[tuple[str, tuple[int, int]]]] = []

    def _predict(self, media: MediaInput) -> Prediction:
        SeenDouble.seen.append((media.mime_type, media.image().size))
        return self.unknown("records only")


# file, label, generator, notes, grey level (the brightness double's score is level / 255)
ROWS: list[tuple[str, str, str, str, int]] = [
    ("ai/cnndetection/cyclegan/1_fake.png", "artificial", "CycleGAN", "", 200),
    ("ai/cnndetection/san/2_fake.png", "artificial", "SAN super-resolution", "", 120),
    ("real/cnndetection/cyclegan/3_real.png", "human", "camera (dataset photo)", "", 100),
    ("real/cnndetection/crn/4_real.png", "human", "none (GTA-V render)", "NOT camera photos", 150),
    ("ai/comfyui/5.png", "artificial", "SDXL 1.0", "ComfyUI", 220),
    ("ai/service/6.jpg", "artificial", "Midjourney v6", "", 90),
    ("real/exif/7.jpg", "human", "camera (see EXIF)", "EXIF Apple iPhone 12", 60),
    ("real/exif/8.jpg", "human", "camera", "", 180),
]
VIDEO = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)


def _manifest(root: Path) -> Path:
    for file, _, _, _, level in ROWS:
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (48, 32), (level, level, level)).save(path, format="JPEG" if file.endswith(".jpg") else "PNG")
    (root / "video/ai").mkdir(parents=True)
    (root / "video/ai/clip.mp4").write_bytes(VIDEO)
    manifest = root / "MANIFEST.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "generator", "source_repo", "source_path", "license", "notes"])
        for file, label, generator, notes, _ in ROWS:
            writer.writerow([file, label, generator, "test/repo", file, "CC0", notes])
        writer.writerow(["video/ai/clip.mp4", "artificial", "CogVideoX-2B", "test/repo", "clip.mp4", "CC0", ""])
    return manifest


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return _manifest(tmp_path / "eval")


def _registry() -> DetectorRegistry:
    return DetectorRegistry([ChunkProvenanceDouble(), BrightnessDouble(), SeenDouble()])


@pytest.mark.parametrize("align", ["none", "jpeg90", "half-jpeg90"])
def test_parts_and_families_hand_computed(manifest: Path, tmp_path: Path, align: str) -> None:
    run = run_evaluation(manifest, registry=_registry(), strip_metadata=True, align=align)
    md_path, json_path = write_reports(build_report(run), tmp_path / "out" / "evaluation")
    report = json.loads(json_path.read_text())

    parts = report["parts"]
    assert list(parts) == ["whole set", CNNDETECTION_PART, RECENT_PART]
    whole = parts["whole set"]["verdict"]
    # AI [200, 120, 220, 90] vs human [100, 150, 60, 180]: 11 of 16 pairs.
    assert whole["auc"] == pytest.approx(11 / 16)
    assert (whole["n_labelled"], whole["labels"]) == (8, {"artificial": 4, "human": 4})
    assert (whole["tpr"], whole["fpr"], whole["coverage"]) == (0.5, 0.5, 1.0)
    assert whole["auc_ci"]["low"] <= whole["auc"] <= whole["auc_ci"]["high"]
    assert whole["tpr_at_5pct_fpr_ci"]["low"] <= whole["tpr_at_5pct_fpr"] <= whole["tpr_at_5pct_fpr_ci"]["high"]
    # Each part: 3 of 4 pairs.
    assert parts[CNNDETECTION_PART]["verdict"]["auc"] == pytest.approx(0.75)
    assert parts[RECENT_PART]["verdict"]["auc"] == pytest.approx(0.75)
    assert parts[RECENT_PART]["detectors"]["brightness"]["auc"] == pytest.approx(0.75)

    cnn, recent = report["families"][CNNDETECTION_PART], report["families"][RECENT_PART]
    assert list(cnn) == ["GAN", "AI processing", "camera photo", "render/CG"]
    assert list(recent) == ["diffusion", "closed service", "camera photo", "phone photo"]
    # GAN (200) vs the part's humans [100, 150]; a human family against the part's AI [200, 120].
    assert (cnn["GAN"]["auc_vs_other_class"], cnn["AI processing"]["auc_vs_other_class"]) == (1.0, 0.5)
    assert (cnn["camera photo"]["auc_vs_other_class"], cnn["render/CG"]["auc_vs_other_class"]) == (1.0, 0.5)
    assert (cnn["GAN"]["called_artificial"], cnn["AI processing"]["called_human"]) == (1.0, 1.0)
    assert (cnn["render/CG"]["label"], cnn["render/CG"]["called_artificial"], cnn["render/CG"]["unknown"]) == (
        "human",
        1.0,
        0.0,
    )
    # Two humans in the part: no false positive allowed, the threshold is the highest human (150).
    assert cnn["GAN"]["called_artificial_at_5pct_fpr"] == 1.0
    assert cnn["render/CG"]["called_artificial_at_5pct_fpr"] == 0.0
    assert recent["phone photo"]["auc_vs_other_class"] == 1.0
    assert recent["closed service"]["generators"] == {"Midjourney v6": 1}
    assert recent["diffusion"]["detectors"]["brightness"]["auc_vs_other_class"] == 1.0

    files = {f["file"]: f for f in report["files"]}
    assert (files["real/exif/7.jpg"]["part"], files["real/exif/7.jpg"]["family"]) == (RECENT_PART, "phone photo")
    assert files["video/ai/clip.mp4"]["status"] == "skipped"

    markdown = md_path.read_text()
    assert "## Parts and families" in markdown
    assert f"| {CNNDETECTION_PART} | GAN | AI | 1 |" in markdown
    assert "| **whole set** | 8 (4 / 4) | 100.0% | 0.688 [" in markdown
    assert "Each detector's AUC per family" in markdown


def test_align_analyses_identical_jpegs_and_says_so(manifest: Path) -> None:
    SeenDouble.seen.clear()
    run = run_evaluation(manifest, registry=_registry(), align="half-jpeg90", perturbations="jpeg90,half")
    report = build_report(run)
    # Every image of both classes reached the detectors as a half-size JPEG, then its perturbed copies.
    baseline = SeenDouble.seen[::3]
    assert baseline == [("image/jpeg", (24, 16))] * len(ROWS)
    assert {size for _, size in SeenDouble.seen[2::3]} == {(12, 8)}  # `half` of the aligned image
    assert report["config"]["align"] == "half-jpeg90"
    assert report["config"]["strip_metadata"] is True
    assert report["alignment"] == {
        "mode": "half-jpeg90",
        "description": report["alignment"]["description"],
        "images_aligned": len(ROWS),
        "videos_not_aligned": 1,
    }
    files = {f["file"]: f for f in report["files"]}
    assert files["ai/comfyui/5.png"]["perturbations"]["half"]["mime_type"] == "image/jpeg"  # on top of the JPEG
    flips = report["perturbations"]["jpeg90"]["verdict_flips"]
    assert flips["compared"] == len(ROWS)
    markdown = render_markdown(report)
    assert "**Aligned (`--align half-jpeg90`)**" in markdown
    assert "Metadata does not survive the re-encode" in markdown
    assert "1 video file(s) **not aligned**" in markdown


def test_align_removes_the_metadata_forcing(tmp_path: Path) -> None:
    root = tmp_path / "eval"
    root.mkdir()
    info = PngImagePlugin.PngInfo()
    info.add_text("test-generator", "made-by-testgen")
    Image.new("RGB", (20, 20), (30, 30, 30)).save(root / "a.png", pnginfo=info)
    (root / "MANIFEST.csv").write_text("file,label,generator\na.png,artificial,TestGen\n")
    plain = build_report(run_evaluation(root / "MANIFEST.csv", registry=_registry()))
    aligned = build_report(run_evaluation(root / "MANIFEST.csv", registry=_registry(), align="jpeg90"))
    assert plain["forcing"]["forced"] == 1
    assert aligned["forcing"]["forced"] == 0


def test_cli_accepts_align_and_refuses_an_unknown_one(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "report" / "aligned"
    args = ["eval", str(manifest), "--out", str(out), "--align", "jpeg90", "--perturb", "half", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{CNNDETECTION_PART}: n 4" in result.output
    data: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    assert (data["config"]["align"], data["alignment"]["videos_not_aligned"]) == ("jpeg90", 1)
    bad = CliRunner().invoke(app, ["eval", str(manifest), "--align", "webp", "--no-progress"])
    assert bad.exit_code == 2
    message = " ".join(re.sub(r"[│╭╮╰╯─]", " ", bad.output).split())  # the error panel wraps lines
    assert "--align: unknown alignment 'webp'; choose one of none, jpeg90, half-jpeg90" in message
