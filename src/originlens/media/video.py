"""Recognise video containers by content, probe them and sample frames safely.

The client's filename and Content-Type are never trusted: the first bytes decide, and the
demuxer is then *forced* to the sniffed format so FFmpeg never guesses (a guessed HLS or
concat "video" could make it open other files). Decoding uses PyAV (FFmpeg bundled in the
wheel). Every call runs under :class:`VideoLimits`: a wall-clock deadline checked after each
packet and frame, a cap on pixels per frame, a cap on duration; every FFmpeg failure becomes
a :class:`VideoError` whose message is meant for the client.

Animated WebP (which the bundled FFmpeg cannot decode) is read with Pillow instead.

Frame selection methods (``docs/video.md`` has the details):

* ``even``: ``count`` frames at the centres of ``count`` equal slices of the duration, reached
  by seeking, never by decoding the whole stream;
* ``iframes``: the key frames (found by demuxing only, decoded with ``skip_frame="NONKEY"``),
  evenly thinned to ``count``, or topped up with evenly spaced frames;
* ``color`` / ``flow``: a cheap low-resolution pass finds shots (cut = colour-histogram
  distance between consecutive analysed frames >= ``cut_threshold``); ``color`` keeps the
  frame closest to its shot's mean histogram, ``flow`` the stillest frame; frames are shared
  out over shots longest first.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import av
import numpy as np
from PIL import Image

log = logging.getLogger(__name__)
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _readable_errors(fn: Callable[_P, _T]) -> Callable[_P, _T]:
    """Every failure of a public entry point is a :class:`VideoError` with a sentence about the
    file: FFmpeg's and PyAV's surprises (a stream without a codec context, ...) are logged, not shown."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return fn(*args, **kwargs)
        except (VideoError, ValueError):
            raise
        except Exception as exc:
            log.info("video decoding failed: %s: %s", type(exc).__name__, exc, exc_info=True)
            raise CorruptVideoError("the video data is damaged or uses a feature the decoder does not support") from exc

    return wrapper


SamplingMethod = Literal["even", "iframes", "color", "flow"]
SAMPLING_METHODS: tuple[str, ...] = ("even", "iframes", "color", "flow")
ACCEPTED_VIDEO_FORMATS = "MP4, MOV, 3GP, WebM, MKV, AVI, MPEG-TS, MPEG-PS, FLV, ASF/WMV, Ogg, animated WebP"
SNIFF_BYTES = 512
"""How many leading bytes :func:`sniff_video_type` needs to see."""

# MIME type -> the FFmpeg demuxer that must read it (None: read with Pillow).
_DEMUXERS: dict[str, str | None] = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
    "video/mp2t": "mpegts",
    "video/mpeg": "mpeg",
    "video/x-flv": "flv",
    "video/x-ms-asf": "asf",
    "video/ogg": "ogg",
    "image/webp": None,
}
# ISO-BMFF brands of still images (HEIF/AVIF): they start with ``ftyp`` too, but are not videos.
_STILL_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis", b"crx "}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"M4R ", b"F4A ", b"F4B "}
"""MP4 brands that declare a sound-only file (iTunes audio, audiobooks, ringtones): not a video."""
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


# --------------------------------------------------------------------------- errors


class VideoError(Exception):
    """Base for video problems; the message is meant for the client."""


class NotAVideoError(VideoError):
    """The content is not a recognised video container (the name and MIME type are ignored)."""


class EmptyVideoError(VideoError):
    """Zero bytes, or a container without a single frame."""


class NoVideoTrackError(VideoError):
    """A valid container with no video track (e.g. audio only, or only cover art)."""


class CorruptVideoError(VideoError):
    """The container or the video data is corrupt, truncated or in an undecodable codec."""


class VideoTooLargeError(VideoError):
    """Frames larger than the limits (a side above ``max_side`` or more than ``max_pixels``)."""


class VideoTooLongError(VideoError):
    """The duration is above ``max_duration_s``."""


class VideoTimeoutError(VideoError):
    """Decoding did not finish before the deadline."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class VideoLimits:
    """Safety limits for probing and decoding; every field is settable per call."""

    max_side: int = 8192
    """Largest accepted width or height, in pixels (after rotation either way)."""
    max_pixels: int = 8192 * 4320
    """Largest accepted frame area (8K UHD by default): bounds the memory of one decoded frame."""
    max_duration_s: float = 3 * 3600.0
    deadline_s: float = 120.0
    """Wall-clock budget of one :func:`probe` or :func:`sample_frames` call."""
    analysis_side: int = 128
    """Longest side of the frames the cheap shot-detection pass looks at."""
    analysis_fps: float = 12.0
    """At most this many frames per second are analysed by the cheap pass (all are decoded)."""
    cut_threshold: float = 0.35
    """Histogram distance (total variation, 0..1) at or above which two analysed frames are a cut."""
    min_shot_s: float = 0.25
    """Shots shorter than this are merged into the previous one (flashes, single glitched frames)."""
    forward_decode_s: float = 1.0
    """``even`` sampling decodes forward instead of seeking when the next target is this close."""


@dataclass(frozen=True)
class VideoInfo:
    mime: str
    container: str
    codec: str
    duration_s: float
    fps: float
    frame_count: int
    """Exact when the container states it, otherwise ``round(duration_s * fps)``."""
    width: int
    """Coded width, before rotation."""
    height: int
    rotation: int
    """Counter-clockwise degrees to turn decoded frames to make them upright (0, 90, 180 or 270)."""
    has_audio: bool
    variable_frame_rate: bool

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of the upright frames."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


@dataclass(frozen=True)
class Frame:
    index: int
    """Frame number, ``round(timestamp * fps)``: exact for constant frame rate, estimated otherwise."""
    timestamp: float
    """Seconds since the start of the video stream."""
    image: Image.Image
    """RGB, rotated upright."""


@dataclass
class DecodeStats:
    """Counters a caller (or a test) can pass in to see what a call cost."""

    decoded: int = 0
    """Frames the decoder produced, full and cheap passes together."""
    seeks: int = 0
    analysed: int = 0
    """Frames the cheap pass downscaled and measured."""
    shots: list[tuple[float, float]] = field(default_factory=list)
    """(start, end) seconds of the shots the cut detector found (``color``/``flow`` only)."""
    problems: list[str] = field(default_factory=list)
    """Non-fatal decoding errors, e.g. a truncated tail after some frames were decoded."""
    elapsed_s: float = 0.0


# --------------------------------------------------------------------------- sniffing


def sniff_video_type(head: bytes) -> str | None:
    """Return the video MIME type from the first bytes (:data:`SNIFF_BYTES` is enough), or None.

    Animated WebP comes back as ``image/webp``; a still WebP, HEIF or AVIF is not a video.
    """
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _STILL_BRANDS or brand in _AUDIO_BRANDS:
            return None
        if brand == b"qt  ":
            return "video/quicktime"
        if brand[:3] in (b"3gp", b"3g2"):
            return "video/3gpp"
        return "video/mp4"
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return "video/quicktime"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X" and len(head) > 20 and head[20] & 0x02:
        return "image/webp"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47 and (len(head) <= 376 or head[376] == 0x47):
        return "video/mp2t"
    if len(head) > 196 and head[4] == 0x47 and head[196] == 0x47:
        return "video/mp2t"  # M2TS: 4-byte timecode before each 188-byte packet
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "video/mpeg"
    if head[:4] == b"FLV\x01":
        return "video/x-flv"
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":
        return "video/x-ms-asf"
    if head[:4] == b"OggS":
        return "video/ogg"
    return None


# --------------------------------------------------------------------------- helpers


class _Clock:
    def __init__(self, deadline_s: float) -> None:
        self.start = time.monotonic()
        self.deadline_s = deadline_s

    def check(self) -> None:
        if time.monotonic() - self.start > self.deadline_s:
            raise VideoTimeoutError(f"decoding the video took longer than {self.deadline_s:g} s")

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if width <= 0 or height <= 0:
        raise CorruptVideoError(f"the video track reports an invalid size of {width}x{height}")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise VideoTooLargeError(
            f"the video is {width}x{height} pixels; at most {limits.max_side} pixels a side and "
            f"{limits.max_pixels:,} pixels a frame are analysed"
        )


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise VideoError(f"the video file could not be read ({exc.strerror or 'input/output error'})") from exc


def _sniff(path: Path) -> str:
    head = _read_head(path)
    if not head:
        raise EmptyVideoError("the video file is empty (0 bytes)")
    mime = sniff_video_type(head)
    if mime is None:
        raise NotAVideoError(f"the file is not a recognised video; accepted containers: {ACCEPTED_VIDEO_FORMATS}")
    return mime


def _normalise_rotation(degrees: float) -> int:
    return round(degrees / 90.0) * 90 % 360


def _upright(image: Image.Image, rotation: int) -> Image.Image:
    # PIL rotates counter-clockwise, like the display matrix angle.
    return image.rotate(rotation, expand=True) if rotation else image


def _analysis_size(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _histogram(rgb: np.ndarray) -> np.ndarray:
    """Joint RGB histogram, 4 levels a channel (64 bins), normalised to sum 1."""
    q = (rgb >> 6).astype(np.int32)
    codes = (q[..., 0] << 4) | (q[..., 1] << 2) | q[..., 2]
    hist = np.bincount(codes.ravel(), minlength=64).astype(np.float32)
    return hist / max(1.0, float(hist.sum()))


def _hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance between two normalised histograms, in [0, 1]."""
    return 0.5 * float(np.abs(a - b).sum())


def _spread(n: int, count: int) -> list[int]:
    """``count`` positions spread evenly over ``range(n)`` (slice centres), all of them if n <= count."""
    if count >= n:
        return list(range(n))
    return [min(n - 1, int((i + 0.5) * n / count)) for i in range(count)]


def _even_targets(duration: float, count: int) -> list[float]:
    return [(i + 0.5) * duration / count for i in range(count)]


# --------------------------------------------------------------------------- shots (pure, on cheap-pass data)


@dataclass
class _Analysed:
    times: list[float] = field(default_factory=list)
    hists: list[np.ndarray] = field(default_factory=list)
    diffs: list[float] = field(default_factory=list)
    """Mean absolute grey difference to the previous analysed frame (0 for the first)."""


def _find_shots(data: _Analysed, limits: VideoLimits) -> list[range]:
    """Split the analysed frames into shots at hard cuts; short shots join the previous one."""
    n = len(data.times)
    if n == 0:
        return []
    starts = [0]
    for i in range(1, n):
        if _hist_distance(data.hists[i - 1], data.hists[i]) >= limits.cut_threshold:
            starts.append(i)
    bounds = [*starts, n]
    shots = [range(bounds[k], bounds[k + 1]) for k in range(len(starts))]
    merged: list[range] = []
    for shot in shots:
        end_time = data.times[shot.stop] if shot.stop < n else math.inf
        if merged and end_time - data.times[shot.start] < limits.min_shot_s:
            merged[-1] = range(merged[-1].start, shot.stop)
        else:
            merged.append(shot)
    if len(merged) > 1 and data.times[-1] - data.times[merged[-1].start] < limits.min_shot_s:
        last = merged.pop()
        merged[-1] = range(merged[-1].start, last.stop)
    return merged


def _allocate(lengths: Sequence[int], count: int) -> list[int]:
    """Frames per shot: one each to the longest shots; extras go to the shot with most frames per pick."""
    quota = [0] * len(lengths)
    by_length = sorted(range(len(lengths)), key=lambda k: (-lengths[k], k))
    for k in by_length[:count]:
        quota[k] = 1
    remaining = min(count, sum(lengths)) - sum(quota)
    while remaining > 0:
        k = max((k for k in by_length if quota[k] < lengths[k]), key=lambda k: (lengths[k] / (quota[k] + 1), -k))
        quota[k] += 1
        remaining -= 1
    return quota


def _representative(data: _Analysed, members: range, method: str) -> int:
    if method == "color":
        mean = np.mean([data.hists[i] for i in members], axis=0)
        return min(members, key=lambda i: (_hist_distance(data.hists[i], mean), i))

    def stillness(i: int) -> float:
        around = [data.diffs[i]] if i > members.start else []
        if i + 1 < members.stop:
            around.append(data.diffs[i + 1])
        return sum(around) / len(around) if around else 0.0

    return min(members, key=lambda i: (stillness(i), i))


def _pick_over_shots(data: _Analysed, shots: list[range], count: int, method: str) -> list[float]:
    quota = _allocate([len(s) for s in shots], count)
    chosen: list[int] = []
    for shot, q in zip(shots, quota, strict=True):
        for part in range(q):  # a shot given q frames is cut into q equal parts, one pick each
            lo = shot.start + part * len(shot) // q
            hi = shot.start + (part + 1) * len(shot) // q
            chosen.append(_representative(data, range(lo, hi), method))
    return [data.times[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------- PyAV backend


def _ffmpeg_error(exc: BaseException, what: str) -> CorruptVideoError:
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return CorruptVideoError(f"the video {what}: {detail}")


class _AVSource:
    def __init__(self, path: Path, mime: str, limits: VideoLimits, clock: _Clock, stats: DecodeStats) -> None:
        self.limits, self.clock, self.stats, self.mime = limits, clock, stats, mime
        demuxer = _DEMUXERS[mime]
        try:
            self.container: Any = av.open(str(path), format=demuxer, metadata_errors="replace")
        except av.FFmpegError as exc:
            raise _ffmpeg_error(exc, "container cannot be read (corrupt or truncated?)") from exc
        tracks = [s for s in self.container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
        if not tracks:
            has_sound = bool(self.container.streams.audio)
            self.close()
            if has_sound:
                raise NoVideoTrackError(
                    "the file has no video track, only sound: send it to /api/classification_audio to judge the voice"
                )
            raise NoVideoTrackError("the file has no video track")
        self.stream: Any = tracks[0]
        self.stream.thread_type = "AUTO"
        tb = self.stream.time_base
        self.time_base = float(tb) if tb else 1 / 90000
        start = self.stream.start_time
        self.start_pts = int(start) if start is not None else 0

    def close(self) -> None:
        self.container.close()

    def seconds(self, pts: int | None) -> float:
        return ((pts or 0) - self.start_pts) * self.time_base

    def packets(self) -> Iterator[Any]:
        try:
            for packet in self.container.demux(self.stream):
                self.clock.check()
                yield packet
        except av.FFmpegError as exc:
            raise _ffmpeg_error(exc, "data is corrupt or truncated") from exc

    def frames(self, on_error_after_some: bool = True) -> Iterator[Any]:
        """Decoded frames in display order; after the first frame, an FFmpeg error ends the stream."""
        produced = 0
        try:
            for packet in self.container.demux(self.stream):
                self.clock.check()
                for frame in packet.decode():
                    self.clock.check()
                    self.stats.decoded += 1
                    _check_size(frame.width, frame.height, self.limits)
                    produced += 1
                    yield frame
        except av.FFmpegError as exc:
            if produced and on_error_after_some:
                self.stats.problems.append(f"decoding stopped early: {getattr(exc, 'strerror', None) or exc}")
                return
            raise _ffmpeg_error(exc, "data is corrupt or truncated") from exc

    def seek(self, seconds: float) -> None:
        self.stats.seeks += 1
        target = self.start_pts + int(seconds / self.time_base)
        try:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.FFmpegError as exc:
            raise _ffmpeg_error(exc, "cannot be seeked") from exc


def _probe_av(src: _AVSource, path: Path) -> VideoInfo:
    s, limits = src.stream, src.limits
    if s.codec_context is None:
        raise CorruptVideoError("the video track cannot be decoded (its codec parameters are damaged)")
    _check_size(s.codec_context.width, s.codec_context.height, limits)
    rate = s.average_rate or s.guessed_rate or s.base_rate
    fps = float(rate) if rate else 0.0
    duration = src.seconds(src.start_pts + s.duration) if s.duration else 0.0
    if duration <= 0 and src.container.duration:
        duration = src.container.duration / 1_000_000
    # Demux (no decoding) the start to measure frame spacing; the whole file if no duration is stated.
    pts: list[int] = []
    last_end = 0.0
    for packet in src.packets():
        if packet.pts is not None:
            pts.append(packet.pts)
            last_end = max(last_end, src.seconds(packet.pts + (packet.duration or 0)))
        if len(pts) >= 300 and duration > 0:
            break
    if not pts:
        raise EmptyVideoError("the video track has no frames")
    deltas = np.diff(np.unique(np.array(pts, dtype=np.int64)))
    vfr = False
    if len(deltas) >= 2:
        median = float(np.median(deltas))
        vfr = float(deltas.max() - deltas.min()) > max(2.0, 0.05 * median)
        if fps <= 0 and median > 0:
            fps = 1.0 / (median * src.time_base)
    if duration <= 0:
        duration = last_end
    if duration > limits.max_duration_s:
        raise VideoTooLongError(f"the video lasts {duration:.0f} s; at most {limits.max_duration_s:.0f} s are analysed")
    # Decode the first frame: proves the codec works and carries the display matrix.
    src.seek(0.0)
    first = next(src.frames(on_error_after_some=False), None)
    if first is None:
        raise CorruptVideoError("no frame of the video could be decoded")
    rotation = _normalise_rotation(first.rotation or 0)
    if not rotation and "rotate" in s.metadata:  # legacy tag: clockwise degrees
        try:
            rotation = _normalise_rotation(-float(s.metadata["rotate"]))
        except ValueError:
            rotation = 0
    frame_count = int(s.frames) if s.frames else round(duration * fps)
    return VideoInfo(
        mime=src.mime,
        container=src.container.format.name,
        codec=s.codec_context.name,
        duration_s=duration,
        fps=fps,
        frame_count=frame_count,
        width=s.codec_context.width,
        height=s.codec_context.height,
        rotation=rotation,
        has_audio=bool(src.container.streams.audio),
        variable_frame_rate=vfr,
    )


def _grab_av(src: _AVSource, info: VideoInfo, targets: Sequence[float], keyframes_only: bool = False) -> list[Frame]:
    """The first frame at or after each target time (within half a frame), by seeking."""
    half = 0.5 / info.fps if info.fps > 0 else 0.0
    src.stream.codec_context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"
    out: list[Frame] = []
    frames: Iterator[Any] | None = None
    position = -math.inf
    previous: Any = None
    for target in sorted(targets):
        if frames is None or target - position > src.limits.forward_decode_s or keyframes_only:
            src.seek(target)
            frames = src.frames()
            previous = None
        picked = None
        for frame in frames:
            t = src.seconds(frame.pts)
            position = t
            if t + half >= target:
                picked = frame
                break
            previous = frame
        if picked is None:  # ran off the end (truncated data or a too-long stated duration)
            picked = previous
            frames = None
        if picked is None:
            continue
        t = src.seconds(picked.pts)
        index = round(t * info.fps) if info.fps > 0 else len(out)
        if out and out[-1].index == index:
            continue
        out.append(Frame(index=index, timestamp=t, image=_upright(picked.to_image(), info.rotation)))
    src.stream.codec_context.skip_frame = "DEFAULT"
    if not out:
        raise CorruptVideoError("no frame of the video could be decoded")
    return out


def _keyframe_times_av(src: _AVSource) -> list[float]:
    src.seek(0.0)
    return sorted({src.seconds(p.pts) for p in src.packets() if p.is_keyframe and p.pts is not None})


def _analyse_av(src: _AVSource, info: VideoInfo) -> _Analysed:
    w, h = _analysis_size(info.width, info.height, src.limits.analysis_side)
    step = 1.0 / src.limits.analysis_fps
    data = _Analysed()
    previous: np.ndarray | None = None
    next_time = -math.inf
    src.seek(0.0)
    for frame in src.frames():
        t = src.seconds(frame.pts)
        if t < next_time:
            continue
        next_time = t + step * 0.999
        rgb = frame.to_ndarray(width=w, height=h, format="rgb24")
        grey = rgb.mean(axis=2, dtype=np.float32)
        data.times.append(t)
        data.hists.append(_histogram(rgb))
        data.diffs.append(float(np.abs(grey - previous).mean()) if previous is not None else 0.0)
        previous = grey
        src.stats.analysed += 1
    return data


# --------------------------------------------------------------------------- Pillow backend (animated WebP)


def _webp_frame_durations(path: Path) -> list[float]:
    """Seconds each ANMF frame is shown, read from the RIFF chunks without decoding anything."""
    data = path.read_bytes()
    out: list[float] = []
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if data[pos : pos + 4] == b"ANMF" and size >= 16:
            out.append(int.from_bytes(data[pos + 20 : pos + 23], "little") / 1000.0)
        pos += 8 + size + (size & 1)
    return out


class _WebPSource:
    def __init__(self, path: Path, limits: VideoLimits, clock: _Clock, stats: DecodeStats) -> None:
        self.limits, self.clock, self.stats = limits, clock, stats
        try:
            self.image = Image.open(path)
        except Exception as exc:
            raise CorruptVideoError("the animated WebP cannot be read (its data is damaged)") from exc
        _check_size(self.image.width, self.image.height, limits)  # from the header, before any decoding
        try:
            self.image.load()
        except Exception as exc:
            self.image.close()
            raise CorruptVideoError("the animated WebP cannot be read (its data is damaged)") from exc
        self.n = int(getattr(self.image, "n_frames", 1))
        if self.n < 2:
            self.close()
            raise NotAVideoError("the WebP file is a still image, not an animation")
        durations = _webp_frame_durations(path)
        if len(durations) != self.n or sum(durations) <= 0:
            durations = [0.04] * self.n  # no usable timing: assume 25 fps
        self.durations = np.array(durations)
        self.times = [float(t) for t in np.concatenate([[0.0], np.cumsum(durations)[:-1]])]
        self.duration = float(sum(durations))

    def close(self) -> None:
        self.image.close()

    def frame(self, i: int) -> Image.Image:
        self.clock.check()
        try:
            self.image.seek(i)
            self.stats.decoded += 1
            return self.image.convert("RGB")
        except Exception as exc:
            raise CorruptVideoError(f"frame {i} of the animated WebP cannot be decoded (its data is damaged)") from exc

    def index_at(self, t: float) -> int:
        return max(0, int(np.searchsorted(self.times, t, side="right")) - 1)


def _probe_webp(src: _WebPSource) -> VideoInfo:
    if src.duration > src.limits.max_duration_s:
        raise VideoTooLongError(
            f"the animation lasts {src.duration:.0f} s; at most {src.limits.max_duration_s:.0f} s are analysed"
        )
    d = src.durations
    return VideoInfo(
        mime="image/webp",
        container="webp",
        codec="webp",
        duration_s=src.duration,
        fps=src.n / src.duration,
        frame_count=src.n,
        width=src.image.width,
        height=src.image.height,
        rotation=0,
        has_audio=False,
        variable_frame_rate=bool(len(d) > 1 and float(d.max() - d.min()) > 1e-3),
    )


def _grab_webp(src: _WebPSource, indices: Sequence[int]) -> list[Frame]:
    return [Frame(index=i, timestamp=src.times[i], image=src.frame(i)) for i in sorted(set(indices))]


def _analyse_webp(src: _WebPSource) -> _Analysed:
    w, h = _analysis_size(src.image.width, src.image.height, src.limits.analysis_side)
    data = _Analysed()
    previous: np.ndarray | None = None
    for i in range(src.n):
        rgb = np.asarray(src.frame(i).resize((w, h), Image.Resampling.BILINEAR))
        grey = rgb.mean(axis=2, dtype=np.float32)
        data.times.append(src.times[i])
        data.hists.append(_histogram(rgb))
        data.diffs.append(float(np.abs(grey - previous).mean()) if previous is not None else 0.0)
        previous = grey
        src.stats.analysed += 1
    return data


# --------------------------------------------------------------------------- public API


@_readable_errors
def probe(path: str | Path, limits: VideoLimits | None = None) -> VideoInfo:
    """Check that ``path`` is a decodable video within the limits and describe it.

    Demuxes at most a few hundred packets (the whole file only when no duration is stated)
    and decodes a single frame.
    """
    limits = limits or VideoLimits()
    path = Path(path)
    mime = _sniff(path)
    clock = _Clock(limits.deadline_s)
    stats = DecodeStats()
    if _DEMUXERS[mime] is None:
        webp = _WebPSource(path, limits, clock, stats)
        try:
            return _probe_webp(webp)
        finally:
            webp.close()
    src = _AVSource(path, mime, limits, clock, stats)
    try:
        return _probe_av(src, path)
    finally:
        src.close()


@_readable_errors
def sample_frames(
    path: str | Path,
    count: int,
    method: SamplingMethod | str = "even",
    limits: VideoLimits | None = None,
    stats: DecodeStats | None = None,
) -> list[Frame]:
    """Return up to ``count`` upright RGB frames chosen by ``method``, sorted by time.

    Exactly ``count`` frames come back whenever the video has that many decodable frames
    (fewer for ``iframes``/``color``/``flow`` only when the video itself has fewer frames).
    Raises :class:`VideoError` subclasses; never decodes past ``limits.deadline_s``.
    """
    if method not in SAMPLING_METHODS:
        raise ValueError(f"unknown sampling method {method!r}; expected one of {', '.join(SAMPLING_METHODS)}")
    if count < 1:
        raise ValueError("count must be at least 1")
    limits = limits or VideoLimits()
    stats = stats if stats is not None else DecodeStats()
    path = Path(path)
    mime = _sniff(path)
    clock = _Clock(limits.deadline_s)
    try:
        if _DEMUXERS[mime] is None:
            return _sample_webp(path, count, method, limits, clock, stats)
        return _sample_av(path, mime, count, method, limits, clock, stats)
    finally:
        stats.elapsed_s = clock.elapsed()


def _sample_av(
    path: Path, mime: str, count: int, method: str, limits: VideoLimits, clock: _Clock, stats: DecodeStats
) -> list[Frame]:
    src = _AVSource(path, mime, limits, clock, stats)
    try:
        info = _probe_av(src, path)
        if method == "even":
            return _grab_av(src, info, _even_targets(info.duration_s, count))
        if method == "iframes":
            keys = _keyframe_times_av(src)
            chosen = [keys[i] for i in _spread(len(keys), count)]
            frames = _grab_av(src, info, chosen, keyframes_only=True) if chosen else []
            if len(frames) < count:  # top up with the even targets farthest from the frames already chosen
                have = [f.timestamp for f in frames]
                pool = _even_targets(info.duration_s, count)
                extra: list[float] = []
                while pool and len(have) + len(extra) < count:
                    best = max(pool, key=lambda t: min((abs(t - h) for h in [*have, *extra]), default=math.inf))
                    pool.remove(best)
                    extra.append(best)
                more = _grab_av(src, info, extra) if extra else []
                frames = sorted({f.index: f for f in [*frames, *more]}.values(), key=lambda f: f.timestamp)
            return frames[:count]
        data = _analyse_av(src, info)
        shots = _find_shots(data, limits)
        stats.shots = [
            (data.times[s.start], data.times[s.stop] if s.stop < len(data.times) else info.duration_s) for s in shots
        ]
        return _grab_av(src, info, _pick_over_shots(data, shots, count, method))
    finally:
        src.close()


def _sample_webp(
    path: Path, count: int, method: str, limits: VideoLimits, clock: _Clock, stats: DecodeStats
) -> list[Frame]:
    src = _WebPSource(path, limits, clock, stats)
    try:
        info = _probe_webp(src)
        if method in ("even", "iframes"):  # an animated WebP has no key-frame index: iframes == even
            return _grab_webp(src, [src.index_at(t) for t in _even_targets(info.duration_s, count)])
        data = _analyse_webp(src)
        shots = _find_shots(data, limits)
        stats.shots = [
            (data.times[s.start], data.times[s.stop] if s.stop < len(data.times) else info.duration_s) for s in shots
        ]
        return _grab_webp(src, [src.index_at(t) for t in _pick_over_shots(data, shots, count, method)])
    finally:
        src.close()


__all__ = [
    "ACCEPTED_VIDEO_FORMATS",
    "SAMPLING_METHODS",
    "SNIFF_BYTES",
    "CorruptVideoError",
    "DecodeStats",
    "EmptyVideoError",
    "Frame",
    "NoVideoTrackError",
    "NotAVideoError",
    "SamplingMethod",
    "VideoError",
    "VideoInfo",
    "VideoLimits",
    "VideoTimeoutError",
    "VideoTooLargeError",
    "VideoTooLongError",
    "probe",
    "sample_frames",
    "sniff_video_type",
]
