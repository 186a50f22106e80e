"""A full disk under the blob store: an upload is refused with 507 and a JSON message,
nothing recorded or charged; a job whose results cannot be written ends ``errored`` with a
plain reason and a refund. The disk is a real 2 MB tmpfs filled to the last byte."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import make_user, start_server, submit, wait_done


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Write until the filesystem refuses; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (65536, 4096, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    return filler


def _photo(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def test_an_upload_to_a_full_disk_is_refused_and_nothing_is_recorded(small_disk: Path, tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", storage_url=f"file://{small_disk}/blobs")
    try:
        _, key = make_user(server, balance=5)
        filler = _fill(small_disk)
        with server.client(key) as client:
            response = client.post("/api/classification", files={"image": ("a.jpg", _photo(1))})
            listed = client.get("/api/classifications").json()
            credits = client.get("/api/user/credits").json()
            health = client.get("/api/health").json()
            assert response.status_code == 507, response.text
            assert "storage is full" in response.json()["message"]
            assert listed["total"] == 0 and credits == {"available_credits": 5, "total_spent": 0}
            assert health["components"]["storage"]["status"] == "down"
            assert not [p for p in small_disk.rglob(".tmp-*")], "no partial file is left behind"
            filler.unlink()
            identifier = submit(client, _photo(1))
            assert wait_done(client, identifier)["status"] == "done"
    finally:
        server.stop()


def test_results_that_cannot_be_stored_end_errored_with_a_refund(small_disk: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    storage = f"file://{small_disk}/blobs"
    accepting = start_server(data, storage_url=storage, workers=0)  # accepts, runs nothing
    try:
        _, key = make_user(accepting, balance=5)
        with accepting.client(key) as client:
            identifier = submit(client, _photo(2), with_tampering=True)  # its map is written after analysis
    finally:
        accepting.stop()
    _fill(small_disk)
    working = start_server(data, operator_key=accepting.operator_key, storage_url=storage, workers=1)
    try:
        with working.client(key) as client:
            body = wait_done(client, identifier, timeout=60)
            credits = client.get("/api/user/credits").json()
    finally:
        working.stop()
    assert body["status"] == "errored"
    assert "storage is full" in body["errors"] and "No space left" in body["errors"]
    assert credits["available_credits"] == 5, "the failed analysis was refunded"
