"""The dashboard in a real browser (Debian's Chromium through Playwright): sign in, upload by the
file input and by drag and drop with progress, wait for the result, the heatmap overlay, face
boxes, override, a recording's waveform, chunks and player, and a phone-sized viewport without
horizontal scrolling."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_audio import submitted, wait_audio
from tests.api.test_heatmap import half_bright
from tests.conftest import RunningServer, start_server, submit, wait_done
from tests.dashboard.conftest import BRIGHTNESS, PASSWORD, dashboard_user
from tests.support.shared_data import EVAL
from tests.support.speech import chord

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')").expect
FACE = EVAL / "faces" / "face_recognition" / "obama.jpg"


@pytest.fixture(scope="module")
def blockable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    """A server whose analyses wait while ``block`` exists (so a test can watch the waiting page)."""
    tmp = tmp_path_factory.mktemp("browser")
    block = tmp / "block"
    saved = {k: os.environ.get(k) for k in ("ORIGINLENS_TEST_BLOCK_FILE", "ORIGINLENS_TEST_STARTED_FILE")}
    os.environ["ORIGINLENS_TEST_BLOCK_FILE"] = str(block)
    os.environ["ORIGINLENS_TEST_STARTED_FILE"] = str(tmp / "started")
    blocking = ["tests.support.slow_detector:BlockingDetector", "tests.support.slow_detector:BlockingAudioDetector"]
    running = start_server(tmp / "data", extra_detectors=[BRIGHTNESS, *blocking])
    yield running, block
    running.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def signed_in_page(chromium: Any, blockable: tuple[RunningServer, Path]) -> Iterator[Any]:
    """A fresh browser context, signed in through the form."""
    server, _ = blockable
    user, _ = dashboard_user(server)
    context = chromium.new_context(viewport={"width": 1100, "height": 900}, base_url=server.base_url)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.goto("/dashboard/results")
    assert "/dashboard/sign-in" in tab.url  # sent to the form first
    tab.fill("#email", user["email"])
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/dashboard/results")
    tab.user = user
    yield tab
    context.close()


def record_progress(tab: Any) -> list[str]:
    """Every text the upload's live progress region shows, kept across the navigation that follows."""
    seen: list[str] = []
    tab.on("console", lambda msg: seen.append(msg.text) if msg.text.startswith("progress:") else None)
    tab.evaluate(
        """() => {
            const region = document.getElementById('progress-text');
            new MutationObserver(() => console.log('progress:' + region.textContent))
                .observe(region, {childList: true, characterData: true, subtree: true});
        }"""
    )
    return seen


def test_upload_by_file_input_waits_for_the_result_then_heatmap_toggles_and_fades(
    signed_in_page: Any, blockable: tuple[RunningServer, Path]
) -> None:
    page = signed_in_page
    _, block = blockable
    block.write_text("hold")
    try:
        page.goto("/dashboard/upload")
        assert not page.is_checked("input[name=with_heatmap]")  # an option that costs is never pre-ticked
        page.check("input[name=with_heatmap]")
        page.set_input_files("#file", {"name": "half.png", "mimeType": "image/png", "buffer": half_bright()})
        assert "half.png" in page.inner_text("#chosen")
        progress = record_progress(page)
        page.click("#upload-button")
        page.wait_for_url(re.compile(r"/dashboard/results/[0-9a-f]{64}$"))
        assert page.text_content("#verdict") == "pending"
        assert "Waiting for the result" in page.inner_text("#wait-status")
    finally:
        block.unlink()
    expect(page.locator("#verdict")).not_to_have_text("pending", timeout=30_000)
    assert page.text_content("#verdict") in ("human", "artificial")
    assert any(re.match(r"progress:Uploading: \d+%", text) for text in progress), progress

    heatmap = page.locator("#heatmap")
    heatmap.wait_for(state="visible")
    assert page.evaluate("document.getElementById('heatmap').naturalWidth") > 0  # the PNG really loaded
    assert heatmap.evaluate("el => getComputedStyle(el).opacity") == "0.7"
    page.focus("#heatmap-opacity")  # fade by keyboard: Home, then five steps of 5 %
    page.keyboard.press("Home")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert page.input_value("#heatmap-opacity") == "25"
    expect(heatmap).to_have_css("opacity", "0.25")
    assert heatmap.evaluate("el => el.style.opacity") == "0.25"
    assert page.get_attribute("#heatmap-opacity", "aria-valuetext") == "25% opaque"
    page.uncheck("#show-heatmap")
    assert heatmap.is_hidden()
    page.focus("#show-heatmap")  # the controls are keyboard-usable: Space toggles the checkbox
    page.keyboard.press("Space")
    assert heatmap.is_visible()
    # the overlay covers the image exactly (its legend strip is cropped by the stage)
    original = page.locator("#original").bounding_box()
    overlay = heatmap.bounding_box()
    assert abs(original["x"] - overlay["x"]) < 1 and abs(original["width"] - overlay["width"]) < 1
    stage = page.locator("#stage").bounding_box()
    assert abs(stage["height"] - original["height"]) < 2


def test_drag_and_drop_upload_shows_progress(signed_in_page: Any) -> None:
    page = signed_in_page
    page.goto("/dashboard/upload")
    data = base64.b64encode(half_bright(320, 200)).decode()
    page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
            const zone = document.getElementById('dropzone');
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    assert "dropped.png" in page.inner_text("#chosen")
    progress = record_progress(page)
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/dashboard/results/[0-9a-f]{64}$"))
    expect(page.locator("#verdict")).not_to_have_text("pending", timeout=30_000)
    assert page.inner_text("h1") == "dropped.png"
    assert any(text.startswith("progress:Uploading") for text in progress), progress


def test_upload_error_is_announced(signed_in_page: Any) -> None:
    page = signed_in_page
    page.goto("/dashboard/upload")
    page.click("#upload-button")
    assert "Choose a file" in page.inner_text("#upload-error")
    page.set_input_files("#file", {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"plain words"})
    page.click("#upload-button")
    page.locator("#upload-error").wait_for(state="visible")
    expect(page.locator("#upload-error")).to_contain_text("not an image, video or recording")
    assert page.get_attribute("#upload-error", "role") == "alert"


def test_override_changes_the_verdict_shown(signed_in_page: Any) -> None:
    page = signed_in_page
    page.goto("/dashboard/upload")
    page.set_input_files("#file", {"name": "dark.png", "mimeType": "image/png", "buffer": half_bright(64, 64)})
    page.uncheck("input[name=with_heatmap]")
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/dashboard/results/[0-9a-f]{64}$"))
    expect(page.locator("#verdict")).not_to_have_text("pending", timeout=30_000)
    before = page.text_content("#verdict")
    target = "human" if before == "artificial" else "artificial"
    page.click(f"#override-{target}")
    page.wait_for_load_state()
    assert page.text_content("#verdict") == target
    assert "overridden by you" in page.inner_text(".result-head")
    assert "Classification overridden" in page.inner_text(".flash")


@pytest.mark.skipif(not FACE.is_file(), reason=f"no shared face photo at {FACE}")
def test_face_boxes_are_drawn_over_the_faces(signed_in_page: Any, blockable: tuple[RunningServer, Path]) -> None:
    page = signed_in_page
    server, _ = blockable
    page.goto("/dashboard/upload")
    page.set_input_files("#file", {"name": "face.jpg", "mimeType": "image/jpeg", "buffer": FACE.read_bytes()})
    page.uncheck("input[name=with_heatmap]")
    page.click("#upload-button")
    page.wait_for_url(re.compile(r"/dashboard/results/[0-9a-f]{64}$"))
    expect(page.locator("#verdict")).not_to_have_text("pending", timeout=60_000)
    _, key = dashboard_user(server)  # the API's own view of the same file gives the expected box
    with server.client(key) as api:
        body = wait_done(api, submit(api, FACE.read_bytes(), name="face.jpg"), timeout=60)
    box = body["details"][0]["detections"][0]["box"]
    width = page.evaluate("document.getElementById('original').naturalWidth")
    shown = page.locator("#original").bounding_box()
    rect = page.locator("#faces rect").first.bounding_box()
    scale = shown["width"] / width
    assert abs(rect["x"] - (shown["x"] + box["x1"] * scale)) < 4
    assert abs(rect["width"] - (box["x2"] - box["x1"]) * scale) < 4
    assert re.match(r"face 1: (human|artificial|unknown)", page.inner_text(".face-label"))
    page.uncheck("#show-faces")
    assert page.locator("#faces").is_hidden()


def test_a_recording_waits_then_shows_its_waveform_chunks_and_plays_from_a_chunk(
    signed_in_page: Any, blockable: tuple[RunningServer, Path]
) -> None:
    page = signed_in_page
    _, block = blockable
    block.write_text("hold")
    try:
        page.goto("/dashboard/upload")
        assert "Recordings (voice) up to 50 MB" in page.inner_text("#formats")
        page.set_input_files("#file", {"name": "tune.wav", "mimeType": "audio/wav", "buffer": chord(12.0)})
        page.click("#upload-button")
        page.wait_for_url(re.compile(r"/dashboard/results/[0-9a-f]{64}$"))
        assert page.text_content("#verdict") == "pending"
        assert "Waiting for the result" in page.inner_text("#wait-status")
    finally:
        block.unlink()
    expect(page.locator("#verdict")).to_have_text("unknown", timeout=30_000)  # music: no speech to judge

    bands = page.locator("#waveform rect.segment")
    rows = page.locator("#chunks tbody tr")
    assert bands.count() == 3 and rows.count() == 3  # 0-5, 5-10, 10-12 s
    spans = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    assert spans == ["0:00\u20130:05", "0:05\u20130:10", "0:10\u20130:12"]
    expect(rows.first).to_contain_text("no speech found")
    wave = page.locator("#waveform").bounding_box()
    first = bands.first.bounding_box()
    assert abs(first["width"] / wave["width"] - 5 / 12) < 0.01  # the band spans its 5 s of the 12
    assert "3 unknown" in page.locator("#wave-title").text_content()

    # the player loads the kept file (its type, byte ranges) and a chunk's button seeks to it
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    assert abs(page.evaluate("document.getElementById('player').duration") - 12.0) < 0.1
    rows.nth(1).get_by_role("button", name="Play from 0:05").click()
    page.wait_for_function("document.getElementById('player').currentTime >= 5")
    assert page.evaluate("document.getElementById('player').currentTime") < 8
    expect(page.locator("#playhead")).not_to_have_attribute("hidden", "")
    assert page.locator("#player-error").is_hidden()


def test_phone_viewport_has_no_horizontal_scroll(chromium: Any, blockable: tuple[RunningServer, Path]) -> None:
    server, _ = blockable
    user, key = dashboard_user(server, partner=True)
    with server.client(key) as api:
        identifier = submit(api, half_bright(), with_heatmap=True, ref_id="a-rather-long-reference-for-a-phone")
        wait_done(api, identifier)
        recording = submitted(api, chord(11.0), name="a-phone-call-with-a-rather-long-name.wav")
        wait_audio(api, recording)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, base_url=server.base_url, has_touch=True)
    tab = context.new_page()
    tab.goto("/dashboard/sign-in")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390
    tab.fill("#email", user["email"])
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/dashboard/results")
    widths = {}
    for path in ["/dashboard/upload", "/dashboard/results", f"/dashboard/results/{identifier}", "/dashboard/account",
                 "/dashboard/partner/users", f"/dashboard/results/{recording}"]:  # fmt: skip
        tab.goto(path)
        widths[path] = tab.evaluate("document.documentElement.scrollWidth")
    assert tab.locator("main").count() == 1 and tab.locator("nav[aria-label=Main]").count() == 1
    context.close()
    assert all(width <= 390 for width in widths.values()), widths
