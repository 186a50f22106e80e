"""The generator-metadata provenance detector, on the shared evaluation set and on files made here.

Expectations for the shared files come from ``shared/eval/MANIFEST.csv`` (label, generator,
notes) and from the metadata each file is documented to carry, not from the detector's own
output. Hostile inputs are built byte by byte so that the limits are really exercised.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from originlens.detectors.base import MediaInput, Prediction
from originlens.detectors.metadata import MetadataDetector
from originlens.detectors.metadata import detector as detector_module
from tests.support.shared_data import EVAL, MANIFEST, needs_eval
from tests.support.shared_data import MIME_BY_EXT as SHARED_MIME_BY_EXT

MIME_BY_EXT = {**SHARED_MIME_BY_EXT, ".heic": "image/heic"}
NOT_IMAGES = {".xml", ".mp4", ".csv", ".md"}

DETECTOR = MetadataDetector()

A1111_TEXT = (
    "a red fox in the snow, <lora:winter_style:0.7>\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 1234567, Size: 512x768, "
    'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "winter_style: 0a1b2c3d4e5f", '
    "Version: v1.10.1"
)
AI_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def predict(data: bytes, mime: str = "image/png", **kw: Any) -> Prediction:
    return DETECTOR.predict(MediaInput(data=data, mime_type=mime, **kw))


def manifest_rows() -> list[dict[str, str]]:
    with MANIFEST.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def image_rows() -> list[dict[str, str]]:
    return [r for r in manifest_rows() if Path(r["file"]).suffix.lower() not in NOT_IMAGES]


def predict_file(rel: str) -> Prediction:
    path = EVAL / rel
    return predict(path.read_bytes(), MIME_BY_EXT[path.suffix.lower()], name=path.name)


# ---------------------------------------------------------------------- builders


def png_bytes(
    info: PngImagePlugin.PngInfo | None = None, *, size: tuple[int, int] = (16, 16), mode: str = "RGB"
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (120, 130, 140, 255)[: len(mode)] if mode != "L" else 128).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def chunk(ctype: bytes, body: bytes, *, declared: int | None = None) -> bytes:
    length = len(body) if declared is None else declared
    return struct.pack(">I", length) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_with_chunks(*chunks: bytes, truncate_after_chunks: bool = False) -> bytes:
    """A small valid PNG with raw chunks inserted before IEND (or replacing the tail)."""
    base = png_bytes()
    iend = base.rfind(b"IEND") - 4
    if truncate_after_chunks:
        return base[:iend] + b"".join(chunks)
    return base[:iend] + b"".join(chunks) + base[iend:]


def xmp_packet(description_attrs: str = "", body: str = "", namespaces: str = "") -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f"{namespaces} {description_attrs}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


def png_with_xmp(packet: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    return png_bytes(info)


def jpeg_bytes(
    *,
    exif: Image.Exif | None = None,
    xmp: bytes | None = None,
    size: tuple[int, int] = (32, 24),
    quality: int = 85,
) -> bytes:
    out = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif
    if xmp is not None:
        kwargs["xmp"] = xmp
    Image.new("RGB", size, (90, 100, 110)).save(out, "JPEG", **kwargs)
    return out.getvalue()


def camera_exif(make: str = "Canon", model: str = "Canon EOS 5D") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0131] = "Firmware Version 1.1.1"
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = 1 / 200  # ExposureTime
    sub[0x829D] = 8.0  # FNumber
    sub[0x8827] = 400  # ISO
    sub[0x9003] = "2024:05:01 12:00:00"  # DateTimeOriginal
    return exif


def user_comment_exif(comment: bytes) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = comment
    return exif


def embed_stealth(image: Image.Image, payload: bytes, magic: bytes, mode: str) -> Image.Image:
    """Hide ``payload`` the way NovelAI / sd-webui stealth-pnginfo do: LSBs, column by column."""
    data = magic + struct.pack(">I", len(payload) * 8) + payload
    bits = [int(b) for byte in data for b in f"{byte:08b}"]
    image = image.copy()
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    per_pixel = 1 if mode == "alpha" else 3
    assert len(bits) <= width * height * per_pixel, "image too small for the payload"
    index = 0
    for x in range(width):
        for y in range(height):
            if index >= len(bits):
                return image
            value = list(pixels[x, y])  # type: ignore[arg-type]
            channels = [3] if mode == "alpha" else [0, 1, 2]
            for c in channels:
                if index < len(bits):
                    value[c] = (value[c] & ~1) | bits[index]
                    index += 1
            pixels[x, y] = tuple(value)
    return image


def save_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noisy_rgba(size: tuple[int, int] = (64, 64)) -> Image.Image:
    image = Image.new("RGBA", size)
    image.putdata([((x * 7) % 256, (x * 13) % 256, (x * 29) % 256, 255) for x in range(size[0] * size[1])])
    return image


def assert_forced(prediction: Prediction) -> None:
    assert prediction.forces == "artificial", prediction.details
    assert prediction.artificial == pytest.approx(0.99)
    assert not prediction.unknown
    assert prediction.details["reason"]


def assert_not_forced(prediction: Prediction) -> None:
    assert prediction.forces is None, prediction.details


# ---------------------------------------------------------------------- contract


def test_detector_metadata() -> None:
    assert MetadataDetector.name == "metadata"
    assert MetadataDetector.kind == "provenance"
    assert MetadataDetector.version == "1.0"
    assert MetadataDetector.relevance == pytest.approx(0.9)
    for mime in ("image/png", "image/jpeg", "image/webp", "image/gif", "image/tiff"):
        assert DETECTOR.accepts(MediaInput(b"", mime))
    assert not DETECTOR.accepts(MediaInput(b"", "video/mp4"))
    prediction = predict(b"\x00\x00", "video/mp4")
    assert prediction.unknown


def test_details_are_json_serialisable() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    prediction = predict(png_bytes(info))
    assert json.loads(json.dumps(prediction.details, allow_nan=False)) == prediction.details


# ---------------------------------------------------------------------- shared evaluation set

# file -> (generator, text that the source names, parameters that must be reported)
METADATA_EXPECTED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "metadata/a1111/kolors_controlnet_woman_3.png": (
        "AUTOMATIC1111",
        "'parameters'",
        {"steps": 20, "sampler": "DPM++ 2M Karras", "seed": 702709188, "model": "revAnimated_v122"},
    ),
    "metadata/sd-parsers/AUTOMATIC1111__automatic1111_cropped.jpg": (
        "AUTOMATIC1111",
        "UserComment",
        {"prompt": "photo of a duck", "negative_prompt": "monochrome", "steps": 15, "seed": 235284042},
    ),
    "metadata/sd-parsers/AUTOMATIC1111__automatic1111_cropped.png": (
        "AUTOMATIC1111",
        "'parameters'",
        {
            "prompt": "photo of a duck",
            "sampler": "UniPC",
            "cfg_scale": 5.0,
            "model": "realistic_realisticVisionV20_v20",
        },
    ),
    "metadata/sd-parsers/AUTOMATIC1111__automatic1111_stealth.png": (
        "AUTOMATIC1111",
        "stealth_pngcomp",
        {"prompt": "a circle", "negative_prompt": "a square", "steps": 20, "version": "v1.9.4-169-ga30b19dd"},
    ),
    "metadata/sd-parsers/ComfyUI__img2img_cropped.png": (
        "ComfyUI",
        "'prompt'",
        {"model": "v1-5-pruned-emaonly.ckpt", "steps": 20, "seed": 280823642470253},
    ),
    "metadata/sd-parsers/ComfyUI__night_evening_day_morning_cropped.png": (
        "ComfyUI",
        "'prompt'",
        {"steps": 13, "sampler": "dpmpp_sde", "seed": 335608130539327},
    ),
    "metadata/sd-parsers/ComfyUI__noisy_latents_3_subjects_cropped.png": (
        "ComfyUI",
        "'prompt'",
        {"model": "Anything-V3.0.ckpt"},
    ),
    "metadata/sd-parsers/ComfyUI__unclip_2pass_cropped.png": (
        "ComfyUI",
        "'prompt'",
        {"seed": 1106257833005336, "steps": 26, "sampler": "uni_pc_bh2"},
    ),
    "metadata/sd-parsers/Fooocus__fooocus1_cropped.png": (
        "Fooocus",
        "'parameters'",
        {"prompt": "a smiling goldfish", "model": "juggernautXL_v8Rundiffusion", "steps": 30, "size": "768x1280"},
    ),
    "metadata/sd-parsers/InvokeAI__invokeai_dream1.png": (
        "InvokeAI",
        "'Dream'",
        {"seed": 2980747362, "steps": 50, "size": "512x768", "sampler": "k_lms", "cfg_scale": 5.0},
    ),
    "metadata/sd-parsers/InvokeAI__invokeai_imeta1.png": (
        "InvokeAI",
        "'invokeai_metadata'",
        {"model": "juggernautXL", "steps": 35, "seed": 3293022630, "size": "1024x1024"},
    ),
    "metadata/sd-parsers/InvokeAI__invokeai_sdmeta1.png": (
        "InvokeAI",
        "'sd-metadata'",
        {"model": "deliberateForInvoke_v08", "version": "2.3.0", "steps": 50},
    ),
    "metadata/sd-parsers/NovelAI__novelai1_cropped.png": (
        "NovelAI",
        "'Comment'",
        {"prompt": "masterpiece, best quality,  cat, space, icon", "seed": 2253955223, "sampler": "k_euler_ancestral"},
    ),
}
IPTC_REFERENCE = "metadata/iptc/IPTC-PhotometadataRef-Std2021.1.jpg"


@needs_eval
def test_every_metadata_eval_file_has_an_expectation() -> None:
    listed = {r["file"] for r in manifest_rows() if r["file"].startswith("metadata/")}
    assert listed == set(METADATA_EXPECTED) | {IPTC_REFERENCE}


@needs_eval
@pytest.mark.parametrize("rel", sorted(METADATA_EXPECTED))
def test_metadata_eval_file_attributed_to_its_generator(rel: str) -> None:
    row = next(r for r in manifest_rows() if r["file"] == rel)
    generator, source, parameters = METADATA_EXPECTED[rel]
    assert row["label"] == "artificial"
    assert row["generator"].startswith(generator), "the manifest and this test disagree"

    prediction = predict_file(rel)

    assert_forced(prediction)
    assert prediction.details["generator"] == generator
    assert source in prediction.details["source"]
    reported = prediction.details["parameters"]
    for key, value in parameters.items():
        assert reported.get(key) == value, (key, reported)
    assert generator in prediction.details["reason"]
    assert source in prediction.details["reason"]


@needs_eval
def test_iptc_reference_image_is_reported_but_not_judged() -> None:
    row = next(r for r in manifest_rows() if r["file"] == IPTC_REFERENCE)
    declared = re.search(r"DigitalSourceType=(\w+)", row["notes"])
    assert declared, row["notes"]
    assert row["label"] == "human"

    prediction = predict_file(IPTC_REFERENCE)

    # softwareImage is neither generative AI nor a capture: reported, never forced, not scored.
    assert declared.group(1) == "softwareImage"
    assert prediction.details["digital_source_type"] == declared.group(1)
    assert_not_forced(prediction)
    assert prediction.unknown
    assert "softwareImage" in prediction.details["reason"]


def _comfy_rows() -> list[str]:
    if not MANIFEST.is_file():
        return []
    return [
        r["file"]
        for r in manifest_rows()
        if r["file"].startswith("ai/comfyui/")
        or (r["file"].startswith("video/ai/") and r["file"].endswith(".webp") and "workflow" in r["notes"])
    ]


@needs_eval
def test_comfyui_eval_set_is_complete() -> None:
    rows = _comfy_rows()
    assert len([r for r in rows if r.endswith(".png")]) == 17
    assert len([r for r in rows if r.endswith(".webp")]) == 3


@needs_eval
@pytest.mark.parametrize("rel", _comfy_rows())
def test_comfyui_images_are_forced_artificial(rel: str) -> None:
    prediction = predict_file(rel)

    assert_forced(prediction)
    assert prediction.details["generator"] == "ComfyUI"
    params = prediction.details["parameters"]
    assert isinstance(params.get("model"), str) and params["model"], params
    if rel.endswith(".webp"):
        assert "EXIF" in prediction.details["source"], "animated WebPs carry the graph in EXIF"
        assert "camera" not in prediction.details, "ComfyUI's EXIF Make/Model are not a camera"
    else:
        assert prediction.details["source"] == "PNG tEXt chunk 'prompt'"


_CAMERA_NOTE = re.compile(r"(?:^|; )EXIF (.+?)(?:;|$)")


def _camera_rows() -> list[tuple[str, str]]:
    if not MANIFEST.is_file():
        return []
    out = []
    for r in manifest_rows():
        note = _CAMERA_NOTE.search(r["notes"])
        ext = Path(r["file"]).suffix.lower()
        camera = r["generator"].startswith("camera")  # not the Gran Turismo render with a game's "Make"
        if (
            r["file"].startswith("real/")
            and camera
            and note
            and MIME_BY_EXT.get(ext, "").startswith(DETECTOR.media_types)
        ):
            out.append((r["file"], note.group(1)))
    return out


@needs_eval
def test_camera_eval_set_is_not_empty() -> None:
    assert len(_camera_rows()) >= 40


@needs_eval
@pytest.mark.parametrize(("rel", "camera_note"), _camera_rows())
def test_camera_photos_are_weak_human_evidence(rel: str, camera_note: str) -> None:
    prediction = predict_file(rel)

    assert_not_forced(prediction)
    assert not prediction.unknown
    assert prediction.artificial == pytest.approx(0.3)
    camera = prediction.details["camera"]
    squashed = " ".join(camera_note.split())
    assert camera.get("make", "") in squashed or camera.get("model", "") in squashed, (camera, camera_note)
    assert "weak evidence of a photograph" in prediction.details["reason"]
    assert camera["name"] in prediction.details["reason"]


@needs_eval
def test_real_files_without_metadata_are_unknown() -> None:
    rows = [
        r
        for r in image_rows()
        if r["file"].startswith("real/") and "EXIF" not in r["notes"] and "chunks:" not in r["notes"]
    ]
    assert len(rows) >= 100
    for row in rows:
        prediction = predict_file(row["file"])
        assert prediction.unknown, (row["file"], prediction.details)
        assert prediction.details["reason"] == "no generator or camera metadata"
        assert prediction.forces is None


@needs_eval
def test_camera_from_xmp_when_exif_is_gone() -> None:
    # scikit-image's chelsea.png keeps the camera only in its XMP (tiff:Make / tiff:Model).
    prediction = predict_file("real/pypi-scikit-image/chelsea.png")
    assert prediction.artificial == pytest.approx(0.3)
    assert prediction.details["camera"]["from"] == "XMP"
    assert "PENTAX" in prediction.details["camera"]["name"]


@needs_eval
def test_no_human_file_is_ever_forced_artificial() -> None:
    rows = image_rows()
    human = [r for r in rows if r["label"] == "human"]
    assert len(human) > 200
    forced = []
    for row in rows:
        prediction = predict_file(row["file"])  # every image row: none may raise
        assert prediction.forces in (None, "artificial")
        if row["label"] == "human" and prediction.forces == "artificial":
            forced.append((row["file"], prediction.details.get("reason")))
    assert forced == []


@needs_eval
def test_ai_declaring_xmp_in_the_c2pa_set() -> None:
    # Gemini via Firefly: XMP DigitalSourceType trainedAlgorithmicMedia + Credit "Made with Google AI".
    prediction = predict_file("c2pa/c2pa-js/firefly_thirdparty_gemini.png")
    assert_forced(prediction)
    assert prediction.details["digital_source_type"] == "trainedAlgorithmicMedia"
    assert "DigitalSourceType" in prediction.details["source"]
    assert "Google" in prediction.details["generator"]


# ---------------------------------------------------------------------- A1111 parameters in every container


@pytest.mark.parametrize("how", ["tEXt", "iTXt", "zTXt"])
def test_png_parameters_in_each_text_chunk_type(how: str) -> None:
    info = PngImagePlugin.PngInfo()
    if how == "tEXt":
        info.add_text("parameters", A1111_TEXT)
    elif how == "iTXt":
        info.add_itxt("parameters", A1111_TEXT)
    else:
        info.add_text("parameters", A1111_TEXT, zip=True)
    data = png_bytes(info)
    assert f"{how}parameters".encode() in data

    prediction = predict(data)

    assert_forced(prediction)
    details = prediction.details
    assert details["generator"] == "AUTOMATIC1111"
    assert details["source"] == f"PNG {how} chunk 'parameters'"
    assert details["reason"] == (
        f"PNG {how} chunk 'parameters' written by AUTOMATIC1111 (Steps 20, Sampler Euler a, Model v1-5-pruned-emaonly)"
    )
    assert details["parameters"] == {
        "prompt": "a red fox in the snow, <lora:winter_style:0.7>",
        "negative_prompt": "blurry, lowres",
        "steps": 20,
        "sampler": "Euler a",
        "schedule_type": "Karras",
        "cfg_scale": 7.0,
        "seed": 1234567,
        "size": "512x768",
        "model": "v1-5-pruned-emaonly",
        "model_hash": "6ce0161689",
        "version": "v1.10.1",
        "loras": ["winter_style"],
    }


def test_forge_and_fooocus_a1111_style_parameters_are_named() -> None:
    for version, generator in (("f2.0.1v1.10.1-previous-313-g8a042934", "Stable Diffusion WebUI Forge"),):
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", A1111_TEXT.replace("v1.10.1", version))
        prediction = predict(png_bytes(info))
        assert prediction.details["generator"] == generator
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT.replace("v1.10.1", "Fooocus v2.5.3"))
    info.add_text("fooocus_scheme", "a1111")
    assert predict(png_bytes(info)).details["generator"] == "Fooocus"


def test_long_prompt_is_truncated_to_300_characters() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "word " * 2000 + "\n" + A1111_TEXT.split("\n", 1)[1])
    prompt = predict(png_bytes(info)).details["parameters"]["prompt"]
    assert len(prompt) == 300 and prompt.endswith("…")


def test_parameters_without_a_generation_line_do_not_force() -> None:
    # A1111 "Extras" (upscaling a photo) writes parameters with no sampling: not generation.
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "Postprocess upscale by: 4, Postprocess upscaler: R-ESRGAN 4x+")
    prediction = predict(png_bytes(info))
    assert_not_forced(prediction)
    assert prediction.unknown


@pytest.mark.parametrize(
    ("header", "encoding"),
    [(b"UNICODE\x00", "utf-16-be"), (b"UNICODE\x00", "utf-16-le"), (b"ASCII\x00\x00\x00", "ascii")],
)
def test_jpeg_exif_user_comment(header: bytes, encoding: str) -> None:
    data = jpeg_bytes(exif=user_comment_exif(header + A1111_TEXT.encode(encoding)))

    prediction = predict(data, "image/jpeg")

    assert_forced(prediction)
    assert prediction.details["source"] == "EXIF UserComment"
    assert prediction.details["parameters"]["seed"] == 1234567
    assert prediction.details["parameters"]["prompt"].startswith("a red fox")


def test_webp_exif_user_comment() -> None:
    out = io.BytesIO()
    exif = user_comment_exif(b"UNICODE\x00" + A1111_TEXT.encode("utf-16-be"))
    Image.new("RGB", (16, 16)).save(out, "WEBP", exif=exif, quality=80)

    prediction = predict(out.getvalue(), "image/webp")

    assert_forced(prediction)
    assert prediction.details["generator"] == "AUTOMATIC1111"


def test_comfyui_graph_in_png_and_in_animated_webp_exif() -> None:
    graph = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "fog", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 42,
                "steps": 25,
                "cfg": 7.5,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
    }
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(graph))
    png = predict(png_bytes(info))
    assert_forced(png)
    assert png.details["parameters"] == {
        "prompt": "a lighthouse",
        "negative_prompt": "fog",
        "model": "sd_xl_base_1.0.safetensors",
        "checkpoints": ["sd_xl_base_1.0.safetensors"],
        "sampler": "euler",
        "scheduler": "normal",
        "steps": 25,
        "cfg_scale": 7.5,
        "seed": 42,
        "denoise": 1.0,
        "size": "1024x1024",
        "nodes": 5,
    }

    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(graph)
    exif[0x010F] = "workflow:" + json.dumps({"last_node_id": 7, "nodes": [{"id": 3, "type": "KSampler"}], "links": []})
    frames = [Image.new("RGB", (16, 16), (i * 40, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], exif=exif, duration=100)
    webp = predict(out.getvalue(), "image/webp")
    assert_forced(webp)
    assert webp.details["source"] == "WebP EXIF chunk Model ('prompt:' value)"
    assert webp.details["parameters"]["model"] == "sd_xl_base_1.0.safetensors"
    assert "camera" not in webp.details


# ---------------------------------------------------------------------- XMP, IPTC, AIGC, Midjourney, software


@pytest.mark.parametrize(
    "packet",
    [
        xmp_packet(f'Iptc4xmpExt:DigitalSourceType="{AI_DST}"'),
        xmp_packet(body=f"<Iptc4xmpExt:DigitalSourceType>{AI_DST}</Iptc4xmpExt:DigitalSourceType>"),
        xmp_packet(body=f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{AI_DST}"/>'),
        # DigitalSourceType anywhere, in any namespace (here a made-up one)
        xmp_packet(body=f"<foo:DigitalSourceType>{AI_DST}</foo:DigitalSourceType>", namespaces='xmlns:foo="urn:x"'),
    ],
)
def test_xmp_ai_digital_source_type_forces(packet: str) -> None:
    prediction = predict(png_with_xmp(packet))
    assert_forced(prediction)
    assert prediction.details["digital_source_type"] == "trainedAlgorithmicMedia"
    assert "DigitalSourceType" in prediction.details["source"]


def test_xmp_in_jpeg_composite_with_ai_and_camera_exif() -> None:
    packet = xmp_packet(
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
        'compositeWithTrainedAlgorithmicMedia"'
    )
    data = jpeg_bytes(exif=camera_exif(), xmp=packet.encode())

    prediction = predict(data, "image/jpeg")

    # AI metadata wins over the camera, and the camera is still reported.
    assert_forced(prediction)
    assert prediction.details["digital_source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert prediction.details["camera"]["name"] == "Canon EOS 5D"
    assert "camera EXIF (Canon EOS 5D) is also present" in prediction.details["reason"]


def test_human_digital_source_type_is_weak_human_evidence() -> None:
    packet = xmp_packet('Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"')
    prediction = predict(png_with_xmp(packet))
    assert_not_forced(prediction)
    assert prediction.artificial == pytest.approx(0.3)
    assert prediction.details["digital_source_type"] == "digitalCapture"


def test_procedural_digital_source_type_is_not_ai() -> None:
    packet = xmp_packet(
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"'
    )
    prediction = predict(png_with_xmp(packet))
    assert_not_forced(prediction)
    assert prediction.unknown


def test_camera_exif_alone_is_weak_and_reported() -> None:
    prediction = predict(jpeg_bytes(exif=camera_exif()), "image/jpeg")

    assert_not_forced(prediction)
    assert prediction.artificial == pytest.approx(0.3)
    assert prediction.details["reason"] == "camera EXIF (Canon EOS 5D) is weak evidence of a photograph"
    assert prediction.details["camera"] == {
        "name": "Canon EOS 5D",
        "make": "Canon",
        "model": "Canon EOS 5D",
        "datetime_original": "2024:05:01 12:00:00",
        "f_number": 8.0,
        "iso": 400,
        "exposure_time": "1/200",
    }


AIGC_JSON = {
    "Label": "1",
    "ContentProducer": "001191100000000000000000X00001",
    "ProduceID": "A2025091200001",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
    "ReservedCode2": "",
}


def test_aigc_label_in_xmp() -> None:
    escaped = json.dumps(AIGC_JSON).replace('"', "&quot;")
    packet = xmp_packet(
        body=f"<TC260:AIGC>{escaped}</TC260:AIGC>", namespaces='xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"'
    )

    prediction = predict(png_with_xmp(packet))

    assert_forced(prediction)
    assert prediction.details["source"] == "XMP TC260:AIGC"
    assert prediction.details["parameters"]["label"] == "1"
    assert prediction.details["parameters"]["produce_id"] == "A2025091200001"
    assert "GB 45438-2025 Label 1" in prediction.details["reason"]


def test_aigc_label_in_a_png_text_chunk_and_uncertain_labels() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", json.dumps(AIGC_JSON))
    assert_forced(predict(png_bytes(info)))

    for label in ("2", "3"):
        info = PngImagePlugin.PngInfo()
        info.add_text("AIGC", json.dumps({**AIGC_JSON, "Label": label}))
        prediction = predict(png_bytes(info))
        assert_not_forced(prediction)  # "possibly" / "suspected": strong, but not proof
        assert prediction.artificial == pytest.approx(0.8)
        assert f"Label {label}" in prediction.details["reason"]

    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", json.dumps({**AIGC_JSON, "Label": "0"}))
    assert predict(png_bytes(info)).unknown


def test_aigc_label_in_exif_user_comment() -> None:
    data = jpeg_bytes(exif=user_comment_exif(b"ASCII\x00\x00\x00" + json.dumps({"AIGC": AIGC_JSON}).encode()))
    assert_forced(predict(data, "image/jpeg"))


MJ = "a castle on a hill at dawn --ar 16:9 --v 6.1 Job ID: 1c7e2b9a-3f4d-4e5a-9b8c-7d6e5f4a3b2c"


def test_midjourney_description_in_png_and_jpeg() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone")
    info.add_text("Description", MJ)
    prediction = predict(png_bytes(info))
    assert_forced(prediction)
    assert prediction.details["generator"] == "Midjourney"
    assert prediction.details["parameters"] == {
        "prompt": "a castle on a hill at dawn --ar 16:9 --v 6.1",
        "job_id": "1c7e2b9a-3f4d-4e5a-9b8c-7d6e5f4a3b2c",
        "version": "6.1",
    }

    exif = Image.Exif()
    exif[0x010E] = MJ  # ImageDescription
    assert predict(jpeg_bytes(exif=exif), "image/jpeg").details["generator"] == "Midjourney"

    packet = xmp_packet(
        body=f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{MJ}</rdf:li></rdf:Alt></dc:description>'
    )
    assert predict(png_with_xmp(packet)).details["source"] == "XMP dc:description"


@pytest.mark.parametrize(
    ("software", "generator"),
    [
        ("NovelAI", "NovelAI"),
        ("Midjourney", "Midjourney"),
        ("DALL-E 3", "DALL-E"),
        ("Adobe Firefly", "Adobe Firefly"),
        ("ComfyUI", "ComfyUI"),
        ("Stable Diffusion XL", "Stable Diffusion"),
        ("Imagen 3", "Google Imagen"),
        ("Leonardo.Ai", "Leonardo.Ai"),
        ("FLUX.1 [dev]", "Flux"),
        ("Adobe Photoshop 25.0 (Windows)", None),
        ("Adobe Photoshop Lightroom Classic 13.0", None),
        ("GIMP 2.10.34", None),
        ("paint.net 4.2.12", None),
        ("Leonardo", None),
        ("Imagen", None),
        ("Ver.1.00", None),
    ],
)
def test_generator_named_in_exif_software(software: str, generator: str | None) -> None:
    exif = Image.Exif()
    exif[0x0131] = software
    prediction = predict(jpeg_bytes(exif=exif), "image/jpeg")
    if generator is None:
        assert_not_forced(prediction)
        assert prediction.unknown
    else:
        assert_forced(prediction)
        assert prediction.details["generator"] == generator
        assert prediction.details["source"] == "EXIF Software"


def test_creator_tool_in_xmp() -> None:
    packet = xmp_packet('xmp:CreatorTool="Adobe Firefly"')
    assert predict(png_with_xmp(packet)).details["generator"] == "Adobe Firefly"
    packet = xmp_packet('xmp:CreatorTool="Adobe Photoshop 26.0 (Macintosh)"')
    assert predict(png_with_xmp(packet)).unknown


# ---------------------------------------------------------------------- stealth payloads


def test_novelai_stealth_pngcomp_in_alpha() -> None:
    comment = {"steps": 28, "sampler": "k_euler_ancestral", "seed": 77, "scale": 5.0, "uc": "bad hands"}
    payload = json.dumps(
        {
            "Description": "1girl, cherry blossoms",
            "Software": "NovelAI",
            "Source": "NovelAI Diffusion V4.5 4BDE2A90",
            "Comment": json.dumps(comment),
        }
    ).encode()
    image = embed_stealth(noisy_rgba(), gzip.compress(payload), b"stealth_pngcomp", "alpha")

    prediction = predict(save_png(image))

    assert_forced(prediction)
    assert prediction.details["generator"] == "NovelAI"
    assert "stealth_pngcomp" in prediction.details["source"]
    params = prediction.details["parameters"]
    assert params["prompt"] == "1girl, cherry blossoms"
    assert params["seed"] == 77
    assert params["model"] == "NovelAI Diffusion V4.5 4BDE2A90"


def test_a1111_stealth_pnginfo_in_alpha_and_rgbinfo_in_rgb() -> None:
    alpha = embed_stealth(noisy_rgba((64, 48)), A1111_TEXT.encode(), b"stealth_pnginfo", "alpha")
    prediction = predict(save_png(alpha))
    assert_forced(prediction)
    assert prediction.details["source"] == "alpha-channel LSB payload (stealth_pnginfo)"
    assert prediction.details["parameters"]["seed"] == 1234567

    rgb = embed_stealth(
        noisy_rgba((40, 30)).convert("RGB"), gzip.compress(A1111_TEXT.encode()), b"stealth_rgbcomp", "rgb"
    )
    prediction = predict(save_png(rgb))
    assert_forced(prediction)
    assert prediction.details["source"] == "RGB-channel LSB payload (stealth_rgbcomp)"


def test_stealth_in_lossless_webp() -> None:
    image = embed_stealth(noisy_rgba(), A1111_TEXT.encode(), b"stealth_pnginfo", "alpha")
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True)
    assert_forced(predict(out.getvalue(), "image/webp"))


def test_stealth_payload_longer_than_the_image_is_cut_not_crashed() -> None:
    image = noisy_rgba((16, 16))
    data = b"stealth_pnginfo" + struct.pack(">I", 0x7FFFFFF8)  # declares ~268 MB
    bits = [int(b) for byte in data for b in f"{byte:08b}"]
    pixels = image.load()
    assert pixels is not None
    for i, bit in enumerate(bits):
        x, y = divmod(i, 16)
        r, g, b, a = pixels[x, y]  # type: ignore[misc]
        pixels[x, y] = (r, g, b, (a & ~1) | bit)
    prediction = predict(save_png(image))
    assert prediction.forces == "artificial"  # the magic alone is the stealth saver's mark
    assert any("cut" in n for n in prediction.details["notes"])


def test_jpeg_is_never_decoded() -> None:
    # Only PNG and WebP can carry a stealth payload; a JPEG's pixels are never decoded.
    media = MediaInput(jpeg_bytes(exif=camera_exif(), size=(4000, 3000), quality=90), "image/jpeg")
    prediction = DETECTOR.predict(media)
    assert media.decoded is None
    assert prediction.artificial == pytest.approx(0.3)


def test_png_with_generator_metadata_is_not_decoded() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    media = MediaInput(png_bytes(info, size=(512, 512)), "image/png")
    DETECTOR.predict(media)
    assert media.decoded is None


# ---------------------------------------------------------------------- hostile input


def test_50_mb_declared_text_chunk_is_read_as_far_as_the_file_goes() -> None:
    data = png_with_chunks(
        chunk(b"tEXt", b"parameters\x00" + A1111_TEXT.encode(), declared=50_000_000), truncate_after_chunks=True
    )
    started = time.perf_counter()
    prediction = predict(data)
    assert time.perf_counter() - started < 2
    assert_forced(prediction)
    assert any("declares 50000000 bytes" in n for n in prediction.details["notes"])


def test_5_mb_text_chunks_are_capped() -> None:
    data = png_with_chunks(
        chunk(b"tEXt", b"Comment\x00" + b"x" * 5_000_000),
        chunk(b"tEXt", b"parameters\x00" + b"Steps: 1, " + b'a: "\\"' * 700_000),
        chunk(b"tEXt", b"Description\x00" + b"Steps:\n" * 700_000),
        chunk(b"iTXt", b"parameters\x00\x00\x00\x00\x00" + A1111_TEXT.encode()),
    )
    started = time.perf_counter()
    prediction = predict(data)
    assert time.perf_counter() - started < 3
    assert_forced(prediction)
    assert prediction.details["source"] == "PNG iTXt chunk 'parameters'"
    assert any("'Comment' cut to 1048576 characters" in n for n in prediction.details["notes"])


def test_total_text_budget() -> None:
    chunks = [chunk(b"tEXt", f"junk{i}".encode() + b"\x00" + b"y" * 1_100_000) for i in range(5)]
    chunks.append(chunk(b"tEXt", b"parameters\x00" + A1111_TEXT.encode()))
    prediction = predict(png_with_chunks(*chunks))
    # The 4 Mi budget is spent by the junk before the parameters: absence is not evidence.
    assert prediction.unknown
    assert any("budget" in n for n in prediction.details["notes"])


def test_ztxt_decompression_bomb_is_capped() -> None:
    bomb = zlib.compress(b"a" * 50_000_000, 9)
    data = png_with_chunks(chunk(b"zTXt", b"parameters\x00\x00" + bomb))
    started = time.perf_counter()
    prediction = predict(data)
    assert time.perf_counter() - started < 2
    assert prediction.unknown
    assert any("zTXt chunk 'parameters' cut" in n for n in prediction.details["notes"])


def test_malformed_xmp_is_scanned_not_crashed() -> None:
    broken = f'<x:xmpmeta><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType="{AI_DST}">'
    prediction = predict(png_with_xmp(broken))
    assert_forced(prediction)
    assert any("not well-formed" in n for n in prediction.details["notes"])

    garbage = predict(png_with_xmp("<<<<>>>>&&&;\x00\ufffd</x:xmpmeta"))
    assert garbage.unknown


def test_xmp_entity_expansion_is_refused() -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + "]>"
        + xmp_packet(f'Iptc4xmpExt:DigitalSourceType="{AI_DST}"', body="&lol9;")
    )
    started = time.perf_counter()
    prediction = predict(png_with_xmp(laughs))
    assert time.perf_counter() - started < 1
    assert prediction.unknown  # nothing is read from a refused packet
    assert any("XMP refused" in n for n in prediction.details["notes"])


def test_json_nested_10000_deep_is_refused_without_recursion_error() -> None:
    deep_array = "[" * 10_000 + "]" * 10_000
    deep_object = '{"a":' * 10_000 + "1" + "}" * 10_000
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", deep_array)
    info.add_text("workflow", deep_object)
    info.add_text("invokeai_metadata", deep_object)
    info.add_text("parameters", deep_object)
    info.add_text("AIGC", deep_object)
    prediction = predict(png_bytes(info))
    assert prediction.unknown
    assert prediction.forces is None
    assert sum("nested deeper than 64" in n for n in prediction.details["notes"]) >= 4


def test_invalid_utf8_is_replaced() -> None:
    body = b"\xff\xfe\xc3( fox\nSteps: 20, Sampler: Euler, Seed: 3, Size: 64x64"
    data = png_with_chunks(chunk(b"iTXt", b"parameters\x00\x00\x00\x00\x00" + body))
    prediction = predict(data)
    assert_forced(prediction)
    assert "\ufffd" in prediction.details["parameters"]["prompt"]

    latin1 = png_with_chunks(chunk(b"tEXt", b"parameters\x00caf\xe9\nSteps: 2, Sampler: Euler, Seed: 3"))
    assert predict(latin1).details["parameters"]["prompt"] == "café"

    bad_comment = jpeg_bytes(exif=user_comment_exif(b"UNICODE\x00\xd8\x00\x00a"))  # lone surrogate
    assert predict(bad_comment, "image/jpeg").unknown


@needs_eval
def test_truncated_files_still_give_what_is_there() -> None:
    png = (EVAL / "metadata/sd-parsers/ComfyUI__img2img_cropped.png").read_bytes()
    cut = png[: png.find(b"IDAT") + 10]
    assert_forced(predict(cut))

    jpeg = (EVAL / "metadata/sd-parsers/AUTOMATIC1111__automatic1111_cropped.jpg").read_bytes()
    assert_forced(predict(jpeg[: jpeg.find(b"\xff\xdb")], "image/jpeg"))

    big = (EVAL / "metadata/a1111/kolors_controlnet_woman_3.png").read_bytes()
    for size in (8, 20, 33, 100, len(big) // 2):
        predict(big[:size])  # must not raise


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"", "image/png"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64, "image/png"),
        (b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\x00\x00MM\x00*\xff\xff\xff\xff" * 100, "image/jpeg"),
        (b"\xff\xd8" + b"\xff" * 10_000, "image/jpeg"),
        (b"RIFF\xff\xff\xff\xffWEBPEXIF\xff\xff\xff\x7fII*\x00", "image/webp"),
        (b"GIF89a" + b"\x00" * 7 + b"\x21\xfe" + b"\xff" * 1000, "image/gif"),
        (b"MM\x00*\x00\x00\x00\x08\xff\xff" + b"\x00" * 64, "image/tiff"),
        (b"not an image at all", "image/png"),
    ],
)
def test_garbage_never_raises(data: bytes, mime: str) -> None:
    prediction = predict(data, mime)
    assert prediction.forces is None
    assert prediction.unknown


def test_unexpected_errors_become_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(data: bytes) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(detector_module, "read_containers", explode)
    prediction = predict(png_bytes())
    assert prediction.unknown
    assert prediction.details["reason"] == "metadata could not be read"  # the exception is in the log


def test_gif_comment_and_tiff_software() -> None:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF", comment=MJ.encode())
    assert predict(out.getvalue(), "image/gif").details["generator"] == "Midjourney"

    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0131] = "Midjourney"
    Image.new("RGB", (8, 8)).save(out, "TIFF", exif=exif)
    prediction = predict(out.getvalue(), "image/tiff")
    assert prediction.details["generator"] == "Midjourney"
    assert prediction.details["source"] == "TIFF Software"
