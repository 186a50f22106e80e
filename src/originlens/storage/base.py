"""The blob store interface and its factory."""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class BlobNotFoundError(KeyError):
    pass


class StorageFullError(OSError):
    """The store refused a write for lack of space (disk full, quota, file size limit).

    An ``OSError`` with the original errno, so callers that only know ``OSError`` still work.
    """

    FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

    @classmethod
    def is_full(cls, exc: BaseException) -> bool:
        return isinstance(exc, OSError) and exc.errno in cls.FULL_ERRNOS


class BlobTooLargeError(ValueError):
    """A streamed blob went over its size limit; nothing was stored."""


@dataclass(frozen=True)
class StoredBlob:
    size: int
    sha256: str
    head: bytes
    """The first bytes, for sniffing the content type without reading the blob again."""


class Tally:
    """Counts, hashes and keeps the head of a stream as it passes, refusing it past ``max_bytes``:
    what every store's ``put_stream`` needs whatever it writes to."""

    HEAD_BYTES = 64

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.head = b""
        self._digest = hashlib.sha256()

    def passing(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise BlobTooLargeError(f"more than {self.max_bytes} bytes")
            if len(self.head) < self.HEAD_BYTES:
                self.head += chunk[: self.HEAD_BYTES - len(self.head)]
            self._digest.update(chunk)
            yield chunk

    def stored(self) -> StoredBlob:
        return StoredBlob(size=self.size, sha256=self._digest.hexdigest(), head=self.head)


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """Store chunks as they come (never the whole file in memory), hashing on the way."""
        ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A readable local file for libraries that need a path (FFmpeg), for as long as the block runs."""
        ...

    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def check(self) -> None:
        """Raise if the store cannot be written; used by the health endpoint."""
        ...
