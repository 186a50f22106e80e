"""``originlens classify``: judge files, folders, globs and URLs from the shell.

In-process by default: the detectors are built once (``container.build_registry``) and each
input goes through exactly the functions the worker uses (``pipeline.analyse_media`` for
images, ``pipeline.sample_video`` + ``pipeline.analyse_video_frames`` for videos,
``media.audio.read_audio`` + ``pipeline.analyse_audio`` for recordings), so the verdicts are
the service's. With ``--server`` each input is sent to a running server instead
(``originlens.client``). Every input becomes one :class:`Row`, errors included.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from originlens.commands.inputs import Input, MediaKind, sniff_file

ANALYSIS_OPTIONS = ("with_tampering", "with_nsfw", "with_morphing")
"""The optional analyses the command line can ask for (``--tampering`` ...)."""

EXIT_OK = 0
EXIT_ARTIFICIAL = 1
EXIT_ERRORS = 2


@dataclass
class ClassifyOptions:
    heuristic: str | None = None
    """``None``: the settings' default in-process, the user's own heuristic with ``--server``."""
    asked: tuple[str, ...] = ()
    """Optional analyses (``with_tampering``, ``with_nsfw``, ``with_morphing``)."""
    heatmap: bool = False
    frames: int = 5
    key_frames_method: str | None = None
    """``None``: evenly spaced frames; else ``iframes``, ``flow`` or ``color``."""

    @property
    def sampling(self) -> str:
        return self.key_frames_method or "even"


@dataclass
class Row:
    """The outcome for one input: what the table, ``--json`` and ``--csv`` show."""

    input: str
    source: str = "file"
    """``file`` or ``url``."""
    media_type: str | None = None
    verdict: str | None = None
    """``human``, ``artificial`` or ``unknown``; ``None`` when the input could not be analysed."""
    confidence: float | None = None
    heuristic: str | None = None
    evidence: str | None = None
    """What decided: ``provenance`` (C2PA, watermark, metadata), ``statistical``, ``override`` or ``none``."""
    decided_by: str | None = None
    """The forcing detector, else the models the heuristic used."""
    reason: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    """Each model's ``artificial`` score (``None``: it could not judge). Videos: the highest frame score."""
    error: str | None = None
    identifier: str | None = None
    """The server's identifier (``--server`` only)."""
    frames: int | None = None
    is_nsfw: bool | None = None
    notes: list[str] = field(default_factory=list)
    duration: float | None = None
    """Recordings: seconds of audio decoded."""
    speech_seconds: float | None = None
    """Recordings: seconds in which the speech model heard a voice."""
    chunks: list[dict[str, Any]] = field(default_factory=list)
    """Recordings: the API's ``chunk_details`` in this row's terms, one per 5 s chunk:
    ``index``, ``start``, ``end`` (seconds), ``verdict``, ``confidence``, ``reason``, ``scores``."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def exit_status(rows: Sequence[Row]) -> int:
    """0: all analysed, none artificial; 1: something judged artificial (wins); 2: some error."""
    if any(row.verdict == "artificial" for row in rows):
        return EXIT_ARTIFICIAL
    if any(row.error for row in rows):
        return EXIT_ERRORS
    return EXIT_OK


# ---------------------------------------------------------------------- reading the answers


def artificial_score(result: dict[str, Any]) -> float | None:
    """A ``results`` entry's ``artificial`` score, ``None`` when the model could not judge."""
    if result.get("unknown"):
        return None
    for item in result.get("classification") or []:
        if isinstance(item, dict) and item.get("label") == "artificial":
            return float(item["score"])
    return None


def image_scores(results: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    return {str(r.get("model")): artificial_score(r) for r in results if r.get("model")}


def video_scores(frames: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Per model, its highest ``artificial`` score over the analysed frames (the most suspicious)."""
    scores: dict[str, float | None] = {}
    for frame in frames:
        for model, score in image_scores(frame.get("results") or []).items():
            current = scores.get(model)
            scores[model] = score if current is None else (current if score is None else max(current, score))
    return scores


NO_DECISION = "no conclusive provenance and no voting model (indicator scores are shown; they do not vote)"


def undecided_reason(results: Sequence[dict[str, Any]]) -> str | None:
    """Why the voting models said ``unknown`` (e.g. "no speech found: ..."), as the server words
    it; ``None`` when none of them gave one."""
    from originlens.pipeline import unknown_reason

    return unknown_reason(list(results))


def fill_verdict(row: Row, verdict: dict[str, Any] | None, undecided: str | None = None) -> None:
    """Copy a verdict (identifAI shape: image, video or audio) into ``row``; ``undecided`` says
    why an undecided verdict is unknown when the models gave a reason."""
    if verdict is None:
        row.verdict = "unknown"
        row.reason = undecided or "no detector could judge this file"
        return
    row.verdict = "unknown" if verdict.get("unknown") else str(verdict.get("classification"))
    row.confidence = float(verdict["confidence"]) if verdict.get("confidence") is not None else None
    row.heuristic = verdict.get("heuristic")
    row.evidence = verdict.get("evidence") or ("none" if verdict.get("unknown") else "statistical")
    models = verdict.get("models") or []
    row.decided_by = verdict.get("forced_by") or (", ".join(models) if models else None)
    undecided = undecided or NO_DECISION
    row.reason = verdict.get("reason") or (undecided if row.verdict == "unknown" and row.evidence == "none" else None)


def chunk_entry(chunk: dict[str, Any], verdict: dict[str, Any] | None) -> dict[str, Any]:
    """One ``chunk_details`` entry (API or ``pipeline.analyse_audio``) in a row's terms."""
    part = Row(input="")
    results = chunk.get("results") or []
    fill_verdict(part, verdict, undecided_reason(results))
    return {
        "index": int(chunk.get("index", 0)),
        "start": float(chunk.get("start", 0.0)),
        "end": float(chunk.get("end", 0.0)),
        "verdict": part.verdict,
        "confidence": part.confidence,
        "reason": part.reason if part.verdict == "unknown" else None,
        "scores": image_scores(results),
    }


# ------------------------------------------------------------------------------ in-process


class LocalClassifier:
    """Runs the analysis in this process; the detectors are built and loaded once per run."""

    def __init__(self, options: ClassifyOptions, settings: Any | None = None, registry: Any | None = None) -> None:
        from originlens.settings import Settings

        self.options = options
        self.settings = settings or Settings()
        self.heuristic = options.heuristic or self.settings.default_heuristic
        self._registry = registry

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from originlens.container import build_registry

            self._registry = build_registry(self.settings)
        return self._registry

    def classify_all(self, inputs: Sequence[Input], advance: Callable[[], None]) -> list[Row]:
        rows = []
        for item in inputs:
            rows.append(self.classify(item))
            advance()
        return rows

    def classify(self, item: Input) -> Row:
        row = Row(input=item.name, source="url" if item.url else "file")
        if item.error:
            row.error = item.error
            return row
        try:
            with self._local_file(item) as path:
                sniffed = sniff_file(path)
                if sniffed is None:
                    row.error = NOT_MEDIA
                    return row
                kind, mime = sniffed
                row.media_type = kind
                if kind == "image":
                    self._image(row, path, mime)
                elif kind == "audio":
                    self._audio(row, path, mime)
                else:
                    self._video(row, path, mime)
        except Exception as exc:  # one bad input never stops the batch
            row.error = _error_text(exc)
        return row

    @contextmanager
    def _local_file(self, item: Input) -> Iterator[Path]:
        """The input as a file on disk; a URL is downloaded (SSRF-guarded) to a temporary file."""
        if item.path is not None:
            yield item.path
            return
        from originlens.outbound.fetch import fetch_media
        from originlens.outbound.guard import AddressPolicy

        s = self.settings
        with tempfile.TemporaryDirectory(prefix="originlens-") as folder:
            path = Path(folder) / "download"
            with path.open("wb") as handle:

                def write(chunks: Iterator[bytes]) -> None:
                    for chunk in chunks:
                        handle.write(chunk)

                fetch_media(
                    str(item.url),
                    policy=AddressPolicy(allowed_networks=tuple(s.outbound_allowed_networks)),
                    max_bytes=max(s.max_upload_bytes, s.max_video_upload_bytes, s.max_audio_upload_bytes),
                    timeout_s=max(s.video_fetch_timeout_s, s.audio_fetch_timeout_s),
                    max_redirects=s.url_fetch_max_redirects,
                    consume=write,
                )
            yield path

    def _image(self, row: Row, path: Path, mime: str) -> None:
        from originlens.detectors.base import MediaInput
        from originlens.media.images import decode_image, sha256_hex
        from originlens.pipeline import analyse_media

        data = path.read_bytes()
        decoded = decode_image(data, self.settings.max_image_pixels)
        media = MediaInput(data=data, mime_type=mime, name=sha256_hex(data), decoded=decoded)
        outcome = analyse_media(self.registry, media, self.options.asked)
        row.scores = image_scores(outcome.results)
        row.is_nsfw = outcome.is_nsfw
        row.notes = list(outcome.notes)
        fill_verdict(row, outcome.verdict(self.heuristic))

    def _video(self, row: Row, path: Path, mime: str) -> None:
        from originlens.media.video import VideoLimits
        from originlens.pipeline import analyse_video_frames, sample_video

        limits = VideoLimits(
            max_duration_s=self.settings.video_max_seconds, deadline_s=self.settings.video_decode_deadline_s
        )
        sampled = sample_video(self.registry, path, mime, self.options.frames, self.options.sampling, limits)
        if not sampled.frames:
            row.error = "no frame of the video could be decoded"
            return
        outcome = analyse_video_frames(self.registry, sampled, self.options.asked, frames_asked=self.options.frames)
        assert outcome is not None  # no progress callback, so it never stops early
        row.frames = len(outcome.frames)
        row.scores = video_scores(outcome.frames)
        row.is_nsfw = outcome.is_nsfw
        if outcome.unanalysed:
            row.notes.append(f"frames: {self.options.frames} were asked, {len(outcome.frames)} could be sampled")
        fill_verdict(row, outcome.verdict(self.heuristic))

    def _audio(self, row: Row, path: Path, mime: str) -> None:
        from originlens.media.audio import AudioLimits, read_audio
        from originlens.pipeline import analyse_audio

        s = self.settings
        limits = AudioLimits(max_duration_s=s.audio_max_seconds, deadline_s=s.audio_decode_deadline_s)
        decoded = read_audio(path, mime, limits)
        outcome = analyse_audio(self.registry, decoded, mime, name=_file_sha256(path), path=path)
        row.duration = outcome.duration_s
        row.speech_seconds = outcome.speech_seconds
        row.scores = image_scores(outcome.results)
        row.notes = list(outcome.notes)
        fill_verdict(row, outcome.verdict(self.heuristic), undecided_reason(outcome.results))
        row.chunks = [chunk_entry(chunk, self._chunk_verdict(chunk, outcome.forcing)) for chunk in outcome.chunks]

    def _chunk_verdict(self, chunk: dict[str, Any], forcing: list[dict[str, Any]]) -> dict[str, Any] | None:
        """As the server shows a chunk: conclusive provenance describes the whole file, so it
        decides every chunk too (``services.audio.shown_chunks``)."""
        from originlens.verdicts.policy import select_verdict

        return select_verdict(chunk.get("verdicts") or [], forcing, self.heuristic)


NOT_MEDIA = "not an image, video or audio recording this service accepts"


def _file_sha256(path: Path) -> str:
    """What the detectors see as the name, as on the server: the content's hash, never the file name."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _error_text(exc: BaseException) -> str:
    """Our own errors carry client-readable messages; anything else is named with its type."""
    from originlens.media.audio import AudioError
    from originlens.media.images import ImageError
    from originlens.media.video import VideoError
    from originlens.outbound.guard import OutboundError

    if isinstance(exc, ImageError):
        return f"the image could not be analysed: {exc}"
    if isinstance(exc, VideoError):
        return f"the video could not be analysed: {exc}"
    if isinstance(exc, AudioError):
        return f"the recording could not be analysed: {exc}"
    if isinstance(exc, OutboundError):
        return f"the URL could not be downloaded: {exc}"
    if isinstance(exc, OSError):
        return f"the file could not be read: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------ --server


class ServerClassifier:
    """Sends every input to a running server (``originlens.client``): all are submitted first,
    then each result is waited for, so the server analyses them in parallel."""

    def __init__(self, options: ClassifyOptions, base_url: str, api_key: str, timeout_s: float = 300.0) -> None:
        from originlens.client import Client

        self.options = options
        self.client = Client(base_url, api_key)
        self.timeout_s = timeout_s

    def _submit_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {name: True for name in self.options.asked}
        if self.options.heatmap:
            opts["with_heatmap"] = True
        return opts

    def _video_options(self) -> dict[str, Any]:
        opts = {k: v for k, v in self._submit_options().items() if k != "with_heatmap"}
        opts["frames"] = self.options.frames
        if self.options.key_frames_method:
            opts.update(key_frames=True, key_frames_method=self.options.key_frames_method)
        return opts

    def _audio_options(self) -> dict[str, Any]:
        """Recordings take none of the image options (no tampering, NSFW, morphing or heatmap)."""
        return {}

    def _submit(self, item: Input, row: Row) -> tuple[str, MediaKind]:
        """Send one input; returns (identifier, its kind)."""
        from originlens.client import APIError

        if item.url is not None:
            try:
                return self.client.submit_image_url(item.url, **self._submit_options()).identifier, "image"
            except APIError as exc:
                if exc.status_code != 415:  # not an image: perhaps a video
                    raise
            row.media_type = "video"
            try:
                return self.client.submit_video_url(item.url, **self._video_options()).identifier, "video"
            except APIError as exc:
                if exc.status_code != 415:  # not a video either: perhaps a recording
                    raise
            row.media_type = "audio"
            return self.client.submit_audio_url(item.url, **self._audio_options()).identifier, "audio"
        assert item.path is not None
        sniffed = sniff_file(item.path)
        if sniffed is None:
            raise _NotMedia()
        kind: MediaKind = sniffed[0]
        row.media_type = kind
        if kind == "image":  # a path: the client re-reads it if a 429 makes it send again
            return self.client.submit_image(item.path, **self._submit_options()).identifier, kind
        if kind == "audio":
            return self.client.submit_audio(item.path, **self._audio_options()).identifier, kind
        return self.client.submit_video(item.path, **self._video_options()).identifier, kind

    def classify_all(self, inputs: Sequence[Input], advance: Callable[[], None]) -> list[Row]:
        try:
            return self._classify_all(inputs, advance)
        finally:
            self.client.close()

    def _classify_all(self, inputs: Sequence[Input], advance: Callable[[], None]) -> list[Row]:
        rows = [Row(input=item.name, source="url" if item.url else "file") for item in inputs]
        pending: list[tuple[Row, str, MediaKind]] = []
        for item, row in zip(inputs, rows, strict=True):
            if item.error:
                row.error = item.error
                advance()
                continue
            try:
                identifier, kind = self._submit(item, row)
            except _NotMedia:
                row.error = NOT_MEDIA
                advance()
                continue
            except Exception as exc:
                row.error = _server_error_text(exc)
                advance()
                continue
            row.identifier = identifier
            pending.append((row, identifier, kind))
        for row, identifier, kind in pending:
            try:
                result = self.client.wait(
                    identifier, video=kind == "video", audio=kind == "audio", timeout=self.timeout_s
                )
                self._fill(row, result.model_dump(), kind)
            except Exception as exc:
                row.error = _server_error_text(exc)
            advance()
        return rows

    def _fill(self, row: Row, body: dict[str, Any], kind: MediaKind) -> None:
        row.media_type = kind
        if body.get("status") == "errored" or (body.get("errors") and body.get("status") != "done"):
            row.error = str(body.get("errors") or "the server could not analyse this file")
            return
        undecided = None
        if kind == "video":
            frames = (body.get("results") or {}).get("images") or []
            row.frames = len(frames)
            row.scores = video_scores(frames)
        else:
            row.scores = image_scores(body.get("results") or [])
        if kind == "audio":
            row.duration = body.get("duration")
            row.speech_seconds = body.get("speech_seconds")
            undecided = undecided_reason(body.get("results") or [])
            chunks = body.get("chunk_details") or (body.get("details") or {}).get("clips") or []
            row.chunks = [chunk_entry(chunk, self._chosen_verdict(chunk)) for chunk in chunks]
        row.is_nsfw = body.get("is_nsfw")
        row.notes = list(body.get("notes") or [])
        fill_verdict(row, self._chosen_verdict(body), undecided)

    def _chosen_verdict(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The server's verdict; with ``--heuristic``, that heuristic's unless provenance decided."""
        verdict = body.get("verdict")
        wanted = self.options.heuristic
        if wanted is None or (verdict and verdict.get("evidence") in ("provenance", "override")):
            return verdict if isinstance(verdict, dict) else None
        return next((v for v in body.get("verdicts") or [] if v.get("heuristic") == wanted), verdict)


class _NotMedia(Exception):
    """A named file whose first bytes are neither an image, a video nor a recording."""


def _server_error_text(exc: BaseException) -> str:
    from originlens.client import APIError, OriginlensError

    if isinstance(exc, APIError):
        return f"the server refused it (HTTP {exc.status_code}): {exc.message}"
    if isinstance(exc, OriginlensError):
        return f"{type(exc).__name__}: {exc}"
    return _error_text(exc)
