"""What ``originlens classify`` was asked to look at: files, folders, globs and URLs.

Folders are walked recursively and only the files whose first bytes are an image, a video or
an audio recording this service accepts are kept (names and extensions are never trusted). Globs are expanded
here too, so a quoted glob works the same as one the shell expanded. A path that names nothing
becomes an input carrying its error, so that it is reported as a row instead of stopping the run.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from originlens.media.audio import sniff_audio_type
from originlens.media.images import sniff_image_type
from originlens.media.video import SNIFF_BYTES, sniff_video_type

MediaKind = Literal["image", "video", "audio"]

AUDIO_ONLY_TYPES = frozenset(
    {"audio/mpeg", "audio/wav", "audio/flac", "audio/aiff", "audio/amr", "audio/aac", "audio/mp4"}
)
"""Sniffed audio types that are never a video: MP3, WAV, FLAC, AIFF, AMR, ADTS AAC and the
M4A/M4B/M4P/M4R brands of MP4. Other containers (MP4, 3GP, Ogg, WebM) hold either, so
:func:`sniff_file` looks inside them for a video track."""


@dataclass(frozen=True)
class Input:
    """One thing to classify: a local file, or an http(s) URL (``path`` is then ``None``)."""

    name: str
    """As the user wrote it (a file found in a folder or by a glob: its path)."""
    path: Path | None = None
    url: str | None = None
    error: str | None = None
    """Set when the input cannot even be read (missing file, not an image, video or recording)."""


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def sniff_media(head: bytes) -> tuple[MediaKind, str] | None:
    """(``"image"``, ``"video"`` or ``"audio"``, MIME type) from a file's first bytes, or ``None``.

    A container that can hold either (MP4, 3GP, Ogg, WebM) is a video here: only its tracks
    tell, and :func:`sniff_file` reads them.
    """
    mime = sniff_image_type(head)
    if mime is not None:
        return "image", mime
    audio = sniff_audio_type(head)
    if audio in AUDIO_ONLY_TYPES:
        return "audio", audio
    mime = sniff_video_type(head)
    if mime is not None:
        return "video", mime
    if audio is not None:
        return "audio", audio
    return None


def _has_video_track(path: Path, mime: str) -> bool | None:
    """Whether the container holds a video track (``None``: it cannot be opened, or it holds
    neither video nor audio); reads the headers only, with the demuxer forced to ``mime``."""
    import av

    from originlens.media.audio import demuxer_for

    try:
        with av.open(str(path), mode="r", format=demuxer_for(mime)) as container:
            if container.streams.video:
                return True
            return False if container.streams.audio else None
    except Exception:  # FFmpeg raises many error types for unreadable input; the analysis reports it
        return None


def sniff_file(path: Path) -> tuple[MediaKind, str] | None:
    """As :func:`sniff_media`, but an MP4, 3GP, Ogg or WebM file without a video track and with
    an audio track is a recording (an M4A named ``.mp4``, a voice memo in Ogg or WebM)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    sniffed = sniff_media(head)
    if sniffed is None or sniffed[0] != "video":
        return sniffed
    audio = sniff_audio_type(head)
    if audio is not None and _has_video_track(path, audio) is False:
        return "audio", audio
    return sniffed


def _has_glob(text: str) -> bool:
    return any(char in text for char in "*?[")


def _walk(folder: Path) -> list[Input]:
    """Every image, video or recording under ``folder`` (sorted); unreadable files are skipped like others."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            if sniff_file(path) is not None:
                found.append(Input(name=str(path), path=path))
        except OSError:
            continue
    return found


def _one(text: str, path: Path) -> list[Input]:
    if path.is_dir():
        return _walk(path)
    if not path.is_file():  # a FIFO or a device would block or never end
        return [Input(name=text, error="not a regular file")]
    return [Input(name=text, path=path)]


def collect_inputs(arguments: Iterable[str]) -> list[Input]:
    """The inputs in the order given; a file listed twice (e.g. by two globs) is kept once."""
    inputs: list[Input] = []
    for text in arguments:
        if is_url(text):
            inputs.append(Input(name=text, url=text))
            continue
        path = Path(text).expanduser()
        if path.exists():
            inputs.extend(_one(text, path))
        elif _has_glob(text):
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                inputs.append(Input(name=text, error="no file matches this pattern"))
            for match in matches:
                inputs.extend(_one(match, Path(match)))
        else:
            inputs.append(Input(name=text, error="no such file or folder"))
    seen: set[str] = set()
    unique = []
    for item in inputs:
        key = item.url or (str(item.path.resolve()) if item.path else item.name)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
