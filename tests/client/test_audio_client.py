"""The client's audio methods against a real server: upload a recording (path, bytes, file
object, URL), wait for it, read its chunks, batch-read, override; and what a server that sends
only one of the vendor's two chunk shapes looks like."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from originlens.client import (
    AsyncClient,
    AudioResult,
    Client,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from originlens.media.audio import ACCEPTED_AUDIO_FORMATS
from originlens.pipeline import chunk_bounds
from tests.conftest import RunningServer
from tests.support.recordings import speech, tone, write_mp3
from tests.support.speech import needs_speech

pytestmark = needs_speech


@pytest.fixture(scope="module")
def interview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of recorded speech from the shared eval set, as a 64 kbps MP3."""
    return write_mp3(tmp_path_factory.mktemp("audio") / "interview.mp3", speech("human", 12.0))


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain web server on 127.0.0.1 (the test server may fetch from loopback)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *_args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_recording_uploaded_three_ways_ends_as_a_typed_done_result(client: Client, interview: Path) -> None:
    by_path = client.submit_audio(interview, ref_id="call-7")
    by_bytes = client.submit_audio(interview.read_bytes(), filename="copy.mp3", no_cache=True)
    with interview.open("rb") as handle:
        handle.read(100)  # a half-read file object is still sent whole
        by_file = client.submit_audio(handle, no_cache=True)

    result = client.wait(by_path.identifier, audio=True, timeout=60)
    assert isinstance(result, AudioResult)
    assert result.done and result.name == "interview.mp3" and result.ref_id == "call-7"
    assert result.hash == hashlib.sha256(interview.read_bytes()).hexdigest()
    assert result.classification in ("human", "artificial")
    assert result.verdict is not None and {v.heuristic for v in result.verdicts} >= {"Average", "Majority"}
    speech_model = result.result("speech")
    assert speech_model is not None
    assert speech_model.unknown or 0.0 <= (speech_model.artificial_score or 0.0) <= 1.0
    assert result.duration == pytest.approx(12.0, abs=0.1)
    assert result.speech_seconds is not None and 0 < result.speech_seconds <= result.duration

    for other in (by_bytes, by_file):
        copy = client.wait(other.identifier, audio=True, timeout=60)
        assert copy.hash == result.hash and copy.done
    assert client.get_audio(by_bytes.identifier).name == "copy.mp3"


def test_chunks_are_read_from_either_of_the_vendors_two_shapes(client: Client, interview: Path) -> None:
    result = client.wait(client.submit_audio(interview).identifier, audio=True, timeout=60)
    assert [(c.start, c.end) for c in result.chunks] == chunk_bounds(result.duration or 0.0)
    assert result.chunk_details == result.details.clips == result.chunks
    for chunk in result.chunks:
        assert chunk.verdict is not None and chunk.classification in ("human", "artificial")
        assert chunk.result("speech") is not None

    body = result.model_dump()
    only_clips = {k: v for k, v in body.items() if k != "chunk_details"}
    only_chunk_details = {**body, "details": None}
    assert AudioResult.model_validate(only_clips).chunks == result.chunks
    assert AudioResult.model_validate(only_chunk_details).details.clips == result.chunks


def test_a_recording_without_a_voice_is_done_and_unknown_with_the_reason(client: Client, tmp_path: Path) -> None:
    from originlens.audio.features import encode_audio

    path = tmp_path / "tone.wav"
    path.write_bytes(encode_audio(tone(6.0), "wav"))
    result = client.wait(client.submit_audio(path).identifier, audio=True, timeout=60)
    assert result.done and result.verdict is not None and result.verdict.unknown
    assert (result.verdict.reason or "").startswith("no speech found")


def test_a_file_that_is_not_audio_is_refused_with_the_accepted_formats(client: Client) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        client.submit_audio(b"%PDF-1.7 not a recording", filename="notes.mp3")
    assert refused.value.status_code == 415
    assert ACCEPTED_AUDIO_FORMATS in refused.value.message  # the formats it would take
    with pytest.raises(NotFoundError):
        client.get_audio("no-such-identifier")


def test_by_url_batch_read_and_override(client: Client, interview: Path, web: tuple[Path, str]) -> None:
    root, base = web
    (root / "interview.mp3").write_bytes(interview.read_bytes())
    from_url = client.submit_audio_url(f"{base}/interview.mp3", ref_id="from-the-web", no_cache=True)
    uploaded = client.submit_audio(interview, no_cache=True)
    first = client.wait(from_url.identifier, audio=True, timeout=60)
    assert first.done and first.ref_id == "from-the-web"
    client.wait(uploaded.identifier, audio=True, timeout=60)

    batch = client.get_many_audio([uploaded.identifier, "not-mine", from_url.identifier])
    assert [item.identifier for item in batch] == [uploaded.identifier, from_url.identifier]
    assert all(isinstance(item, AudioResult) for item in batch)

    client.override(first.hash, "artificial", audio=True)
    overridden = client.get_audio(from_url.identifier)
    assert overridden.force_classification == "artificial" and overridden.classification == "artificial"
    assert all(chunk.classification == "artificial" for chunk in overridden.chunks)  # the file decides its chunks


def test_waiting_for_a_video_and_a_recording_at_once_is_refused(client: Client) -> None:
    with pytest.raises(ValueError, match="not both"):
        client.wait("anything", video=True, audio=True)


def test_the_async_client_has_the_same_audio_methods(api: RunningServer, key: str, interview: Path) -> None:
    async def scenario() -> tuple[AudioResult, list[AudioResult]]:
        async with AsyncClient(api.base_url, key) as aclient:
            submitted = await aclient.submit_audio(interview, no_cache=True)
            done = await aclient.wait(submitted.identifier, audio=True, timeout=60)
            await aclient.override(done.hash, "human", audio=True)
            return done, await aclient.get_many_audio([submitted.identifier])

    done, batch = asyncio.run(scenario())
    assert done.done and done.chunks
    assert batch[0].identifier == done.identifier and batch[0].force_classification == "human"
