"""Audio provenance from metadata: the synthesis tool that a recording's tags name.

Text-to-speech and voice-cloning services, and the open models people run themselves, sometimes
write their name into the file: ID3 frames (TSSE, TENC, TXXX, COMM), Vorbis comments (ENCODER,
COMMENT, SOFTWARE), MP4 atoms (``©too``, ``©cmt``), RIFF INFO (ISFT, ICMT) and BWF ``bext``. The
media layer hands them over as ``DecodedAudio.tags`` (lower-case keys, container and stream).

The policy is the image ``metadata`` detector's (``docs/metadata.md``), field for field:

* a tool named in a software field (encoder, encoded_by, software, ...), an AI IPTC
  DigitalSourceType, or a GB 45438-2025 AIGC Label 1: artificial 0.99, forcing the verdict,
  as a generator named in EXIF ``Software`` does for images;
* a tool only mentioned in free text (comment, description, title), or an AIGC Label 2/3:
  0.8, never forcing (a podcast about ElevenLabs is not made by ElevenLabs);
* a capture DigitalSourceType: 0.3, weak evidence of a human origin, never forcing;
* nothing: ``unknown``. Tags are trivial to strip or to forge; their absence proves nothing.

Ordinary encoders and editors (LAME, Lavf, FFmpeg, iTunes, Audacity) are never matched: every
pattern is anchored on whole words and on the tools' own spellings, and names that are also
common words (Bark, Piper, Tortoise, Polly, Suno) count only as the whole value of a software
field. See ``docs/metadata.md`` ("Audio").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from originlens.detectors.base import Detector, MediaInput, Prediction
from originlens.detectors.metadata.parsers import JsonRejected, parse_aigc

log = logging.getLogger(__name__)

AI_SCORE = 0.99
POSSIBLE_AI_SCORE = 0.8
HUMAN_SCORE = 0.3

MAX_TAGS = 200
"""Tags looked at per recording; a file with thousands of tags is read no further."""
SHOWN_CHARS = 200
"""A tag value is cut to this many characters in ``classification_details``."""


@dataclass(frozen=True)
class Tool:
    name: str
    pattern: str
    """Distinctive spellings, matched as whole words in any field."""
    bare: tuple[str, ...] = ()
    """Names that are also ordinary words: matched only as a software field's whole value
    (optionally with a version), e.g. ``ENCODER=Bark`` or ``encoder: piper 1.2``."""


TOOLS: tuple[Tool, ...] = (
    Tool("ElevenLabs", r"\beleven\s?labs\b"),
    Tool("PlayHT", r"\bplay(?:\.|\s)?ht\b"),
    Tool("Resemble AI", r"\bresemble(?:\.ai|\s?ai)\b", ("resemble",)),
    Tool("Murf AI", r"\bmurf(?:\.ai|\s?ai)\b", ("murf",)),
    Tool("WellSaid Labs", r"\bwellsaid\b|\bwell said labs\b"),
    Tool("Speechify", r"\bspeechify\b"),
    Tool("Descript Overdub", r"\bdescript\W{0,3}overdub\b"),
    Tool("Coqui TTS / XTTS", r"\bcoqui[ _-]?(?:tts|ai|studio)\b|\bxtts(?:[ _-]?v?\d(?:\.\d)*)?\b", ("coqui",)),
    Tool("Bark (Suno)", r"\bsuno[-/ ]?bark\b|\bbark[ _-](?:tts|small|voice[ _-]?clon\w*)\b", ("bark",)),
    Tool("Tortoise TTS", r"\btortoise[ _-]tts\b", ("tortoise",)),
    Tool("VALL-E", r"\bvall-e(?:[ -]?(?:x|2))?\b"),
    Tool("OpenAI TTS", r"\bopenai\b|\bgpt-4o(?:-mini)?-tts\b|\btts-1(?:-hd)?\b"),
    Tool(
        "Microsoft Azure TTS",
        r"\bazure\b.{0,30}\b(?:tts|text[ -]to[ -]speech|neural voices?|speech services?)\b"
        r"|\bmicrosoft\b.{0,30}\b(?:tts|text[ -]to[ -]speech|neural voices?)\b"
        r"|\bcognitive ?services\b.{0,20}\bspeech\b",
    ),
    Tool("edge-tts (Microsoft Edge read-aloud)", r"\bedge[-_ ]tts\b"),
    Tool("Google Cloud TTS", r"\bgoogle\b.{0,30}\b(?:tts|text[ -]to[ -]speech|wavenet|chirp)\b|\bgtts\b"),
    Tool("Amazon Polly", r"\b(?:amazon|aws)[ _-]?polly\b", ("polly",)),
    Tool("Piper TTS", r"\bpiper[-_ ]tts\b|\brhasspy[ /-]piper\b", ("piper",)),
    Tool("ESPnet", r"\bespnet\d?\b"),
    Tool(
        "RVC voice conversion", r"\bretrieval[ -]based[ -]voice[ -]conversion\b|\brvc[ _-]?(?:v[12]|webui)\b", ("rvc",)
    ),
    Tool("so-vits-svc", r"\bso[-_ ]?vits[-_ ]?svc\b"),
    Tool("Suno", r"\bsuno(?:\.com|\.ai|\s?ai)\b|\bmade with suno\b", ("suno",)),
    Tool("Udio", r"\budio(?:\.com|\s?ai)\b", ("udio",)),
    Tool("StyleTTS", r"\bstyle[ _-]?tts\s?2?\b"),
    Tool("F5-TTS", r"\bf5[ _-]tts\b"),
    Tool("Fish Speech", r"\bfish[ _-]speech\b|\bfish\.audio\b"),
    Tool("CosyVoice", r"\bcosy[ _-]?voice\d?\b"),
    Tool("ChatTTS", r"\bchat[ _-]?tts\b"),
    Tool("OpenVoice", r"\bopenvoice\b"),
    Tool("MeloTTS", r"\bmelo[ _-]?tts\b"),
    Tool("Kokoro TTS", r"\bkokoro[ _-]?(?:tts|82m)\b"),
    Tool("Parler-TTS", r"\bparler[ _-]tts\b"),
    Tool("Tacotron", r"\btacotron\s?2?\b"),
    Tool("FastSpeech", r"\bfastspeech\s?2?\b"),
    Tool("eSpeak", r"\bespeak(?:[ _-]?ng)?\b"),
    Tool("LOVO", r"\blovo(?:\.ai|\s?ai)\b"),
    Tool("Uberduck", r"\buberduck\b"),
    Tool("FakeYou", r"\bfakeyou\b"),
)
"""Speech and music synthesis tools recognised by name (``docs/metadata.md`` lists them)."""

_PATTERNS = tuple((tool, re.compile(tool.pattern, re.IGNORECASE)) for tool in TOOLS)
_BARE = {word: tool for tool in TOOLS for word in tool.bare}
_BARE_VALUE = re.compile(r"^\s*([a-z]+)(?:[\s_-]*v?\d[\w.]*)?\s*$", re.IGNORECASE)

_SOFTWARE_KEYS = re.compile(
    r"^(?:encoder|encoded_by|encoding_tool|encoder_settings|encodersettings|software|tool|creator_?tool|originator"
    r"|coding_history|generator|generated_by|created_with|made_with|synthesi[sz]er|tts|tts_engine|engine"
    r"|voice_engine|application|program)$"
)
"""Tags that name the software that wrote the file (ID3 TSSE is ``encoder``, TENC ``encoded_by``,
MP4 ``©too`` ``encoder``, RIFF ISFT ``encoder``; TXXX and Vorbis keys keep their own names)."""
_SKIPPED_KEYS = frozenset(
    {"major_brand", "minor_version", "compatible_brands", "language", "handler_name", "vendor_id", "duration"}
)
"""Container bookkeeping that never holds a tool's name."""

_SOURCE_TYPE = re.compile(r"digitalsourcetype/([a-z]+)", re.IGNORECASE)
AI_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicData"}
)
HUMAN_SOURCE_TYPES = frozenset({"digitalCapture", "computationalCapture", "compositeCapture"})
_AI_LOWER = {t.lower(): t for t in AI_SOURCE_TYPES}
_HUMAN_LOWER = {t.lower(): t for t in HUMAN_SOURCE_TYPES}

_CONTAINERS = {"mp3": "ID3", "wav": "RIFF INFO", "flac": "Vorbis comment", "ogg": "Vorbis comment", "aiff": "AIFF"}
_FRAMES = {
    "ID3": {
        "encoder": "TSSE",
        "encoded_by": "TENC",
        "comment": "COMM",
        "title": "TIT2",
        "artist": "TPE1",
        "publisher": "TPUB",
        "copyright": "TCOP",
    },
    "MP4": {"encoder": "©too", "comment": "©cmt", "title": "©nam", "artist": "©ART", "description": "desc"},
    "RIFF INFO": {"encoder": "ISFT", "comment": "ICMT", "encoded_by": "ITCH", "title": "INAM", "artist": "IART"},
}
_BEXT_KEYS = frozenset({"description", "originator", "originator_reference", "coding_history"})


@dataclass(frozen=True)
class Found:
    """One piece of evidence: what it says, and the tag that says it."""

    tool: str
    source: str
    tag: str
    value: str
    conclusive: bool
    what: str = "names"

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "source": self.source, "tag": self.tag, "value": _shown(self.value)}


class AudioMetadataDetector(Detector):
    """Reads the tags of a recording and reports any synthesis tool or AI label they name.

    It never forces the verdict: issue 15's policy for audio is that only a *valid* (signed)
    AI assertion, i.e. C2PA, decides; tags are unsigned and trivially written by anyone."""

    name = "audio-metadata"
    kind = "provenance"
    version = "1.0"
    relevance = 0.9
    modalities = ("audio",)
    media_types = ("audio/", "video/")

    def _predict(self, media: MediaInput) -> Prediction:
        tags = getattr(media.decoded, "tags", None)
        if not isinstance(tags, dict):
            return self.unknown("the recording's tags were not read (it was not decoded)")
        try:
            return self._judge(tags, str(getattr(media.decoded, "container", "") or ""))
        except Exception as exc:  # a shape nobody expected: never fail the job
            return self.unknown_because("the recording's metadata could not be read", exc)

    def _judge(self, tags: dict[str, str], container: str) -> Prediction:
        found: list[Found] = []
        human: list[Found] = []
        notes: list[str] = []
        items = list(tags.items())
        if len(items) > MAX_TAGS:
            notes.append(f"{len(items)} tags; only the first {MAX_TAGS} were read")
        for key, value in items[:MAX_TAGS]:
            key, value = str(key).lower(), str(value)
            if key in _SKIPPED_KEYS or not value.strip():
                continue
            source = tag_source(container, key)
            found.extend(_source_types(key, value, source, human))
            if key == "aigc" or '"AIGC"' in value:
                found.extend(_aigc(key, value, source, notes))
            software = bool(_SOFTWARE_KEYS.match(key))
            tool = match_tool(value, software=software)
            if tool is not None:
                found.append(
                    Found(tool, source, key, value, conclusive=software, what="names" if software else "mentions")
                )
        found.sort(key=lambda f: not f.conclusive)  # stable: conclusive first, in tag order
        details: dict[str, Any] = {"tags_read": min(len(items), MAX_TAGS)}
        if notes:
            details["notes"] = notes
        if found:
            best = found[0]
            details.update(best.to_json())
            if len(found) > 1:
                details["found"] = [f.to_json() for f in found[:10]]
            reason = f"{best.source} {best.what} {best.tool} ('{_shown(best.value, 80)}')"
            if not best.conclusive:
                reason += "; free text is only a hint"
            details["reason"] = reason + "; unsigned tags are shown as evidence but do not decide the verdict"
            score = AI_SCORE if best.conclusive else POSSIBLE_AI_SCORE
            return Prediction(model=self.name, artificial=score, details=details)
        if human:
            details.update(human[0].to_json())
            details["reason"] = f"{human[0].source} declares {human[0].tool}: weak evidence of a human origin"
            return Prediction(model=self.name, artificial=HUMAN_SCORE, details=details)
        if not details["tags_read"]:
            return self.unknown("the recording carries no metadata tags", **details)
        return self.unknown("no synthesis tool or AI label in the recording's metadata", **details)


# ---------------------------------------------------------------------- matching


def match_tool(value: str, *, software: bool) -> str | None:
    """The synthesis tool ``value`` names, if any. ``software``: the value comes from a field
    that names the writing software, where a bare ambiguous name (``Bark``) also counts."""
    for tool, pattern in _PATTERNS:
        if pattern.search(value):
            return tool.name
    if software:
        bare = _BARE_VALUE.match(value[:100])
        if bare and bare.group(1).lower() in _BARE:
            return _BARE[bare.group(1).lower()].name
    return None


def tag_source(container: str, key: str) -> str:
    """Where a tag came from, for people: ``ID3 TSSE (encoder)``, ``MP4 ©too (encoder)``."""
    kind = "MP4" if container.startswith("mov") else _CONTAINERS.get(container, "")
    if kind == "Vorbis comment":
        return f"Vorbis comment {key.upper()}"
    if kind == "RIFF INFO" and key in _BEXT_KEYS:
        return f"BWF bext {key}"
    frame = _FRAMES.get(kind, {}).get(key)
    if frame:
        return f"{kind} {frame} ({key})"
    if kind == "ID3":
        return f"ID3 TXXX '{key}'"
    return f"{kind} tag '{key}'" if kind else f"tag '{key}'"


def _source_types(key: str, value: str, source: str, human: list[Found]) -> list[Found]:
    types = [m.group(1) for m in _SOURCE_TYPE.finditer(value[:2000])]
    if key == "digitalsourcetype":
        types.append(value.strip().rstrip("/").rsplit("/", 1)[-1])
    found = []
    for short in dict.fromkeys(t.lower() for t in types):
        if short in _AI_LOWER:
            canonical = f"generative AI ({_AI_LOWER[short]})"
            found.append(Found(canonical, source, key, value, conclusive=True, what="declares"))
        elif short in _HUMAN_LOWER:
            human.append(Found(_HUMAN_LOWER[short], source, key, value, conclusive=False, what="declares"))
    return found


def _aigc(key: str, value: str, source: str, notes: list[str]) -> list[Found]:
    """A GB 45438-2025 implicit label (the same JSON in audio as in images)."""
    try:
        params = parse_aigc(value)
    except JsonRejected as exc:
        notes.append(f"{source}: {exc}; ignored")
        return []
    if params is None or params["label"] not in ("1", "2", "3"):
        return []
    producer = str(params.get("content_producer") or "").strip()[:80] or "an unnamed AI service"
    what = f"declares {params['label_meaning']} content (GB 45438-2025 Label {params['label']}) from"
    return [Found(producer, source, key, value, conclusive=params["label"] == "1", what=what)]


def _shown(value: str, limit: int = SHOWN_CHARS) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[:limit] + "…"
