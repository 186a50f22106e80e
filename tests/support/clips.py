"""Video clips made by the tests with PyAV (MPEG-4 Part 2, FFmpeg's own encoder)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

FPS = 25
W, H = 320, 240


def _pattern(t: int, palette: int) -> np.ndarray:
    """A moving coloured pattern; ``palette`` 0 is warm (reds), 1 is cold (blues/greens)."""
    y, x = np.mgrid[0:H, 0:W]
    wave = ((x + 4 * t) // 20 + (y // 20)) % 2
    img = np.zeros((H, W, 3), np.uint8)
    if palette == 0:
        img[..., 0] = 160 + 80 * wave
        img[..., 1] = 40 + (x // 8) % 40
        img[..., 2] = 30
    else:
        img[..., 0] = 20
        img[..., 1] = 90 + 60 * wave
        img[..., 2] = 170 + (y // 8) % 60
    return img


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    fps: int = FPS,
    gop: int = 12,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.max_b_frames = 0
        stream.codec_context.options = {"qscale": "3"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for a in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(a, format="rgb24")))
        out.mux(stream.encode())
    return path


def flat_frames(value: int, count: int, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    """``count`` frames of one grey level, with a little texture so the encoder has work."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    texture = ((x // 16 + y // 16) % 2 * 12).astype(np.int16)
    img = np.clip(value + texture, 0, 255).astype(np.uint8)
    return [np.repeat(img[..., None], 3, axis=2) for _ in range(count)]


def write_audio_only(path: Path) -> Path:
    """An MP4 with one AAC track of silence and no video track."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def write_clip_with_sound(path: Path, frames: list[np.ndarray], samples: np.ndarray, fps: int = FPS) -> Path:
    """An MP4 of ``frames`` (MPEG-4 Part 2) with ``samples`` (mono 16 kHz float) as its AAC track."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for a in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(a, format="rgb24")))
        out.mux(video.encode())
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000, frame_size=1024)
        pcm = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples.reshape(1, -1), np.float32), format="flt", layout="mono"
        )
        pcm.sample_rate = 16000
        start = 0
        for frame in [*resampler.resample(pcm), *resampler.resample(None)]:
            frame.pts, start = start, start + frame.samples
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path
