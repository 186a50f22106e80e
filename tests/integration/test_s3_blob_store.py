"""The S3 blob store against a real S3-compatible HTTP server on 127.0.0.1.

The server is moto's server mode, standing in for the cloud service (AWS S3, MinIO...), which
a test cannot reach: the store talks plain S3 over HTTP to it through boto3, like in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

from originlens.container import make_blob_store  # noqa: E402
from originlens.storage.base import BlobNotFoundError, BlobTooLargeError  # noqa: E402
from originlens.storage.s3 import PART_BYTES, S3BlobStore  # noqa: E402
from tests.support.s3_server import s3_server  # noqa: E402


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


@pytest.fixture()
def store(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3BlobStore:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    bucket = f"b{hashlib.sha256(str(id(monkeypatch)).encode()).hexdigest()[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    made = make_blob_store(f"s3://{bucket}/originlens?endpoint_url={endpoint}&region=us-east-1&addressing=path")
    assert isinstance(made, S3BlobStore)
    return made


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield bytes((start + i) % 253 for i in range(0, min(size, total - start)))


def test_put_get_exists_delete(store: S3BlobStore) -> None:
    store.check()
    store.put("media/a.bin", b"hello")
    assert store.exists("media/a.bin") and store.get("media/a.bin") == b"hello"
    store.delete("media/a.bin")
    assert not store.exists("media/a.bin")
    with pytest.raises(BlobNotFoundError):
        store.get("media/a.bin")


def test_a_stream_larger_than_one_part_is_stored_whole(store: S3BlobStore) -> None:
    total = PART_BYTES * 2 + 12345  # three parts
    data = b"".join(_chunks(total))
    stored = store.put_stream("media/video.bin", _chunks(total), max_bytes=total)
    assert (stored.size, stored.sha256, stored.head) == (total, hashlib.sha256(data).hexdigest(), data[:64])
    assert store.get("media/video.bin") == data
    with store.local_path("media/video.bin") as path:
        assert path.stat().st_size == total and hashlib.sha256(path.read_bytes()).hexdigest() == stored.sha256
    assert not path.exists(), "the temporary download is removed after use"


def test_too_large_or_failing_streams_leave_nothing(store: S3BlobStore) -> None:
    with pytest.raises(BlobTooLargeError):
        store.put_stream("media/big.bin", _chunks(PART_BYTES + 10), max_bytes=PART_BYTES)

    def broken() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put_stream("media/cut.bin", broken(), max_bytes=10_000)
    assert not store.exists("media/big.bin") and not store.exists("media/cut.bin")
    uploads = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert uploads == [], "aborted multipart uploads are not left behind"


def test_missing_blob_and_escaping_keys(store: S3BlobStore) -> None:
    with pytest.raises(BlobNotFoundError), store.local_path("nope.bin"):
        pass
    with pytest.raises(ValueError, match="escapes"):
        store.put("../outside.bin", b"x")


def test_the_service_runs_on_s3_storage(server_factory, endpoint: str, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An image and a streamed video go through the whole service with their bytes in S3."""
    from tests.conftest import image_bytes, make_user, submit, wait_done
    from tests.support.clips import FPS, flat_frames, write_clip

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="service")
    server = server_factory(storage_url=f"s3://service/data?endpoint_url={endpoint}&region=us-east-1&addressing=path")
    _, key = make_user(server)
    clip = write_clip(tmp_path / "c.mp4", flat_frames(60, FPS)).read_bytes()
    with server.client(key) as client:
        image = wait_done(client, submit(client, image_bytes(seed=3)))
        response = client.post(
            "/api/classification_video", files={"video": ("c.mp4", clip)}, headers={"Accept": "application/json"}
        )
        assert response.status_code == 200, response.text
        identifier = response.json()["identifier"]
        import time

        deadline = time.monotonic() + 60
        while (video := client.get(f"/api/classification_video/{identifier}").json())["status"] == "new":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert image["status"] == "done" and video["status"] == "done", video["errors"]
    assert len(video["results"]["images"]) == 5
    listed = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").list_objects_v2(Bucket="service")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(k.startswith("data/media/video/") for k in keys) and any(k.startswith("data/media/") for k in keys)
