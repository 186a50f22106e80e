"""Recognising generator metadata in text fields: what wrote it and with which parameters.

Every parser is conservative: it answers only when the text has the structure that the
generator writes (A1111's ``Steps: N, Sampler: ...`` line, ComfyUI's node graph, InvokeAI's
JSON...), never on a keyword alone, except for the list of generator names matched against
*software* fields (EXIF Software, XMP CreatorTool...), where a name is the claim.

JSON is parsed only after an iterative depth check (``MAX_JSON_DEPTH``), so hostile nesting
can never reach Python's recursion limit. Regular expressions are bounded so that no input
makes them backtrack quadratically.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from originlens.detectors.metadata.containers import MAX_FIELD_CHARS, Field

MAX_JSON_DEPTH = 64
PROMPT_CHARS = 300
TEXT_CHARS = 200
MAX_LIST_ITEMS = 10

# Ranks: lower is more specific; the best finding becomes the headline.
RANK_PARAMETERS = 0
RANK_PARTIAL = 1
"""Generator metadata that another field of the same file describes better (a ComfyUI
``workflow`` beside its ``prompt``, InvokeAI's ``Dream`` line beside ``sd-metadata``)."""
RANK_MIDJOURNEY = 2
RANK_LABEL = 3
RANK_SOURCE_TYPE = 4
RANK_SOFTWARE = 5


@dataclass
class Finding:
    """One piece of generator metadata."""

    generator: str
    source: str
    rank: int
    parameters: dict[str, Any] = field(default_factory=dict)
    conclusive: bool = True
    """False for claims that only say "maybe AI" (AIGC Label 2 or 3)."""
    what: str = "written by"
    """How the reason sentence links source and generator: "written by", "declares"..."""


# ---------------------------------------------------------------------- safe JSON

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)')
"""A JSON string, or an unterminated one up to the end: always matches at a quote, never backtracks."""
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when no array/object in ``text`` nests deeper than ``limit``.

    Linear and iterative, with no Python-level loop per character: strings are removed with
    one regular expression that cannot backtrack, everything but brackets with another, and
    the running depth is a C-level ``accumulate``.
    """
    if text.count("[") + text.count("{") <= limit:
        return True
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return True
    return max(accumulate(map(_BRACKET_DELTA.__getitem__, brackets))) <= limit


class JsonRejected(ValueError):
    """The text nests deeper than ``MAX_JSON_DEPTH``: refused without parsing."""


def load_json(text: str) -> Any:
    """``json.loads`` behind the depth check; None when the text is not JSON.

    Raises ``JsonRejected`` when the nesting is too deep.
    """
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or len(stripped) > MAX_FIELD_CHARS:
        return None
    if not json_depth_ok(stripped):
        raise JsonRejected(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


# ---------------------------------------------------------------------- value cleaning


def _short(value: Any, limit: int = TEXT_CHARS) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int | str | None:
    """An integer (seeds beyond 2**53 stay strings so JSON clients keep every digit)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,40}\s*", value)
    ):
        number = int(value)
    else:
        return None
    return number if abs(number) <= 2**53 else str(number)


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return round(number, 4) if math.isfinite(number) else None


def clean_parameters(raw: dict[str, Any]) -> dict[str, Any]:
    """A small JSON-safe dict: prompts cut to 300 characters, other text to 200, short lists."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key in ("prompt", "negative_prompt"):
            text = _short(value, PROMPT_CHARS)
            if text:
                out[key] = text
        elif isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                continue
            out[key] = value
        elif isinstance(value, list | tuple):
            items = [s for s in (_short(v) for v in value[:MAX_LIST_ITEMS]) if s]
            if items:
                out[key] = items
        else:
            text = _short(value)
            if text:
                out[key] = text
    return out


# ---------------------------------------------------------------------- AUTOMATIC1111 / Forge

_A1111_PARAM = re.compile(r'\s*(\w[\w \-/]{0,63}):\s*("(?:[^"\\]|\\.){0,4000}"|[^,]*)(?:,|$)')
_A1111_CORE = frozenset({"Sampler", "CFG scale", "Seed", "Size", "Model", "Model hash"})
_LORA_TAG = re.compile(r"<(?:lora|lyco):([^:<>]{1,120})(?::[^<>]{0,40})?>")
_MAX_PARAM_LINE = 16_384


def parse_a1111(text: str) -> dict[str, Any] | None:
    """AUTOMATIC1111's infotext: prompt, ``Negative prompt: ...``, then ``Steps: N, Sampler: ...``.

    Needs ``Steps`` as an integer and at least two of Sampler, CFG scale, Seed, Size, Model,
    Model hash on the same line; anything less is not taken as A1111 output.
    """
    if "Steps:" not in text:
        return None
    lines = text.strip().split("\n")
    index = max(i for i, line in enumerate(lines) if "Steps:" in line)
    raw: dict[str, str] = {}
    for match in _A1111_PARAM.finditer(lines[index][:_MAX_PARAM_LINE]):
        key, value = match.group(1).strip(), match.group(2).strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            try:
                decoded = json.loads(value)
                value = decoded if isinstance(decoded, str) else value
            except ValueError:
                pass
        raw.setdefault(key, value)
        if len(raw) >= 200:
            break
    if not raw.get("Steps", "").isdigit() or len(_A1111_CORE & raw.keys()) < 2:
        return None
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    target = prompt_lines
    for line in lines[:index]:
        if line.startswith("Negative prompt:"):
            target = negative_lines
            line = line[len("Negative prompt:") :]
        target.append(line)
    prompt = "\n".join(prompt_lines).strip()
    params: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": "\n".join(negative_lines).strip(),
        "steps": _int(raw.get("Steps")),
        "sampler": raw.get("Sampler"),
        "schedule_type": raw.get("Schedule type"),
        "cfg_scale": _float(raw.get("CFG scale")),
        "seed": _int(raw.get("Seed")),
        "size": raw.get("Size"),
        "model": raw.get("Model"),
        "model_hash": raw.get("Model hash"),
        "vae": raw.get("VAE"),
        "denoising_strength": _float(raw.get("Denoising strength")),
        "clip_skip": _int(raw.get("Clip skip")),
        "version": raw.get("Version"),
        "loras": _unique(m.group(1) for m in _LORA_TAG.finditer(prompt[:MAX_FIELD_CHARS])),
    }
    params["_generator"] = _a1111_name(raw)
    return params


def _a1111_name(raw: dict[str, str]) -> str:
    version = raw.get("Version", "")
    if version.lower().startswith("fooocus"):
        return "Fooocus"
    if re.match(r"f\d", version):
        return "Stable Diffusion WebUI Forge"
    if "Civitai resources" in raw or "Civitai metadata" in raw:
        return "Civitai"
    return "AUTOMATIC1111"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))[:MAX_LIST_ITEMS]


# ---------------------------------------------------------------------- Fooocus, SwarmUI, generic JSON


def parse_parameters_json(obj: Any, *, fooocus_marker: bool) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(obj, dict):
        return None
    version = str(obj.get("version", ""))
    if fooocus_marker or version.lower().startswith("fooocus") or obj.get("metadata_scheme") == "fooocus":
        resolution = re.findall(r"\d+", str(obj.get("resolution", "")))
        return "Fooocus", {
            "prompt": obj.get("prompt"),
            "negative_prompt": obj.get("negative_prompt"),
            "steps": _int(obj.get("steps")),
            "sampler": obj.get("sampler"),
            "scheduler": obj.get("scheduler"),
            "cfg_scale": _float(obj.get("guidance_scale")),
            "seed": _int(obj.get("seed")),
            "size": "x".join(resolution[:2]) if len(resolution) >= 2 else None,
            "model": obj.get("base_model"),
            "model_hash": obj.get("base_model_hash"),
            "version": version or None,
        }
    swarm = obj.get("sui_image_params")
    if isinstance(swarm, dict):
        width, height = _int(swarm.get("width")), _int(swarm.get("height"))
        return "SwarmUI", {
            "prompt": swarm.get("prompt"),
            "negative_prompt": swarm.get("negativeprompt"),
            "steps": _int(swarm.get("steps")),
            "sampler": swarm.get("sampler"),
            "cfg_scale": _float(swarm.get("cfgscale")),
            "seed": _int(swarm.get("seed")),
            "size": f"{width}x{height}" if width and height else None,
            "model": swarm.get("model"),
            "version": swarm.get("swarm_version"),
        }
    known = {"seed", "steps", "sampler", "sampler_name", "cfg_scale", "guidance_scale", "model", "scheduler"}
    if isinstance(obj.get("prompt"), str) and len(known & obj.keys()) >= 2:
        return "Stable Diffusion front-end (unidentified)", {
            "prompt": obj.get("prompt"),
            "negative_prompt": obj.get("negative_prompt"),
            "steps": _int(obj.get("steps")),
            "sampler": obj.get("sampler") or obj.get("sampler_name"),
            "cfg_scale": _float(obj.get("cfg_scale", obj.get("guidance_scale"))),
            "seed": _int(obj.get("seed")),
            "model": obj.get("model"),
        }
    return None


# ---------------------------------------------------------------------- ComfyUI

_MODEL_INPUTS = ("ckpt_name", "unet_name", "gguf_name", "model_path")
_TEXT_INPUTS = ("text", "text_g", "t5xxl", "clip_l", "prompt")
_MAX_NODES = 5000


def _node_order(key: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", key)[:4]
    return tuple(int(p) for p in parts) if parts else (1 << 30,)


def parse_comfy_prompt(obj: Any) -> dict[str, Any] | None:
    """ComfyUI's API-format graph: ``{"3": {"class_type": "KSampler", "inputs": {...}}, ...}``."""
    if not isinstance(obj, dict):
        return None
    nodes: dict[str, dict[str, Any]] = {}
    for key, node in list(obj.items())[:_MAX_NODES]:
        if isinstance(node, dict) and isinstance(node.get("class_type"), str) and isinstance(node.get("inputs"), dict):
            nodes[str(key)] = node
    if not nodes:
        return None
    ordered = [nodes[k] for k in sorted(nodes, key=_node_order)]
    checkpoints: list[str] = []
    loras: list[str] = []
    first: dict[str, Any] = {}
    size: str | None = None
    linked: dict[str, Any] = {}
    for node in ordered:
        inputs: dict[str, Any] = node["inputs"]
        for name in _MODEL_INPUTS:
            if isinstance(inputs.get(name), str):
                checkpoints.append(inputs[name])
        if isinstance(inputs.get("lora_name"), str):
            loras.append(inputs["lora_name"])
        for name in ("seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "denoise"):
            value = inputs.get(name)
            if name not in first and isinstance(value, int | float | str) and not isinstance(value, bool):
                first[name] = value
        if size is None and "latent" in node["class_type"].lower():
            width, height = _int(inputs.get("width")), _int(inputs.get("height"))
            if isinstance(width, int) and isinstance(height, int):
                size = f"{width}x{height}"
        for side in ("positive", "negative"):
            if side not in linked and isinstance(inputs.get(side), list):
                linked[side] = _linked_text(inputs[side], nodes)
    prompt = linked.get("positive")
    if prompt is None:
        prompt = next(
            (n["inputs"].get("text") for n in ordered if n["class_type"].startswith("CLIPTextEncode")),
            None,
        )
    return {
        "prompt": prompt if isinstance(prompt, str) else None,
        "negative_prompt": linked.get("negative"),
        "model": checkpoints[0] if checkpoints else None,
        "checkpoints": _unique(checkpoints),
        "loras": _unique(loras),
        "sampler": first.get("sampler_name"),
        "scheduler": first.get("scheduler"),
        "steps": _int(first.get("steps")),
        "cfg_scale": _float(first.get("cfg")),
        "seed": _int(first.get("seed", first.get("noise_seed"))),
        "denoise": _float(first.get("denoise")),
        "size": size,
        "nodes": len(nodes),
    }


def _linked_text(link: list[Any], nodes: dict[str, dict[str, Any]]) -> str | None:
    if not link:
        return None
    node = nodes.get(str(link[0]))
    if node is None:
        return None
    for name in _TEXT_INPUTS:
        value = node["inputs"].get(name)
        if isinstance(value, str):
            return value
    return None


def parse_comfy_workflow(obj: Any) -> dict[str, Any] | None:
    """ComfyUI's UI-format workflow: ``{"nodes": [{"type": ..., "widgets_values": [...]}], "links": [...]}``."""
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        return None
    if not any(key in obj for key in ("links", "last_node_id", "last_link_id", "version")):
        return None
    raw_nodes: list[Any] = list(obj["nodes"][:_MAX_NODES])
    definitions = obj.get("definitions")
    if isinstance(definitions, dict) and isinstance(definitions.get("subgraphs"), list):
        for graph in definitions["subgraphs"][:50]:
            if isinstance(graph, dict) and isinstance(graph.get("nodes"), list):
                raw_nodes.extend(graph["nodes"][:_MAX_NODES])
    nodes = [n for n in raw_nodes[:_MAX_NODES] if isinstance(n, dict) and isinstance(n.get("type"), str)]
    if not nodes:
        return None
    checkpoints: list[str] = []
    loras: list[str] = []
    params: dict[str, Any] = {}
    for node in nodes:
        if node.get("mode") in (2, 4):  # muted or bypassed
            continue
        kind = node["type"]
        lower = kind.lower()
        widgets = node.get("widgets_values")
        head = widgets[0] if isinstance(widgets, list) and widgets else None
        if isinstance(head, str) and ("checkpoint" in lower or "unet" in lower) and "save" not in lower:
            checkpoints.append(head)
        if isinstance(head, str) and "lora" in lower:
            loras.append(head)
        if kind == "KSampler" and isinstance(widgets, list) and len(widgets) >= 6 and "steps" not in params:
            params.update(
                seed=_int(widgets[0]),
                steps=_int(widgets[2]),
                cfg_scale=_float(widgets[3]),
                sampler=widgets[4] if isinstance(widgets[4], str) else None,
                scheduler=widgets[5] if isinstance(widgets[5], str) else None,
            )
    params.update(
        model=checkpoints[0] if checkpoints else None,
        checkpoints=_unique(checkpoints),
        loras=_unique(loras),
        nodes=len(nodes),
    )
    return params


# ---------------------------------------------------------------------- InvokeAI


def parse_invokeai_metadata(obj: Any) -> dict[str, Any] | None:
    """InvokeAI 3+ ``invokeai_metadata`` JSON."""
    if not isinstance(obj, dict):
        return None
    markers = ("positive_prompt", "generation_mode", "model", "app_version", "seed")
    if not any(key in obj for key in markers):
        return None
    model = obj.get("model")
    if isinstance(model, dict):
        model = model.get("model_name") or model.get("name")
    width, height = _int(obj.get("width")), _int(obj.get("height"))
    return {
        "prompt": obj.get("positive_prompt"),
        "negative_prompt": obj.get("negative_prompt"),
        "steps": _int(obj.get("steps")),
        "sampler": obj.get("scheduler"),
        "cfg_scale": _float(obj.get("cfg_scale")),
        "seed": _int(obj.get("seed")),
        "size": f"{width}x{height}" if width and height else None,
        "model": model if isinstance(model, str) else None,
        "generation_mode": obj.get("generation_mode"),
        "version": obj.get("app_version"),
    }


def parse_sd_metadata(obj: Any) -> dict[str, Any] | None:
    """InvokeAI 2.x ``sd-metadata`` JSON."""
    if not isinstance(obj, dict):
        return None
    image = obj.get("image")
    if not isinstance(image, dict) and "invoke" not in str(obj.get("app_id", "")).lower():
        return None
    image = image if isinstance(image, dict) else {}
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(str(p.get("prompt", "")) for p in prompt[:20] if isinstance(p, dict))
    width, height = _int(image.get("width")), _int(image.get("height"))
    return {
        "prompt": prompt if isinstance(prompt, str) else None,
        "steps": _int(image.get("steps")),
        "sampler": image.get("sampler"),
        "cfg_scale": _float(image.get("cfg_scale")),
        "seed": _int(image.get("seed")),
        "size": f"{width}x{height}" if width and height else None,
        "model": obj.get("model_weights"),
        "model_hash": obj.get("model_hash"),
        "version": obj.get("app_version"),
    }


_DREAM_OPTION = re.compile(r"(?:^|\s)-([sSWHCAm])\s+(\S{1,200})")


def parse_dream(text: str) -> dict[str, Any] | None:
    """InvokeAI / lstein "Dream" command line: ``"prompt" -s 50 -S 42 -W 512 -H 768 -C 7.5 -A k_lms``."""
    stripped = text.strip()
    if not stripped.startswith('"'):
        return None
    end = stripped.rfind('"')
    if end <= 0:
        return None
    options = dict((m.group(1), m.group(2)) for m in _DREAM_OPTION.finditer(stripped[end + 1 : end + 4096]))
    if len(options.keys() & {"s", "S", "W", "H", "C", "A"}) < 2:
        return None
    width, height = _int(options.get("W")), _int(options.get("H"))
    return {
        "prompt": stripped[1:end],
        "steps": _int(options.get("s")),
        "seed": _int(options.get("S")),
        "cfg_scale": _float(options.get("C")),
        "sampler": options.get("A"),
        "size": f"{width}x{height}" if width and height else None,
        "model": options.get("m"),
    }


# ---------------------------------------------------------------------- NovelAI


def parse_novelai_comment(obj: Any) -> dict[str, Any] | None:
    """NovelAI's ``Comment`` JSON: steps, sampler, seed, scale, uc (negative prompt)..."""
    if not isinstance(obj, dict):
        return None
    if not ({"steps", "sampler"} <= obj.keys() and ({"uc", "scale", "seed", "v4_prompt"} & obj.keys())):
        return None
    width, height = _int(obj.get("width")), _int(obj.get("height"))
    return {
        "prompt": obj.get("prompt"),
        "negative_prompt": obj.get("uc"),
        "steps": _int(obj.get("steps")),
        "sampler": obj.get("sampler"),
        "cfg_scale": _float(obj.get("scale")),
        "seed": _int(obj.get("seed")),
        "strength": _float(obj.get("strength")),
        "size": f"{width}x{height}" if width and height else None,
    }


# ---------------------------------------------------------------------- Midjourney, AIGC labels

_MJ_JOB = re.compile(r"Job ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.IGNORECASE)
_MJ_VERSION = re.compile(r"--(v|version|niji)\s+([\w.]{1,10})")


def parse_midjourney(text: str) -> dict[str, Any] | None:
    """A Midjourney description: the prompt and its flags, then ``Job ID: <uuid>``."""
    match = _MJ_JOB.search(text)
    if match is None:
        return None
    prompt = text[: match.start()].strip()
    version = _MJ_VERSION.search(prompt[-2000:])
    return {
        "prompt": prompt,
        "job_id": match.group(1),
        "version": f"{'niji ' if version.group(1) == 'niji' else ''}{version.group(2)}" if version else None,
    }


_AIGC_LABELS = {
    "1": "AI-generated",
    "2": "possibly AI-generated",
    "3": "suspected AI-generated",
}


def parse_aigc(text: str) -> dict[str, Any] | None:
    """A GB 45438-2025 implicit label: JSON with ``Label`` and the producer/propagator fields."""
    raw = html.unescape(text) if "&quot;" in text or "&#" in text else text
    obj = load_json(raw)
    if isinstance(obj, dict) and "Label" not in obj:
        inner = obj.get("AIGC")
        if isinstance(inner, str):
            inner = load_json(inner)
        obj = inner
    if not isinstance(obj, dict) or "Label" not in obj:
        return None
    label = str(obj.get("Label")).strip()
    return {
        "label": label,
        "label_meaning": _AIGC_LABELS.get(label, "unrecognised label value"),
        "content_producer": obj.get("ContentProducer"),
        "produce_id": obj.get("ProduceID"),
        "content_propagator": obj.get("ContentPropagator"),
        "propagate_id": obj.get("PropagateID"),
    }


# ---------------------------------------------------------------------- software names

GENERATOR_SOFTWARE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("NovelAI", r"\bnovel\s?ai\b"),
        ("Midjourney", r"\bmid\s?journey\b"),
        ("ComfyUI", r"\bcomfy\s?ui\b"),
        ("Stable Diffusion WebUI Forge", r"\bwebui[ _-]forge\b|\bsd[ _-]forge\b"),
        ("AUTOMATIC1111", r"\bautomatic1111\b|\bstable[ _-]diffusion[ _-]web[ _-]?ui\b"),
        ("Fooocus", r"\bfooocus\b"),
        ("InvokeAI", r"\binvoke[ _-]?ai\b"),
        ("SD.Next", r"\bsd\.next\b"),
        ("SwarmUI", r"\bswarm\s?ui\b"),
        ("Draw Things", r"\bdraw things\b"),
        ("DiffusionBee", r"\bdiffusion\s?bee\b"),
        ("Stable Diffusion", r"\bstable[ _-]?diffusion\b|\bsdxl\b|\bstability\.?ai\b|\bdreamstudio\b"),
        ("DALL-E", r"\bdall[-\u00b7\u2027 ]?e(?:\s?[23])?\b"),
        ("OpenAI", r"\bopenai\b|\bchatgpt\b|\bgpt-image\b"),
        ("Adobe Firefly", r"\badobe firefly\b|^firefly\b"),
        ("Google Imagen", r"\bgoogle imagen\b|\bimagen\s?[1-4]\b|\bimagefx\b"),
        ("Google Gemini", r"\bgoogle gemini\b|\bgemini\b.{0,40}\bimage\b|\bnano[ -]?banana\b"),
        ("Flux", r"\bflux(?:\.[12])?[\s._\-\[]{0,2}(?:dev|schnell|pro|kontext|krea)\b|\bblack forest labs\b"),
        ("Leonardo.Ai", r"\bleonardo[ .]?ai\b"),
        ("Ideogram", r"\bideogram\b"),
        ("Playground AI", r"\bplayground\s?(?:ai|v[23])\b"),
        ("Microsoft Designer / Bing Image Creator", r"\bbing image creator\b|\bmicrosoft designer\b"),
        ("Meta AI", r"\bmeta ai\b|\bimagine with meta\b"),
        ("Craiyon", r"\bcraiyon\b"),
        ("NightCafe", r"\bnightcafe\b"),
        ("Dreamina / Jimeng", r"\bdreamina\b|\bjimeng\b|\bseedream\b"),
        ("Doubao", r"\bdoubao\b"),
        ("Tongyi Wanxiang", r"\btongyi\b|\bwanxiang\b"),
        ("Hunyuan", r"\bhunyuan\b"),
        ("Kolors", r"\bkolors\b"),
        ("Kling AI", r"\bkling\s?ai\b"),
        ("Qwen-Image", r"\bqwen[ -]image\b"),
        ("Recraft", r"\brecraft\b"),
        ("Krea", r"\bkrea(?:\.ai|\s?ai)\b"),
        ("Civitai", r"\bcivitai\b"),
        ("Tensor.Art", r"\btensor\.art\b"),
        ("Grok", r"\bgrok\b|\bxai aurora\b"),
        ("Artbreeder", r"\bartbreeder\b"),
        ("Wombo Dream", r"\bwombo\b"),
    )
)
"""Generators recognised by name in software fields. Patterns are anchored on whole words
and on distinctive spellings; a plain editor (Adobe Photoshop, GIMP, Lightroom) never matches."""

_AI_CREDIT = re.compile(r"\bmade with google ai\b|\bimagined with (?:meta )?ai\b", re.IGNORECASE)


def match_generator_software(text: str) -> str | None:
    head = text[:300]
    for name, pattern in GENERATOR_SOFTWARE:
        if pattern.search(head):
            return name
    return None


# ---------------------------------------------------------------------- one pass over all fields

_SOFTWARE_KEYS = frozenset({"software", "creatortool", "processingsoftware", "originatingprogram"})
_DESCRIPTION_KEYS = frozenset(
    {
        "description",
        "imagedescription",
        "caption-abstract",
        "comment",
        "usercomment",
        "xpcomment",
        "xpsubject",
        "xptitle",
        "title",
    }
)
_A1111_KEYS = frozenset({"parameters", "usercomment", "description", "comment", "imagedescription", "xpcomment"})


@dataclass
class Scan:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, generator: str, source: str, rank: int, params: dict[str, Any] | None = None, **kw: Any) -> None:
        self.findings.append(Finding(generator, source, rank, clean_parameters(params or {}), **kw))

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < 20:
            self.notes.append(text)


def _json(scan: Scan, item: Field) -> Any:
    try:
        return load_json(item.value)
    except JsonRejected as exc:
        scan.note(f"{item.source}: {exc}; ignored")
        return None


def find_generators(fields: list[Field]) -> Scan:
    """Every generator claim in ``fields``, most specific first."""
    scan = Scan()
    keys = {f.key.lower() for f in fields}
    fooocus_marker = "fooocus_scheme" in keys
    for item in fields:
        key = item.key.lower()
        done = False
        if key == "parameters":
            done = _parameters(scan, item, fooocus_marker=fooocus_marker)
        elif key in ("prompt", "workflow"):
            done = _comfy(scan, item, key)
        elif key in ("invokeai_metadata", "invokeai_graph", "invokeai_workflow", "sd-metadata", "dream"):
            done = _invoke(scan, item, key)
        elif key == "aigc":
            done = _aigc(scan, item)
        elif key == "aisystemused":
            scan.add(item.value[:TEXT_CHARS].strip(), item.source, RANK_LABEL, what="names the AI system")
            done = True
        elif key == "fooocus_scheme":
            scan.add("Fooocus", item.source, RANK_SOFTWARE)
            done = True
        elif key == "credit" and _AI_CREDIT.search(item.value[:300]):
            credited = "Google AI (Imagen / Gemini)" if "google" in item.value.lower() else "Meta AI"
            scan.add(credited, item.source, RANK_SOFTWARE, what="says the image was made with")
            done = True
        elif key in _SOFTWARE_KEYS:
            software = match_generator_software(item.value)
            if software:
                scan.add(software, item.source, RANK_SOFTWARE, {"software": item.value}, what="names")
            done = True
        if done:
            continue
        if key == "comment" and _novelai(scan, item, fields):
            continue
        if key in _A1111_KEYS:
            params = parse_a1111(item.value)
            if params:
                scan.add(params.pop("_generator"), item.source, RANK_PARAMETERS, params)
                continue
        if key in _DESCRIPTION_KEYS:
            mj = parse_midjourney(item.value[:MAX_FIELD_CHARS])
            if mj:
                scan.add("Midjourney", item.source, RANK_MIDJOURNEY, mj)
                continue
        if key in ("usercomment", "comment", "imagedescription") and item.value.lstrip()[:1] == "{":
            _json_comment(scan, item)
    scan.findings.sort(key=lambda f: f.rank)
    return scan


def _parameters(scan: Scan, item: Field, *, fooocus_marker: bool) -> bool:
    if item.value.lstrip()[:1] == "{":
        parsed = parse_parameters_json(_json(scan, item), fooocus_marker=fooocus_marker)
        if parsed:
            scan.add(parsed[0], item.source, RANK_PARAMETERS, parsed[1])
            return True
        return False
    params = parse_a1111(item.value)
    if params:
        scan.add(params.pop("_generator"), item.source, RANK_PARAMETERS, params)
        return True
    if fooocus_marker:
        scan.add("Fooocus", item.source, RANK_PARAMETERS)
        return True
    return False


def _comfy(scan: Scan, item: Field, key: str) -> bool:
    obj = _json(scan, item)
    params = parse_comfy_prompt(obj) if key == "prompt" else parse_comfy_workflow(obj)
    if params is None and obj is None and item.truncated:
        # Cut at the size cap, so not parseable: recognise the graph by its shape.
        marker = '"class_type"' if key == "prompt" else '"nodes"'
        shaped = key == "workflow" or '"inputs"' in item.value[:4096]
        if item.value.lstrip()[:1] == "{" and marker in item.value[: 1 << 16] and shaped:
            params = {}
            scan.note(f"{item.source}: cut at the size cap; recognised by its structure only")
    if params is None:
        return False
    scan.add("ComfyUI", item.source, RANK_PARAMETERS if key == "prompt" else RANK_PARTIAL, params)
    return True


def _invoke(scan: Scan, item: Field, key: str) -> bool:
    params: dict[str, Any] | None
    if key == "dream":
        params = parse_dream(item.value)
    else:
        obj = _json(scan, item)
        if key == "sd-metadata":
            params = parse_sd_metadata(obj)
        elif key == "invokeai_metadata":
            params = parse_invokeai_metadata(obj)
        else:
            params = {} if isinstance(obj, dict) and obj else None
    if params is None:
        return False
    scan.add("InvokeAI", item.source, RANK_PARTIAL if key in ("dream", "invokeai_graph") else RANK_PARAMETERS, params)
    return True


def _aigc(scan: Scan, item: Field) -> bool:
    try:
        params = parse_aigc(item.value)
    except JsonRejected as exc:
        scan.note(f"{item.source}: {exc}; ignored")
        return True
    if params is None:
        scan.note(f"{item.source}: AIGC field without a readable Label; ignored")
        return True
    label = params["label"]
    if label not in _AIGC_LABELS:
        scan.note(f"{item.source}: AIGC Label {label[:20]!r} is not 1, 2 or 3; ignored")
        return True
    producer = _short(params.get("content_producer"), 80)
    generator = producer or "an unnamed AI service"
    what = f"declares {_AIGC_LABELS[label]} content (GB 45438-2025 Label {label}) from"
    scan.add(generator, item.source, RANK_LABEL, params, conclusive=label == "1", what=what)
    return True


def _novelai(scan: Scan, item: Field, fields: list[Field]) -> bool:
    obj = _json(scan, item)
    params = parse_novelai_comment(obj)
    if params is None:
        return False
    origin = item.source.split(" ", 1)[0]  # the same container: "PNG", "alpha-channel", "EXIF"...
    sibling: dict[str, str] = {}
    for other in fields:
        if other is not item and other.source.startswith(origin):
            sibling.setdefault(other.key.lower(), other.value)
    if not params.get("prompt") and sibling.get("description"):
        params["prompt"] = sibling["description"]
    if sibling.get("source"):
        params["model"] = sibling["source"]
    software = sibling.get("software", "")
    scan.add("NovelAI", item.source, RANK_PARAMETERS, params)
    if software and "novelai" not in software.lower():
        scan.note(f"{item.source}: NovelAI-style comment but Software says {software[:60]!r}")
    return True


def _json_comment(scan: Scan, item: Field) -> None:
    obj = _json(scan, item)
    if obj is None:
        return
    aigc = obj.get("AIGC") if isinstance(obj, dict) else None
    if aigc is not None or (isinstance(obj, dict) and "Label" in obj and "ContentProducer" in obj):
        _aigc(scan, Field(item.source, "AIGC", json.dumps(aigc if aigc is not None else obj)))
        return
    comfy = parse_comfy_prompt(obj) or parse_comfy_workflow(obj)
    if comfy is not None:
        scan.add("ComfyUI", item.source, RANK_PARAMETERS, comfy)
        return
    novelai = parse_novelai_comment(obj)
    if novelai is not None:
        scan.add("NovelAI", item.source, RANK_PARAMETERS, novelai)
