"""``originlens classify`` on recordings: found by content, judged whole and per 5 s chunk with
the server's own functions, unknown with the speech model's reason, exit codes as for images."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from originlens.cli import app
from originlens.commands.classify import EXIT_ARTIFICIAL, EXIT_ERRORS, EXIT_OK
from originlens.container import build_registry
from originlens.media.audio import read_audio
from originlens.pipeline import analyse_audio, chunk_bounds
from originlens.settings import Settings
from tests.conftest import RunningServer, make_user
from tests.support.clips import _pattern, write_clip
from tests.support.recordings import speech, tone, write_mp3, write_mp4_audio
from tests.support.speech import needs_speech, speech_files

pytestmark = needs_speech


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["classify", "--no-progress", *args])


def rows_of(result: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def expected_status(rows: list[dict[str, Any]]) -> int:
    if any(row["verdict"] == "artificial" for row in rows):
        return EXIT_ARTIFICIAL
    return EXIT_ERRORS if any(row["error"] for row in rows) else EXIT_OK


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of recorded speech as MP3, the same speech in an M4A and in an MP4 without a picture,
    a 7 s tone as WAV, an MP4 video with a soundtrack, and a text file."""
    root = tmp_path_factory.mktemp("recordings")
    voice = speech("human", 12.0)
    write_mp3(root / "interview.mp3", voice)
    write_mp4_audio(root / "memo.m4a", voice[: 16_000 * 6], container="ipod")
    write_mp4_audio(root / "voice-only.mp4", voice[: 16_000 * 6], container="mp4")
    write_mp4_audio(root / "film.mp4", voice[: 16_000 * 4], container="mp4", picture=True)
    from originlens.audio.features import encode_audio

    (root / "tone.wav").write_bytes(encode_audio(tone(7.0), "wav"))
    (root / "notes.txt").write_text("not a recording, whatever it is named")
    return root


def test_a_folder_keeps_recordings_and_tells_audio_from_video_by_the_tracks(recordings: Path) -> None:
    result = run(str(recordings), "--json")
    rows = {Path(row["input"]).name: row for row in rows_of(result)}
    assert set(rows) == {"interview.mp3", "memo.m4a", "voice-only.mp4", "film.mp4", "tone.wav"}
    kinds = {name: row["media_type"] for name, row in rows.items()}
    assert kinds == {
        "interview.mp3": "audio",
        "memo.m4a": "audio",
        "voice-only.mp4": "audio",  # an MP4 without a picture is a recording
        "film.mp4": "video",  # an MP4 with a picture is a video, sound or not
        "tone.wav": "audio",
    }
    assert result.exit_code == expected_status(list(rows.values())), result.output


def test_a_recording_is_judged_as_the_server_judges_it(recordings: Path) -> None:
    path = recordings / "interview.mp3"
    result = run(str(path), "--json")
    (row,) = rows_of(result)
    assert row["error"] is None and row["verdict"] in ("human", "artificial")
    assert result.exit_code == expected_status([row])

    settings = Settings()
    served = analyse_audio(build_registry(settings), read_audio(path), "audio/mpeg", path=path)
    verdict = served.verdict(settings.default_heuristic)
    assert verdict is not None
    assert (row["verdict"], row["confidence"]) == (verdict["classification"], pytest.approx(verdict["confidence"]))
    speech_result = next(r for r in served.results if r["model"] == "speech")
    assert row["scores"]["speech"] == pytest.approx(speech_result["classification"][1]["score"])
    assert set(row["scores"]) == {r["model"] for r in served.results}  # provenance readers included
    assert row["duration"] == pytest.approx(12.0, abs=0.1)
    assert 0 < row["speech_seconds"] <= row["duration"]


def test_each_5_s_chunk_has_its_own_verdict_and_score(recordings: Path) -> None:
    (row,) = rows_of(run(str(recordings / "interview.mp3"), "--json"))
    chunks = row["chunks"]
    assert [(c["start"], c["end"]) for c in chunks] == chunk_bounds(row["duration"])
    assert [c["index"] for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk["verdict"] in ("human", "artificial", "unknown")
        assert "speech" in chunk["scores"]
        if chunk["verdict"] != "unknown":
            assert 0.0 <= chunk["scores"]["speech"] <= 1.0 and chunk["reason"] is None


def test_the_table_shows_the_verdict_then_one_line_per_chunk(recordings: Path) -> None:
    path = recordings / "interview.mp3"
    (row,) = rows_of(run(str(path), "--json"))
    lines = run(str(path)).stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if "interview.mp3" in line)
    assert f"{row['verdict']} " in lines[header] and "s of speech" in lines[header]
    assert len(row["chunks"]) == 3  # 0-5, 5-10, 10-12 s
    for offset, chunk in enumerate(row["chunks"], 1):
        line = lines[header + offset]
        assert f"{chunk['start']:g}-{chunk['end']:g} s" in line
        assert chunk["verdict"] in line and f"speech {chunk['scores']['speech']:.2f}" in line


def test_a_recording_without_a_voice_is_unknown_with_the_reason(recordings: Path) -> None:
    result = run(str(recordings / "tone.wav"), "--json")
    (row,) = rows_of(result)
    assert result.exit_code == EXIT_OK
    assert row["verdict"] == "unknown" and row["scores"]["speech"] is None
    assert row["reason"].startswith("no speech found")
    assert all(chunk["reason"].startswith("no speech found") for chunk in row["chunks"])
    assert "no speech found" in run(str(recordings / "tone.wav")).stdout


def test_a_synthetic_voice_exits_as_its_verdict_says(tmp_path: Path) -> None:
    path = write_mp3(tmp_path / "cloned.mp3", speech("synthetic", 8.0))
    result = run(str(path), "--json")
    (row,) = rows_of(result)
    assert row["media_type"] == "audio" and row["error"] is None
    assert result.exit_code == expected_status([row])
    assert (result.exit_code == EXIT_ARTIFICIAL) == (row["verdict"] == "artificial")


def test_a_damaged_recording_is_an_error_row_and_exits_2(tmp_path: Path) -> None:
    clip = speech_files("human")[0]
    broken = tmp_path / "broken.flac"
    broken.write_bytes(clip.read_bytes()[:4] + b"\0" * 200)
    result = run(str(broken), "--json")
    (row,) = rows_of(result)
    assert result.exit_code == EXIT_ERRORS
    assert row["media_type"] == "audio" and row["verdict"] is None
    assert row["error"].startswith("the recording could not be analysed: ")
    assert "Error" not in row["error"]  # a sentence, not an exception's name


def test_csv_has_the_duration_and_the_speech_seconds(recordings: Path) -> None:
    result = run(str(recordings / "interview.mp3"), str(recordings / "tone.wav"), "--csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["media_type"] for row in table] == ["audio", "audio"]
    assert float(table[0]["duration"]) == pytest.approx(12.0, abs=0.1)
    assert float(table[1]["speech_seconds"]) == 0.0 and table[1]["verdict"] == "unknown"


def test_a_named_text_file_is_neither_image_video_nor_recording(recordings: Path) -> None:
    result = run(str(recordings / "notes.txt"), "--json")
    assert result.exit_code == EXIT_ERRORS
    assert "not an image, video or audio recording" in rows_of(result)[0]["error"]


def test_a_video_with_a_soundtrack_is_still_judged_frame_by_frame(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", [_pattern(t, 0) for t in range(25)])
    (row,) = rows_of(run(str(clip), "--json"))
    assert row["media_type"] == "video" and row["frames"] == 5 and row["chunks"] == []


def test_server_mode_gives_the_in_process_verdict_and_chunks(
    server: RunningServer, recordings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = make_user(server)
    paths = [str(recordings / "interview.mp3"), str(recordings / "tone.wav")]
    local = rows_of(run(*paths, "--json", "--heuristic", "Average"))
    remote_result = run(*paths, "--json", "--server", server.base_url, "--api-key", key)
    remote = rows_of(remote_result)
    assert remote_result.exit_code == expected_status(remote)
    for here, there in zip(local, remote, strict=True):
        assert there["identifier"] and there["media_type"] == "audio"
        for field in ("verdict", "evidence", "decided_by", "reason", "duration", "speech_seconds"):
            assert there[field] == pytest.approx(here[field]), field
        assert there["scores"] == pytest.approx(here["scores"])
        assert [(c["start"], c["end"], c["verdict"]) for c in there["chunks"]] == [
            (c["start"], c["end"], c["verdict"]) for c in here["chunks"]
        ]


def test_server_mode_sends_an_audio_url_to_the_audio_route(
    server: RunningServer, recordings: Path, tmp_path: Path
) -> None:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(recordings))
    handler.log_message = lambda *_args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        _, key = make_user(server)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/interview.mp3"
        result = run(url, "--json", "--server", server.base_url, "--api-key", key)
    finally:
        httpd.shutdown()
        httpd.server_close()
    (row,) = rows_of(result)
    assert (row["source"], row["media_type"], row["error"]) == ("url", "audio", None)
    assert row["verdict"] in ("human", "artificial") and len(row["chunks"]) == 3
