"""The video media layer: sniffing, probing, errors and the four frame-sampling methods.

Every clip except the shared eval ones is generated here with PyAV (MPEG-4 Part 2, the
encoder FFmpeg always has), so the expected answers are known by construction.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

av = pytest.importorskip("av")

from originlens.media.video import (  # noqa: E402
    CorruptVideoError,
    DecodeStats,
    EmptyVideoError,
    NotAVideoError,
    NoVideoTrackError,
    VideoLimits,
    VideoTimeoutError,
    VideoTooLargeError,
    VideoTooLongError,
    probe,
    sample_frames,
    sniff_video_type,
)
from tests.support.clips import FPS, H, W, _pattern, write_audio_only, write_clip  # noqa: E402
from tests.support.shared_data import EVAL, MANIFEST, needs_eval  # noqa: E402


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    plain = [_pattern(t, 0) for t in range(3 * FPS)]
    # the middle second replaced by a different clip: two hard cuts, at 1.0 s and 2.0 s
    cut = [_pattern(t, 1 if FPS <= t < 2 * FPS else 0) for t in range(3 * FPS)]
    small = [np.ascontiguousarray(_pattern(t, t // 50 % 2)[::4, ::4]) for t in range(40 * 10)]  # 80x60
    rot = np.zeros((32, 64, 3), np.uint8)
    rot[:, :32] = (255, 0, 0)  # left half red, right half blue
    rot[:, 32:] = (0, 0, 255)
    return {
        "plain": write_clip(d / "plain.mp4", plain),
        "cut": write_clip(d / "cut.mp4", cut),
        "long": write_clip(d / "long.mp4", small, fps=10, gop=10),
        "iframes": write_clip(d / "iframes.mp4", plain, gop=25),
        # display matrix of the legacy "rotate=90" tag: turn 90 degrees clockwise to show
        "rotated": write_clip(d / "rotated.mp4", [rot] * 10, fps=10, rotation=-90),
        "faststart": write_clip(d / "faststart.mp4", plain, options={"movflags": "faststart"}),
    }


# --------------------------------------------------------------------------- sniffing


def test_sniff_by_content() -> None:
    assert sniff_video_type(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00") == "video/mp4"
    assert sniff_video_type(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00") == "video/quicktime"
    assert sniff_video_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") is None  # HEIF still image
    assert sniff_video_type(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm") == "video/webm"
    assert sniff_video_type(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska") == "video/x-matroska"
    assert sniff_video_type(b"RIFF\x00\x00\x00\x00AVI LIST") == "video/x-msvideo"
    ts = bytearray(400)
    ts[0] = ts[188] = ts[376] = 0x47
    assert sniff_video_type(bytes(ts)) == "video/mp2t"
    assert sniff_video_type(b"\x89PNG\r\n\x1a\n" + bytes(100)) is None
    assert sniff_video_type(b"") is None


def test_sniff_generated_and_ignores_name(clips: dict[str, Path], tmp_path: Path) -> None:
    renamed = tmp_path / "holiday.png"
    renamed.write_bytes(clips["plain"].read_bytes())
    assert sniff_video_type(renamed.read_bytes()[:512]) == "video/mp4"
    assert probe(renamed).codec == "mpeg4"


# --------------------------------------------------------------------------- probe and errors


def test_probe_generated_clip(clips: dict[str, Path]) -> None:
    info = probe(clips["plain"])
    assert (info.width, info.height, info.codec, info.rotation) == (W, H, "mpeg4", 0)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.frame_count == 3 * FPS
    assert not info.has_audio
    assert not info.variable_frame_rate


def test_rotation_is_applied(clips: dict[str, Path]) -> None:
    info = probe(clips["rotated"])
    assert (info.width, info.height) == (64, 32)
    assert info.rotation == 270  # counter-clockwise, i.e. 90 degrees clockwise
    assert info.display_size == (32, 64)
    frames = sample_frames(clips["rotated"], 2)
    for f in frames:
        assert f.image.size == (32, 64) and f.image.mode == "RGB"
        a = np.asarray(f.image).astype(int)
        top, bottom = a[4:28].mean(axis=(0, 1)), a[36:60].mean(axis=(0, 1))
        assert top[0] > 200 and top[2] < 60  # the left (red) half turned clockwise is on top
        assert bottom[2] > 200 and bottom[0] < 60


def test_errors(clips: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(EmptyVideoError):
        probe(empty)

    png = tmp_path / "video.mp4"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    png.write_bytes(buf.getvalue())
    with pytest.raises(NotAVideoError):
        probe(png)
    with pytest.raises(NotAVideoError):
        sample_frames(png, 5)

    data = clips["plain"].read_bytes()
    truncated = tmp_path / "truncated.mp4"  # moov atom at the end: cut off
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError):
        probe(truncated)

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(data[:32] + bytes(range(256)) * 20)
    with pytest.raises(CorruptVideoError):
        sample_frames(garbage, 5)

    audio = write_audio_only(tmp_path / "audio.m4a")
    with pytest.raises(NoVideoTrackError):
        probe(audio)

    with pytest.raises(VideoTooLargeError):
        probe(clips["plain"], VideoLimits(max_side=200))
    with pytest.raises(VideoTooLargeError):
        probe(clips["plain"], VideoLimits(max_pixels=320 * 200))
    with pytest.raises(VideoTooLongError):
        probe(clips["plain"], VideoLimits(max_duration_s=2.0))
    with pytest.raises(VideoTimeoutError):
        sample_frames(clips["long"], 5, "color", VideoLimits(deadline_s=0.0))


def test_truncated_faststart_keeps_what_decodes(clips: dict[str, Path], tmp_path: Path) -> None:
    """moov first: the index survives, the tail of the data does not; no hang, no crash."""
    data = clips["faststart"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    stats = DecodeStats()
    frames = sample_frames(cut, 10, stats=stats)
    assert 1 <= len(frames) < 10
    assert all(f.timestamp < 2.5 for f in frames)


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("count", [5, 10, 30])
def test_even_exact_count_increasing(clips: dict[str, Path], count: int) -> None:
    frames = sample_frames(clips["plain"], count, "even")
    assert len(frames) == count
    ts = [f.timestamp for f in frames]
    assert ts == sorted(ts) and len(set(ts)) == count
    assert all(0.0 <= t < 3.0 for t in ts)
    assert all(f.image.size == (W, H) and f.image.mode == "RGB" for f in frames)
    assert [f.index for f in frames] == [round(t * FPS) for t in ts]
    # centres of equal slices: within one frame of (i + 0.5) * 3 / count
    for i, t in enumerate(ts):
        assert abs(t - (i + 0.5) * 3.0 / count) <= 1 / FPS + 1e-9


def test_even_seeks_instead_of_decoding_everything(clips: dict[str, Path]) -> None:
    info = probe(clips["long"])
    assert info.frame_count == 400
    stats = DecodeStats()
    frames = sample_frames(clips["long"], 5, "even", stats=stats)
    assert len(frames) == 5
    assert stats.seeks >= 5
    # each target costs at most one GOP (10 frames) after its seek, plus the probe's first frame
    assert stats.decoded <= 5 * 10 + 10 < info.frame_count // 4


def test_iframes(clips: dict[str, Path]) -> None:
    # GOP of 25 frames at 25 fps: key frames at 0, 1 and 2 s
    two = sample_frames(clips["iframes"], 2, "iframes")
    assert len(two) == 2
    assert all(f.index % 25 == 0 for f in two)
    five = sample_frames(clips["iframes"], 5, "iframes")
    assert len(five) == 5
    assert {0, 25, 50} <= {f.index for f in five}  # all three key frames, topped up with 2 more
    ts = [f.timestamp for f in five]
    assert ts == sorted(ts)


@pytest.mark.parametrize("method", ["color", "flow"])
def test_shot_methods_find_the_inserted_segment(clips: dict[str, Path], method: str) -> None:
    stats = DecodeStats()
    frames = sample_frames(clips["cut"], 3, method, stats=stats)
    assert len(stats.shots) == 3
    cuts = [start for start, _ in stats.shots[1:]]
    assert cuts == pytest.approx([1.0, 2.0], abs=0.1)
    assert len(frames) == 3
    middle = [f for f in frames if 1.0 <= f.timestamp < 2.0]
    assert len(middle) == 1
    # and it really is the cold (blue/green) clip
    r, g, b = np.asarray(middle[0].image).reshape(-1, 3).mean(axis=0)
    assert b > r and g > r
    # one frame: it still has to come from a shot; five: the extra frames go to shots, sorted by time
    five = sample_frames(clips["cut"], 5, method)
    assert len(five) == 5 and [f.timestamp for f in five] == sorted(f.timestamp for f in five)


def test_plain_clip_is_one_shot(clips: dict[str, Path]) -> None:
    stats = DecodeStats()
    frames = sample_frames(clips["plain"], 5, "color", stats=stats)
    assert len(stats.shots) == 1 and len(frames) == 5


def test_bad_arguments(clips: dict[str, Path]) -> None:
    with pytest.raises(ValueError):
        sample_frames(clips["plain"], 5, "random")
    with pytest.raises(ValueError):
        sample_frames(clips["plain"], 0)


# --------------------------------------------------------------------------- the shared eval clips


def _eval_videos() -> list[str]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="") as fh:
        return [row["file"] for row in csv.DictReader(fh) if row["file"].startswith("video/")]


@needs_eval
@pytest.mark.parametrize("name", _eval_videos())
def test_eval_clips(name: str) -> None:
    path = EVAL / name
    info = probe(path)
    assert info.duration_s > 0.5 and info.fps > 0 and info.frame_count >= 10
    method = "flow" if "carphone" in name or name.endswith(".webp") else "even"
    frames = sample_frames(path, 5, method)
    assert len(frames) == 5
    assert [f.timestamp for f in frames] == sorted(f.timestamp for f in frames)
    assert all(f.image.size == info.display_size and f.image.mode == "RGB" for f in frames)
    if "waterfall" in name:  # phone clip, stored upright
        assert info.display_size == (720, 1280)
