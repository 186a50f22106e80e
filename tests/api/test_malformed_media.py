"""Files the sniffer accepts but the decoder cannot read: never a 5xx, always a readable answer.

The adversarial files are the ones an outside test found (``../shared/adversarial/``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, RunningServer, make_user, wait_done
from tests.dashboard.conftest import PASSWORD, set_password, sign_in
from tests.dashboard.test_pages import upload as dashboard_upload

ADVERSARIAL = SHARED / "adversarial"
needs_adversarial = pytest.mark.skipif(not ADVERSARIAL.is_dir(), reason=f"{ADVERSARIAL} not found")
BROKEN_TIFFS = ["ifd-without-width.tif", "bitflip-500.tif"]


def _read(name: str) -> bytes:
    return (ADVERSARIAL / name).read_bytes()


def _refused_or_errored(client, response) -> str:  # type: ignore[no-untyped-def]
    """Either a 415/422 with a message, or a stored job that ends ``errored`` with a sentence."""
    assert response.status_code < 500, response.text
    if response.status_code in (415, 422):
        assert response.json()["message"]
        return "refused"
    assert response.status_code == 200, response.text
    body = wait_done(client, response.json()["identifier"])
    assert body["status"] == "errored", body
    assert body["errors"].startswith("The image could not be analysed")
    assert "Error" not in body["errors"] and "0x" not in body["errors"]
    return "errored"


@needs_adversarial
@pytest.mark.parametrize("name", BROKEN_TIFFS)
def test_a_damaged_tiff_is_refused_or_errored_on_the_api(server: RunningServer, name: str) -> None:
    _, key = make_user(server)
    with server.client(key, Accept="application/json") as client:
        response = client.post("/api/classification", files={"image": (name, _read(name))})
        _refused_or_errored(client, response)


@needs_adversarial
@pytest.mark.parametrize("name", BROKEN_TIFFS)
def test_a_damaged_tiff_is_refused_or_errored_on_the_dashboard(server: RunningServer, name: str) -> None:
    user, key = make_user(server)
    set_password(server, user["id"])
    with sign_in(server, user["email"], PASSWORD) as dash, server.client(key) as api:
        response = dashboard_upload(dash, _read(name), name)
        _refused_or_errored(api, response)


def test_files_that_only_look_like_images_never_break_the_upload(server: RunningServer, tmp_path: Path) -> None:
    """Every accepted magic number followed by garbage."""
    _, key = make_user(server)
    magics = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"II*\x00", b"MM\x00*", b"RIFF\x10\x00\x00\x00WEBP"]
    with server.client(key, Accept="application/json") as client:
        for magic in magics:
            response = client.post("/api/classification", files={"image": ("x", magic + b"\x00\xff" * 40)})
            _refused_or_errored(client, response)
