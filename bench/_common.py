"""Helpers shared by the benchmarks: loading every model and making JPEGs for the in-process
ones (``bench/options.py``, ``bench/pixel.py``), starting the service for the client ones
(``bench/api.py``, ``bench/audio.py``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

SRC = Path(__file__).resolve().parents[1] / "src"


def load_all(registry: Any) -> None:
    """Load every model a worker holds: every detector (the option ones too) and the face finder."""
    for detector in registry:
        detector.load()
    if registry.faces is not None:
        registry.faces.load()


def make_jpeg(source: Path | None, width: int, height: int) -> bytes:
    """``source`` resized (bicubic) to ``width`` x ``height`` as a quality-92 JPEG; ``None`` gives noise."""
    if source is not None:
        image = Image.open(source).convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    else:
        image = Image.effect_noise((width, height), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """``originlens serve`` from this checkout's ``src`` in its own process (SQLite in ``data_dir``,
    two in-process workers, rate limits off), once ``/api/health`` answers."""
    env = {
        **os.environ,
        "ORIGINLENS_DATA_DIR": str(data_dir),
        "ORIGINLENS_RATELIMIT_ENABLED": "false",
        "ORIGINLENS_WORKERS": "2",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "originlens.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")
