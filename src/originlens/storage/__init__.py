"""Blob storage for media bytes and heatmaps, chosen by URL."""

from originlens.storage.base import BlobNotFoundError, BlobStore, StorageFullError, make_blob_store

__all__ = ["BlobNotFoundError", "BlobStore", "StorageFullError", "make_blob_store"]
