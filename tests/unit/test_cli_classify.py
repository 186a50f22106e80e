"""``originlens classify`` on real files: in-process, from URLs, and against a real server."""

from __future__ import annotations

import csv
import functools
import io
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin
from typer.testing import CliRunner

from originlens.cli import app
from originlens.commands.classify import EXIT_ARTIFICIAL, EXIT_ERRORS, EXIT_OK
from tests.conftest import RunningServer, make_user
from tests.support.clips import _pattern, write_clip
from tests.support.shared_data import EVAL, needs_eval
from tests.unit.test_metadata_detector import A1111_TEXT

HUMAN_PHOTO = EVAL / "real" / "c2pa-rs-unsigned" / "earth_apollo17.jpg"
"""A camera photo (NASA, public domain) with no AI provenance."""
COMFYUI_PNG = EVAL / "ai" / "comfyui" / "aura_flow__aura_flow_0.2_example.png"
"""A ComfyUI example whose PNG text chunks hold the generating workflow."""


def plain_png(path: Path, colour: tuple[int, int, int] = (120, 30, 200)) -> Path:
    Image.new("RGB", (64, 48), colour).save(path)
    return path


def ai_png(path: Path) -> Path:
    """A PNG as AUTOMATIC1111 writes it: its generation parameters in a ``parameters`` chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", A1111_TEXT)
    Image.new("RGB", (64, 48), (10, 200, 90)).save(path, pnginfo=info)
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["classify", "--no-progress", *args])


def rows_of(result: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """photo.png, notes.txt (skipped) and nested/deeper/generated.png (AI metadata)."""
    plain_png(tmp_path / "photo.png")
    (tmp_path / "notes.txt").write_text("not an image, even if it were named .png")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    ai_png(tmp_path / "nested" / "deeper" / "generated.png")
    return tmp_path


def test_folder_is_walked_recursively_and_non_media_files_are_skipped(folder: Path) -> None:
    result = run(str(folder), "--json")
    rows = {Path(row["input"]).name: row for row in rows_of(result)}
    assert set(rows) == {"photo.png", "generated.png"}
    assert rows["photo.png"]["verdict"] != "artificial"
    generated = rows["generated.png"]
    assert generated["verdict"] == "artificial"
    assert generated["evidence"] == "provenance"
    assert generated["decided_by"] == "metadata"
    assert "AUTOMATIC1111" in generated["reason"]
    assert result.exit_code == EXIT_ARTIFICIAL


def test_json_has_per_model_scores(folder: Path) -> None:
    rows = rows_of(run(str(folder / "nested" / "deeper" / "generated.png"), "--json"))
    assert len(rows) == 1
    scores = rows[0]["scores"]
    assert {"c2pa", "metadata", "watermark"} <= set(scores)
    assert scores["metadata"] > 0.5
    assert rows[0]["media_type"] == "image"
    assert rows[0]["confidence"] == 1.0


def test_quoted_glob_is_expanded(folder: Path) -> None:
    plain_png(folder / "second.png", (1, 2, 3))
    result = run(str(folder / "*.png"), "--json")
    assert sorted(Path(row["input"]).name for row in rows_of(result)) == ["photo.png", "second.png"]
    assert result.exit_code == EXIT_OK
    recursive = run(str(folder / "**" / "*.png"), "--json")
    assert "generated.png" in {Path(row["input"]).name for row in rows_of(recursive)}


def test_csv_has_a_header_and_one_row_per_input(folder: Path) -> None:
    result = run(str(folder), "--csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [Path(row["input"]).name for row in table] == ["generated.png", "photo.png"]
    assert {"verdict", "confidence", "decided_by", "error", "score:metadata"} <= set(table[0])
    assert table[0]["verdict"] == "artificial"
    assert float(table[0]["score:metadata"]) > 0.5


def test_table_shows_each_input_with_its_verdict(folder: Path) -> None:
    result = run(str(folder))
    assert "generated.png" in result.stdout and "photo.png" in result.stdout
    assert "artificial" in result.stdout and "metadata" in result.stdout
    assert "notes.txt" not in result.stdout


@needs_eval
def test_a_human_photo_exits_0() -> None:
    result = run(str(HUMAN_PHOTO), "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert rows_of(result)[0]["verdict"] in ("human", "unknown")


@needs_eval
def test_a_generated_image_exits_1() -> None:
    result = run(str(COMFYUI_PNG), "--json")
    assert result.exit_code == EXIT_ARTIFICIAL, result.output
    row = rows_of(result)[0]
    assert row["verdict"] == "artificial" and row["decided_by"] == "metadata"


def test_a_corrupt_file_is_a_row_with_its_error_and_exits_2(tmp_path: Path) -> None:
    good = plain_png(tmp_path / "good.png")
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:60])
    missing = tmp_path / "missing.jpg"
    result = run(str(good), str(broken), str(missing), "--json")
    assert result.exit_code == EXIT_ERRORS
    rows = {Path(row["input"]).name: row for row in rows_of(result)}
    assert rows["good.png"]["error"] is None
    assert "could not be analysed" in rows["broken.png"]["error"]
    assert rows["broken.png"]["verdict"] is None
    assert "no such file" in rows["missing.jpg"]["error"]


def test_artificial_wins_over_errors(folder: Path) -> None:
    result = run(str(folder), str(folder / "absent.png"), "--json")
    assert result.exit_code == EXIT_ARTIFICIAL


def test_a_named_text_file_is_an_error_row(folder: Path) -> None:
    result = run(str(folder / "notes.txt"), "--json")
    assert result.exit_code == EXIT_ERRORS
    assert "not an image, video or audio recording" in rows_of(result)[0]["error"]


def test_a_video_is_sampled_and_judged(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", [_pattern(t, t // 10 % 2) for t in range(50)])
    result = run(str(tmp_path), "--frames", "5", "--key-frames", "color", "--json")
    assert result.exit_code == EXIT_OK, result.output
    (row,) = rows_of(result)
    assert row["input"] == str(clip)
    assert row["media_type"] == "video"
    assert row["frames"] == 5
    assert row["verdict"] in ("human", "unknown")
    assert "metadata" in row["scores"]


def test_bad_options_are_usage_errors(folder: Path) -> None:
    for args, named in (
        (["--frames", "7"], "--frames"),
        (["--heuristic", "Nope"], "--heuristic"),
        (["--key-frames", "random"], "--key-frames"),
        (["--heatmap"], "--heatmap"),  # in-process: no server to store it
        (["--json", "--csv"], "--csv"),
    ):
        result = run(str(folder), *args)
        assert result.exit_code == 2, args
        assert named in result.output, result.output


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain ``http.server`` on 127.0.0.1 serving ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *_args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url_is_downloaded_through_the_ssrf_guard(
    web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = web_root
    ai_png(root / "generated.png")
    url = f"{base}/generated.png"
    refused = run(url, "--json")
    assert refused.exit_code == EXIT_ERRORS  # loopback is private: refused unless allowed
    assert "could not be downloaded" in rows_of(refused)[0]["error"]

    monkeypatch.setenv("ORIGINLENS_OUTBOUND_ALLOWED_NETWORKS", '["127.0.0.1/32"]')
    result = run(url, f"{base}/absent.png", "--json")
    first, second = rows_of(result)
    assert (first["input"], first["source"], first["verdict"]) == (url, "url", "artificial")
    assert "404" in second["error"]
    assert result.exit_code == EXIT_ARTIFICIAL


def test_server_mode_gives_the_in_process_verdict(server: RunningServer, folder: Path) -> None:
    _, key = make_user(server)
    local = rows_of(run(str(folder), "--json", "--heuristic", "Average"))
    remote_result = run(str(folder), str(folder / "notes.txt"), "--json", "--server", server.base_url, "--api-key", key)
    remote = rows_of(remote_result)
    assert remote_result.exit_code == EXIT_ARTIFICIAL
    assert [r["input"] for r in remote[:2]] == [r["input"] for r in local]
    for here, there in zip(local, remote, strict=False):
        assert there["identifier"]
        assert (there["verdict"], there["evidence"], there["decided_by"]) == (
            here["verdict"],
            here["evidence"],
            here["decided_by"],
        )
        assert there["scores"] == pytest.approx(here["scores"])
    assert "not an image, video or audio recording" in remote[2]["error"]


def test_server_mode_needs_a_key(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORIGINLENS_API_KEY", raising=False)
    assert run(str(folder), "--server", "http://127.0.0.1:9").exit_code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_drawn_on_a_terminals_stderr_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from originlens.commands.output import progress_bar

    terminal, stdout = _Terminal(), io.StringIO()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setattr("sys.stdout", stdout)
    with progress_bar(2, enabled=True) as advance:
        advance()
        advance()
    assert "classifying" in terminal.getvalue() and stdout.getvalue() == ""
    for total, enabled in ((1, True), (2, False)):  # one input, or --no-progress: no bar
        quiet = _Terminal()
        monkeypatch.setattr("sys.stderr", quiet)
        with progress_bar(total, enabled) as advance:
            advance()
        assert quiet.getvalue() == ""


def test_server_mode_handles_videos_and_urls(
    server: RunningServer, web_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = web_root
    clip = write_clip(root / "clip.mp4", [_pattern(t, t // 10 % 2) for t in range(50)])
    ai_png(root / "generated.png")
    _, key = make_user(server)
    monkeypatch.setenv("ORIGINLENS_URL", server.base_url)  # --server and --api-key from the environment
    monkeypatch.setenv("ORIGINLENS_API_KEY", key)
    result = run(str(clip), f"{base}/generated.png", f"{base}/clip.mp4", "--frames", "5", "--json")
    video, image_url, video_url = rows_of(result)
    assert result.exit_code == EXIT_ARTIFICIAL, result.output
    assert (video["media_type"], video["frames"]) == ("video", 5) and video["identifier"]
    assert (image_url["media_type"], image_url["verdict"], image_url["decided_by"]) == (
        "image",
        "artificial",
        "metadata",
    )
    assert (video_url["media_type"], video_url["frames"], video_url["error"]) == ("video", 5, None)

    monkeypatch.delenv("ORIGINLENS_URL")
    (local,) = rows_of(run(str(clip), "--frames", "5", "--heuristic", "Average", "--json"))
    assert (video["verdict"], video["scores"].keys()) == (local["verdict"], local["scores"].keys())
