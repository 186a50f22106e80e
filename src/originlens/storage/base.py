"""The blob store interface and its factory."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlparse


class BlobNotFoundError(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def check(self) -> None:
        """Raise if the store cannot be written; used by the health endpoint."""
        ...


def make_blob_store(url: str) -> BlobStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from originlens.storage.local import LocalBlobStore

        return LocalBlobStore(parsed.path)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path")
