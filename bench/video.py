"""Time to done for a 60 s 1080p H.264 video, with frames=10 and frames=30, and decode speed.

    .venv/bin/python bench/video.py [--repeat 3] [--seconds 60]

Generates the clip with PyAV (libx264, 30 fps, a key frame every 2 s, moving gradients so the
encoder has real work), then runs what the worker runs for a video, in-process and without the
database: ``sample_frames`` (seeking, evenly spaced) and every sampled frame through
``analyse_media`` with the default registry (faces included). Baseline in the same run: a full
decode of the whole stream (frames per second), which sampling by seeking must beat.
Target on the 2-core dev machine: frames=10 done in under 8 s (median).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_all
from originlens.container import build_registry
from originlens.detectors.base import MediaInput
from originlens.media.video import DecodeStats, probe, sample_frames
from originlens.pipeline import analyse_media
from originlens.settings import Settings


def make_clip(path: Path, seconds: int, fps: int = 30, size: tuple[int, int] = (1920, 1080)) -> Path:
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        stream.codec_context.options = {"preset": "ultrafast", "crf": "23"}
        for t in range(seconds * fps):
            phase = t / fps
            r = (127 + 120 * np.sin(x / 97 + phase)).astype(np.uint8)
            g = (127 + 120 * np.sin(y / 61 - 1.3 * phase)).astype(np.uint8)
            b = (127 + 120 * np.sin((x + y) / 143 + 0.7 * phase)).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.dstack([r, g, b]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def full_decode_fps(path: Path) -> float:
    started = time.perf_counter()
    with av.open(str(path)) as container:
        count = sum(1 for _ in container.decode(video=0))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    registry = build_registry(Settings())
    load_all(registry)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        clip = make_clip(Path(tmp) / "bench.mp4", args.seconds)
        info = probe(clip)
        print(
            f"clip: {info.width}x{info.height} {info.codec} {info.duration_s:.0f} s {info.fps:.0f} fps "
            f"({clip.stat().st_size / 1e6:.1f} MB, made in {time.perf_counter() - started:.0f} s)"
        )
        fps = statistics.median(full_decode_fps(clip) for _ in range(args.repeat))
        print(f"baseline, full decode of every frame: {fps:.0f} frames/s ({info.frame_count / fps:.1f} s for the clip)")
        for frames in (10, 30):
            totals, decode_times, decoded = [], [], []
            for _ in range(args.repeat):
                stats = DecodeStats()
                t0 = time.perf_counter()
                sampled = sample_frames(clip, frames, "even", stats=stats)
                t1 = time.perf_counter()
                for frame in sampled:
                    media = MediaInput(data=b"", mime_type="image/png", decoded=frame.image)
                    analyse_media(registry, media)
                totals.append(time.perf_counter() - t0)
                decode_times.append(t1 - t0)
                decoded.append(stats.decoded)
            total, decode = statistics.median(totals), statistics.median(decode_times)
            print(
                f"frames={frames}: done in {total:.2f} s (median of {args.repeat}); sampling {decode:.2f} s "
                f"decoding {statistics.median(decoded):.0f} of {info.frame_count} frames "
                f"({statistics.median(decoded) / decode:.0f} frames/s), analysis {total - decode:.2f} s"
                + ("; target < 8 s " + ("met" if total < 8 else "NOT met") if frames == 10 else "")
            )


if __name__ == "__main__":
    main()
