"""The whole service on PostgreSQL (psycopg 3): the same models and Alembic migrations as on
SQLite, images, videos and recordings analysed, two worker threads claiming jobs without doing one twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.api.test_audio import submitted, wait_audio
from tests.conftest import RunningServer, image_bytes, make_user, start_server, submit, wait_done
from tests.support.clips import FPS, flat_frames, write_clip
from tests.support.postgres import find_binaries, postgres_server
from tests.support.speech import chord

pytest.importorskip("psycopg")
pytestmark = pytest.mark.skipif(find_binaries() is None, reason="PostgreSQL is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def pg_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("pg"), database_url=database_url)
    yield running
    running.stop()


def test_migrations_create_every_table_on_postgres(pg_server: RunningServer, database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        version = connection.execute(text("select version_num from alembic_version")).scalar_one()
        columns = {
            row[0]
            for row in connection.execute(
                text("select column_name from information_schema.columns where table_name = 'analyses'")
            )
        }
        key_columns = {
            row[0]
            for row in connection.execute(
                text("select column_name from information_schema.columns where table_name = 'api_keys'")
            )
        }
    engine.dispose()
    assert version == "0007"
    assert "readonly" in key_columns
    assert {"details", "tampering_blob_key", "frames_done", "frames_total", "claimed_by", "lease_until"} <= columns
    assert {"duration_s", "speech_seconds", "waveform"} <= columns


def test_images_videos_and_recordings_are_analysed_once_each(
    pg_server: RunningServer, database_url: str, tmp_path: Path
) -> None:
    _, key = make_user(pg_server)
    clip = write_clip(tmp_path / "c.mp4", flat_frames(80, FPS)).read_bytes()
    with pg_server.client(key) as client:
        identifiers = [submit(client, image_bytes(seed=500 + i)) for i in range(6)]
        video = client.post(
            "/api/classification_video", files={"video": ("c.mp4", clip)}, headers={"Accept": "application/json"}
        ).json()["identifier"]
        bodies = [wait_done(client, identifier, timeout=60) for identifier in identifiers]
        deadline = time.monotonic() + 60
        while (video_body := client.get(f"/api/classification_video/{video}").json())["status"] == "new":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        listed = client.get("/api/classifications").json()
        recording = wait_audio(client, submitted(client, chord(7.0), name="chord.wav"))
    assert all(body["status"] == "done" for body in bodies)
    assert video_body["status"] == "done" and len(video_body["results"]["images"]) == 5
    assert recording["status"] == "done" and recording["duration"] == 7.0 and len(recording["chunk_details"]) == 2
    assert listed["total"] == 6
    engine = create_engine(database_url)
    with engine.connect() as connection:
        attempts = [row[0] for row in connection.execute(text("select attempts from analyses"))]
    engine.dispose()
    assert attempts and all(a == 1 for a in attempts), attempts  # every job claimed exactly once


def test_concurrent_submissions_never_spend_a_credit_twice(pg_server: RunningServer) -> None:
    """Ten submissions at once for a user with five credits: exactly five are accepted."""
    from concurrent.futures import ThreadPoolExecutor

    _, key = make_user(pg_server, balance=5)

    def send(seed: int) -> int:
        with pg_server.client(key) as client:
            files = {"image": ("p.png", image_bytes(seed=seed))}
            return client.post("/api/classification", files=files, headers={"Accept": "application/json"}).status_code

    media = pg_server.settings.data_dir / "blobs" / "media"
    stored_before = sum(1 for p in media.rglob("*") if p.is_file())
    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(send, range(700, 710)))
    with pg_server.client(key) as client:
        credits = client.get("/api/user/credits").json()
    assert codes == [200] * 5 + [402] * 5, codes
    assert credits == {"available_credits": 0, "total_spent": 5}
    stored_after = sum(1 for p in media.rglob("*") if p.is_file())
    assert stored_after - stored_before == 5, "a refused upload leaves no file behind"
