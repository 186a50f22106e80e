"""Blobs as files in a local directory, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from originlens.storage.base import BlobNotFoundError, StorageFullError, StoredBlob, Tally


class LocalBlobStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        self.put_stream(key, [data], max_bytes=len(data))

    def put_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """Write chunk by chunk to a temporary file, then rename: a partial upload never shows."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        tally = Tally(max_bytes)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in tally.passing(chunks):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if StorageFullError.is_full(exc):
                assert isinstance(exc, OSError)
                raise StorageFullError(exc.errno, exc.strerror) from exc
            raise
        return tally.stored()

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFoundError(key)
        yield path

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFoundError(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def check(self) -> None:
        probe = self.root / ".health"
        probe.write_bytes(b"ok")
        probe.unlink()
