"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, ...), through boto3.

Chosen by ``ORIGINLENS_STORAGE_URL=s3://bucket/optional/prefix`` with optional query
parameters ``endpoint_url`` (for S3-compatible servers), ``region`` and ``addressing``
(``path`` or ``virtual``). Credentials come from the usual AWS sources (environment, config
files, instance roles), never from the URL. Streams go up as a multipart upload, so a 5 GB video
is never held in memory; a failed or too-large upload is aborted and leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from originlens.storage.base import BlobNotFoundError, StoredBlob, Tally

PART_BYTES = 8 * 1024 * 1024
"""Multipart part size (S3 needs at least 5 MiB for every part but the last)."""


class S3BlobStore:
    def __init__(self, url: str, client: Any | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"an S3 storage URL looks like s3://bucket/prefix, not {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=query.get("endpoint_url"),
                region_name=query.get("region"),
                config=Config(s3={"addressing_style": query.get("addressing", "auto")}, retries={"max_attempts": 5}),
            )
        self.client = client

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_stream(self, key: str, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """A multipart upload, part by part; aborted (nothing stored) on any failure."""
        name = self._key(key)
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)["UploadId"]
        tally, buffer = Tally(max_bytes), bytearray()
        parts: list[dict[str, Any]] = []

        def send(data: bytes) -> None:
            number = len(parts) + 1
            reply = self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload, PartNumber=number, Body=data)
            parts.append({"PartNumber": number, "ETag": reply["ETag"]})

        try:
            for chunk in tally.passing(chunks):
                buffer += chunk
                while len(buffer) >= PART_BYTES:
                    send(bytes(buffer[:PART_BYTES]))
                    del buffer[:PART_BYTES]
            if buffer or not parts:
                send(bytes(buffer))
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=upload, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload)
            raise
        return tally.stored()

    def get(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise BlobNotFoundError(key) from exc
        data: bytes = reply["Body"].read()
        return data

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """Downloaded (streamed) to a temporary file that is removed when the block ends."""
        fd, tmp = tempfile.mkstemp(prefix="originlens-blob-")
        os.close(fd)
        try:
            try:
                self.client.download_file(self.bucket, self._key(key), tmp)
            except Exception as exc:
                if _is_missing(exc):
                    raise BlobNotFoundError(key) from exc
                raise
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")
