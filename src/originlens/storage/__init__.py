"""Blob storage for media bytes and heatmaps; the composition root (``container.make_blob_store``)
picks the backend by URL."""

from originlens.storage.base import BlobNotFoundError, BlobStore, StorageFullError

__all__ = ["BlobNotFoundError", "BlobStore", "StorageFullError"]
