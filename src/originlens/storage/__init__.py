"""Blob storage for media bytes and heatmaps, chosen by URL."""

from originlens.storage.base import BlobNotFoundError, BlobStore, make_blob_store

__all__ = ["BlobNotFoundError", "BlobStore", "make_blob_store"]
