"""The local blob store: atomic writes, streamed uploads with a size limit, local paths."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from originlens.storage.base import BlobNotFoundError, BlobTooLargeError
from originlens.storage.local import LocalBlobStore


def _chunks(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield bytes((start + i) % 251 for i in range(min(size, total - start)))


def test_streamed_blob_is_stored_whole_with_its_hash_and_head(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = b"".join(_chunks(300_000))
    stored = store.put_stream("media/a.bin", _chunks(300_000), max_bytes=1_000_000)
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.head == data[:64]
    assert store.get("media/a.bin") == data
    with store.local_path("media/a.bin") as path:
        assert path.read_bytes() == data


def test_too_large_stream_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobTooLargeError):
        store.put_stream("media/big.bin", _chunks(200_000), max_bytes=100_000)
    assert not store.exists("media/big.bin")
    assert [p.name for p in (tmp_path / "media").iterdir()] == []  # no temporary file left


def test_failing_source_leaves_nothing_behind(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    def broken() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put_stream("media/cut.bin", broken(), max_bytes=10_000)
    assert not store.exists("media/cut.bin")
    assert list((tmp_path / "media").iterdir()) == []


def test_local_path_of_a_missing_blob_is_not_found(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobNotFoundError), store.local_path("nope.bin"):
        pass


def test_keys_cannot_escape_the_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError, match="escapes"):
        store.put_stream("../outside.bin", iter([b"x"]), max_bytes=10)
