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

from originlens.media.kinds import has_picture_track, sniff_kind
from originlens.media.video import SNIFF_BYTES, sniff_video_type

MediaKind = Literal["image", "video", "audio"]


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
    sniffed = sniff_kind(head)
    if sniffed is None or sniffed[0] != "either":
        return sniffed  # type: ignore[return-value]  # "either" is handled here
    return "video", sniff_video_type(head) or sniffed[1]


def sniff_file(path: Path) -> tuple[MediaKind, str] | None:
    """As :func:`sniff_media`, but an MP4, 3GP, Ogg or WebM file without a video track is a
    recording (an M4A named ``.mp4``, a voice memo in Ogg or WebM)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    sniffed = sniff_kind(head)
    if sniffed is not None and sniffed[0] == "either" and has_picture_track(path, sniffed[1]) is False:
        return "audio", sniffed[1]
    return sniff_media(head)


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
