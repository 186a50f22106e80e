"""Unit tests of the metadata detector's building blocks: JSON guard, text parsers, XMP, EXIF, containers."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib

import pytest
from PIL import Image

from originlens.detectors.metadata.containers import MAX_FIELD_CHARS, Field, read_containers, read_iim
from originlens.detectors.metadata.exif import decode_user_comment, parse_exif
from originlens.detectors.metadata.parsers import (
    JsonRejected,
    find_generators,
    json_depth_ok,
    load_json,
    match_generator_software,
    parse_a1111,
    parse_aigc,
    parse_comfy_prompt,
    parse_comfy_workflow,
    parse_dream,
    parse_midjourney,
)
from originlens.detectors.metadata.stealth import read_stealth
from originlens.detectors.metadata.xmp import parse_xmp

# ---------------------------------------------------------------------- JSON depth guard


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("[" * 64 + "]" * 64, True),
        ("[" * 65 + "]" * 65, False),
        ('{"a":' * 64 + "1" + "}" * 64, True),
        ('{"a":' * 65 + "1" + "}" * 65, False),
        ("[" * 10_000 + "]" * 10_000, False),
        ("[" * 1_000_000, False),
        ('["' + "[" * 10_000 + '"]', True),  # brackets inside a string do not nest
        ('["\\"' + "[" * 10_000 + '"]', True),  # nor after an escaped quote
        ('[{"k": "v"}, [1, 2, [3]]]' * 10_000, True),  # wide is fine
    ],
)
def test_json_depth_guard(text: str, ok: bool) -> None:
    assert json_depth_ok(text) is ok


@pytest.mark.parametrize(
    "text",
    [
        '"\\"' * 350_000 + "[" * 100,
        '"' + '\\"' * 500_000 + "[" * 100,
        '"' + "\\" * 1_000_001 + "[" * 100,
        '""' * 500_000 + "[" * 100,
        "[" * 1_000_000,
    ],
)
def test_json_depth_guard_is_linear_on_hostile_text(text: str) -> None:
    started = time.perf_counter()
    json_depth_ok(text)
    assert time.perf_counter() - started < 1.5


def test_load_json() -> None:
    assert load_json('{"a": [1, 2]}') == {"a": [1, 2]}
    assert load_json("not json") is None
    assert load_json("{broken") is None
    assert load_json("1" * 10_000) is None  # only objects and arrays
    assert load_json("[" + "1" * 5000 + "]") is None  # int too long for Python: no crash
    with pytest.raises(JsonRejected):
        load_json("[" * 10_000 + "]" * 10_000)


# ---------------------------------------------------------------------- A1111 infotext


def test_a1111_multiline_prompts_and_quoted_values() -> None:
    text = (
        "line one\nline two\n"
        "Negative prompt: bad\nworse\n"
        "Steps: 30, Sampler: DPM++ 2M, CFG scale: 4.5, Seed: 99999999999999999999, Size: 832x1216, "
        'Model: sdxl, TI hashes: "a: 1, b: 2", Denoising strength: 0.35, Clip skip: 2'
    )
    params = parse_a1111(text)
    assert params is not None
    assert params["prompt"] == "line one\nline two"
    assert params["negative_prompt"] == "bad\nworse"
    assert params["steps"] == 30
    assert params["cfg_scale"] == 4.5
    assert params["seed"] == "99999999999999999999"  # beyond 2**53: kept exact as text
    assert params["denoising_strength"] == 0.35
    assert params["clip_skip"] == 2
    assert params["_generator"] == "AUTOMATIC1111"


@pytest.mark.parametrize(
    "text",
    [
        "a prompt with no parameters",
        "Steps: 20",  # steps alone
        "Steps: 20, Sampler: Euler",  # one core key is not enough
        "Steps: twenty, Sampler: Euler, Seed: 1",  # steps must be a number
        "Postprocess upscale by: 2, Postprocess upscaler: 4x-UltraSharp",
        "Camera settings. Steps: walk, Seed: none",
    ],
)
def test_a1111_rejects_look_alikes(text: str) -> None:
    assert parse_a1111(text) is None


def test_a1111_hostile_lines_are_fast() -> None:
    for text in (
        "Steps: 1" + " a" * 500_000,
        "Steps: 1, " + 'a: "\\"' * 150_000,
        "Steps: 1, " + "k" * 1_000_000,
        "Steps:\n" * 150_000,
    ):
        started = time.perf_counter()
        parse_a1111(text[:MAX_FIELD_CHARS])
        assert time.perf_counter() - started < 1


# ---------------------------------------------------------------------- other generators


def test_dream_line() -> None:
    params = parse_dream('"a cat on a mat" -s 50 -S 42 -W 512 -H 768 -C 7.5 -A k_lms')
    assert params == {
        "prompt": "a cat on a mat",
        "steps": 50,
        "seed": 42,
        "cfg_scale": 7.5,
        "sampler": "k_lms",
        "size": "512x768",
        "model": None,
    }
    assert parse_dream('"just a quote" and words') is None
    assert parse_dream("no quotes -s 50 -S 42") is None


def test_comfy_prompt_needs_a_node_graph() -> None:
    assert parse_comfy_prompt({"3": {"inputs": {}}}) is None
    assert parse_comfy_prompt({"a": 1}) is None
    assert parse_comfy_prompt([]) is None
    params = parse_comfy_prompt(
        {
            "12": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
            "13": {"class_type": "LoraLoader", "inputs": {"lora_name": "style.safetensors"}},
            "20": {"class_type": "RandomNoise", "inputs": {"noise_seed": 5}},
            "21": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        }
    )
    assert params is not None
    assert params["model"] == "flux1-dev.safetensors"
    assert params["loras"] == ["style.safetensors"]
    assert params["seed"] == 5
    assert params["sampler"] == "euler"


def test_comfy_workflow() -> None:
    workflow = {
        "last_node_id": 9,
        "links": [],
        "nodes": [
            {"id": 4, "type": "CheckpointLoaderSimple", "widgets_values": ["dreamshaper_8.safetensors"]},
            {"id": 5, "type": "CheckpointLoaderSimple", "mode": 4, "widgets_values": ["bypassed.safetensors"]},
            {"id": 3, "type": "KSampler", "widgets_values": [7, "randomize", 20, 8, "euler", "normal", 1]},
        ],
    }
    params = parse_comfy_workflow(workflow)
    assert params is not None
    assert params["checkpoints"] == ["dreamshaper_8.safetensors"]
    assert (params["seed"], params["steps"], params["sampler"]) == (7, 20, "euler")
    assert parse_comfy_workflow({"nodes": [{"type": "X"}]}) is None  # no graph keys
    assert parse_comfy_workflow({"nodes": "x", "links": []}) is None


def test_aigc_parsing() -> None:
    label = {"Label": "1", "ContentProducer": "producer", "ProduceID": "42"}
    assert parse_aigc(json.dumps(label))["label"] == "1"  # type: ignore[index]
    escaped = json.dumps(label).replace('"', "&quot;")
    assert parse_aigc(escaped)["content_producer"] == "producer"  # type: ignore[index]
    assert parse_aigc(json.dumps({"AIGC": label}))["produce_id"] == "42"  # type: ignore[index]
    assert parse_aigc(json.dumps({"AIGC": json.dumps(label)}))["label"] == "1"  # type: ignore[index]
    assert parse_aigc('{"NoLabel": 1}') is None
    assert parse_aigc("AI generated") is None


def test_midjourney() -> None:
    params = parse_midjourney("a fox --niji 6 Job ID: 0d1f2e3c-4b5a-4968-8776-a5b4c3d2e1f0")
    assert params == {"prompt": "a fox --niji 6", "job_id": "0d1f2e3c-4b5a-4968-8776-a5b4c3d2e1f0", "version": "niji 6"}
    assert parse_midjourney("Job ID: not-a-uuid") is None
    started = time.perf_counter()
    assert parse_midjourney("Job ID: " * 100_000) is None
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("software", "expected"),
    [
        ("DALL·E 3", "DALL-E"),
        ("dall-e", "DALL-E"),
        ("ChatGPT", "OpenAI"),
        ("Stable Diffusion web UI", "AUTOMATIC1111"),
        ("sd-webui-forge", "Stable Diffusion WebUI Forge"),
        ("Gemini 2.5 Flash Image", "Google Gemini"),
        ("Ideogram 3.0", "Ideogram"),
        ("NovelAI", "NovelAI"),
        ("Adobe Photoshop 2024", None),
        ("Adobe Lightroom", None),
        ("Photos 8.0", None),
        ("Picasa", None),
        ("Snapseed", None),
        ("Canon EOS Utility", None),
        ("Fluxbox screenshot", None),
        ("Gemini PDF reader", None),
        ("Da Vinci Resolve", None),
    ],
)
def test_generator_software_names(software: str, expected: str | None) -> None:
    assert match_generator_software(software) == expected


def test_field_keys_drive_the_parsers() -> None:
    # A plain "prompt" text (not a ComfyUI graph) and a look-alike Comment are not generator metadata.
    scan = find_generators(
        [
            Field("PNG tEXt chunk 'prompt'", "prompt", "a castle"),
            Field("PNG tEXt chunk 'Comment'", "Comment", '{"steps": 2}'),
            Field("PNG tEXt chunk 'Software'", "Software", "Adobe Photoshop 25.0"),
        ]
    )
    assert scan.findings == []


# ---------------------------------------------------------------------- EXIF


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"UNICODE\x00" + "héllo".encode("utf-16-be"), "héllo"),
        (b"UNICODE\x00" + "héllo".encode("utf-16-le"), "héllo"),
        (b"UNICODE\x00\xff\xfe" + "hi".encode("utf-16-le"), "hi"),
        (b"ASCII\x00\x00\x00hello\x00", "hello"),
        (b"\x00" * 8 + b"hello", "hello"),
        (b"JIS\x00\x00\x00\x00\x00" + "日本".encode("shift_jis"), "日本"),
        (b"no header at all", "no header at all"),
        ((72, 105), "Hi"),
        ("already text", "already text"),
        (b"ASCII\x00\x00\x00\xff\xfe", "\ufffd\ufffd"),
    ],
)
def test_user_comment_decoding(raw: object, text: str) -> None:
    assert decode_user_comment(raw) == text


def test_parse_exif_reads_comfy_values_and_camera() -> None:
    exif = Image.Exif()
    exif[0x010F] = "workflow:{}"
    exif[0x0110] = "Pixel 8"
    blob = exif.tobytes()
    info = parse_exif(blob, "WebP EXIF chunk")
    assert ("WebP EXIF chunk Make ('workflow:' value)", "workflow", "{}") in info.fields
    assert info.camera == {"model": "Pixel 8"}


# ---------------------------------------------------------------------- XMP


def test_xmp_refuses_dtd_and_entities() -> None:
    for packet in (
        b'<!DOCTYPE x [<!ENTITY a "b">]><x/>',
        b'<x:xmpmeta><!ENTITY a SYSTEM "file:///etc/passwd"></x:xmpmeta>',
    ):
        info = parse_xmp(packet, "test")
        assert info.error and "refused" in info.error
        assert info.fields == [] and info.digital_source_types == []


def test_xmp_reads_properties_and_camera() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        b'xmp:CreatorTool="Draw Things" tiff:Make="Sony" tiff:Model="ILCE-7M4">'
        b"<Iptc4xmpExt:AISystemUsed>Imagen 4</Iptc4xmpExt:AISystemUsed>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = parse_xmp(packet, "test")
    assert info.error is None
    assert ("XMP xmp:CreatorTool", "CreatorTool", "Draw Things") in info.fields
    assert ("XMP Iptc4xmpExt:AISystemUsed", "AISystemUsed", "Imagen 4") in info.fields
    assert info.camera == {"make": "Sony", "model": "ILCE-7M4"}


def test_xmp_huge_or_deep_packets_are_bounded() -> None:
    deep = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a>" * 19_000 + b"</a>" * 19_000 + b"</x:xmpmeta>"
    wide = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b"<a b='1'/>" * 100_000 + b"</x:xmpmeta>"
    for packet in (deep, wide, b"<" * 2_000_000):
        started = time.perf_counter()
        parse_xmp(packet, "test")
        assert time.perf_counter() - started < 1


# ---------------------------------------------------------------------- containers


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def test_png_reader_keeps_order_and_reads_after_idat() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    data = out.getvalue()
    iend = data.rfind(b"IEND") - 4
    data = data[:iend] + _chunk(b"tEXt", b"late\x00after IDAT") + data[iend:]
    meta = read_containers(data)
    assert [(f.key, f.value) for f in meta.fields] == [("late", "after IDAT")]


def test_imagemagick_raw_iptc_profile() -> None:
    iim = b"\x1c\x02\x6e\x00\x13Made with Google AI"
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + b"\x00"
    hex_text = f"\nIPTC profile\n{len(resource):8d}\n{resource.hex()}\n"
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    data = out.getvalue()
    iend = data.rfind(b"IEND") - 4
    body = b"Raw profile type iptc\x00\x00" + zlib.compress(hex_text.encode())
    meta = read_containers(data[:iend] + _chunk(b"zTXt", body) + data[iend:])
    assert meta.iptc and read_iim(meta.iptc[0][1]) == [("Credit", "Made with Google AI")]


def test_jpeg_extended_xmp_is_reassembled() -> None:
    packet = b"<x:xmpmeta>" + b"x" * 100 + b"</x:xmpmeta>"
    guid = b"0" * 32
    segments = b""
    for offset in range(0, len(packet), 60):
        body = b"http://ns.adobe.com/xmp/extension/\x00" + guid + struct.pack(">II", len(packet), offset)
        body += packet[offset : offset + 60]
        segments += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    data = b"\xff\xd8" + segments + b"\xff\xd9"
    meta = read_containers(data)
    assert meta.xmp == [("JPEG APP1 extended XMP", packet)]


def test_stealth_reader_ignores_ordinary_images() -> None:
    image = Image.new("RGBA", (64, 64), (10, 20, 30, 255))
    assert read_stealth(image) is None
    assert read_stealth(Image.new("L", (64, 64))) is None
    assert read_stealth(Image.new("RGBA", (1, 1))) is None
