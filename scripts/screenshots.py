"""Regenerate the dashboard screenshots in docs/screenshots/ (run from the repo root).

    .venv/bin/python scripts/screenshots.py

Starts a throw-away server (the default install: heatmaps come from the pixel indicator), seeds a
user, images (a face photo and a C2PA-signed file from ../shared when present), a short video and
a recording (speech from ../shared/speech when present, then silence), then photographs
each page with Debian's Chromium through Playwright. PNGs are reduced to a palette so each stays
well under 250 KB.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402
from tests.api.test_heatmap import half_bright  # noqa: E402
from tests.conftest import image_bytes, start_server  # noqa: E402
from tests.dashboard.conftest import PASSWORD, dashboard_user  # noqa: E402
from tests.support.clips import write_clip  # noqa: E402
from tests.support.shared_data import EVAL  # noqa: E402

OUT = REPO / "docs" / "screenshots"
MAX_BYTES = 250 * 1024


def save_small(png: bytes, path: Path) -> None:
    """A palette PNG (256 colours, then fewer and smaller until it fits the size budget)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for colours, scale in ((256, 1.0), (128, 1.0), (96, 0.85), (64, 0.75), (48, 0.6)):
        shown = image if scale == 1.0 else image.resize((int(image.width * scale), int(image.height * scale)))
        out = io.BytesIO()
        shown.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            break
    path.write_bytes(out.getvalue())
    print(f"{path.relative_to(REPO)}: {out.tell() // 1024} KB")


def clip(path: Path) -> bytes:
    import numpy as np

    frames = []
    for t in range(75):  # 3 s at 25 fps: dark, then brighter (the test double scores brightness)
        value = 40 + int(180 * t / 74)
        y, x = np.mgrid[0:240, 0:320]
        img = np.zeros((240, 320, 3), np.uint8)
        img[..., 0] = np.clip(value + (x // 20 % 2) * 20, 0, 255)
        img[..., 1] = np.clip(value - 20 + (y // 20 % 2) * 20, 0, 255)
        img[..., 2] = np.clip(value // 2 + (x + y) // 40 % 2 * 30, 0, 255)
        frames.append(img)
    return write_clip(path, frames).read_bytes()


def recording() -> bytes:
    """20 s: recorded then synthetic speech from the eval set when present (else a tone), then
    silence, which the speech model cannot judge."""
    import numpy as np
    from tests.support.speech import RATE, SPEECH_EVAL, chord, joined_speech, speech_files

    from originlens.audio.features import encode_audio
    from originlens.media.audio import read_audio

    if SPEECH_EVAL.is_dir():
        parts = [joined_speech(speech_files("human"), 8.0), joined_speech(speech_files("synthetic"), 7.0)]
    else:
        parts = [read_audio(chord(15.0)).samples]
    parts.append(np.zeros(5 * RATE, np.float32))
    return encode_audio(np.concatenate(parts), "mp3", bitrate=64_000)


def wait_for(page: Any, url: str) -> None:
    page.goto(url)
    for _ in range(240):
        if page.locator("article.result[data-status='new']").count() == 0:
            return
        time.sleep(0.5)
        page.reload()
    raise RuntimeError(f"{url} is still pending")


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's Chromium is needed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="originlens-shots-"))
    server = start_server(tmp)  # the default install: the pixel model as a non-voting indicator
    try:
        user, _ = dashboard_user(server, partner=True)
        face = EVAL / "faces" / "face_recognition" / "obama.jpg"
        signed = EVAL / "c2pa" / "c2pa-rs" / "C.jpg"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(f"{server.base_url}/dashboard/sign-in")
            save_small(page.screenshot(full_page=True), OUT / "sign-in.png")
            page.fill("#email", user["email"])
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard/results")

            def upload(name: str, data: bytes, ref_id: str = "", options: tuple[str, ...] = ("with_heatmap",)) -> str:
                page.goto(f"{server.base_url}/dashboard/upload")
                for box in ("with_heatmap", "with_tampering", "with_nsfw"):
                    page.set_checked(f"input[name={box}]", box in options)
                page.fill("#ref_id", ref_id)
                page.set_input_files("#file", {"name": name, "mimeType": "application/octet-stream", "buffer": data})
                page.click("#upload-button")
                page.wait_for_url("**/dashboard/results/*")
                return page.url

            for i in range(3):
                upload(f"wire-photo-{i}.png", image_bytes(size=(320, 240), seed=40 + i), ref_id=f"case-{100 + i}")
            video_url = upload("clip.mp4", clip(tmp / "clip.mp4"), ref_id="case-video")
            audio_url = upload("voicemail.mp3", recording(), ref_id="case-call", options=())
            signed_url = (
                upload("signed.jpg", signed.read_bytes(), ref_id="case-c2pa", options=()) if signed.is_file() else ""
            )
            image = face.read_bytes() if face.is_file() else half_bright()
            image_url = upload(
                "portrait.jpg", image, ref_id="case-42", options=("with_heatmap", "with_tampering", "with_nsfw")
            )

            page.goto(f"{server.base_url}/dashboard/upload")
            page.set_input_files("#file", {"name": "next.jpg", "mimeType": "image/jpeg", "buffer": image})
            save_small(page.screenshot(full_page=True), OUT / "upload.png")

            wait_for(page, image_url)
            page.fill("#heatmap-opacity", "55")
            save_small(page.screenshot(full_page=True), OUT / "result-image.png")
            wait_for(page, video_url)
            save_small(page.screenshot(full_page=True), OUT / "result-video.png")
            wait_for(page, audio_url)
            save_small(page.screenshot(full_page=True), OUT / "result-audio.png")
            if signed_url:
                wait_for(page, signed_url)
                save_small(page.locator("section[aria-labelledby=c2pa-h]").screenshot(), OUT / "result-c2pa.png")
            page.goto(f"{server.base_url}/dashboard/results")
            save_small(page.screenshot(full_page=True), OUT / "results.png")
            page.goto(f"{server.base_url}/dashboard/account")
            save_small(page.screenshot(full_page=True), OUT / "account.png")

            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            phone.context.add_cookies(page.context.cookies())
            wait_for(phone, image_url)
            save_small(phone.screenshot(full_page=True), OUT / "phone-result.png")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
