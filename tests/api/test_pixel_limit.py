"""The configured pixel limit (``ORIGINLENS_MAX_IMAGE_PIXELS``, 100 MP by default) is the one
enforced, wherever an image is opened, and not Pillow's built-in 89 MP."""

from __future__ import annotations

import pytest

from originlens.media.images import ImageTooLargeError, check_image_header, decode_image
from tests.api.test_submit_and_results import png_header_only
from tests.conftest import SHARED, image_bytes, make_user

NEAR_LIMIT = SHARED / "adversarial" / "near-limit-99.98MP.png"


@pytest.mark.skipif(not NEAR_LIMIT.is_file(), reason=f"{NEAR_LIMIT} not found")
def test_a_99_98_megapixel_png_is_accepted_under_the_documented_100_mp(server_factory) -> None:  # type: ignore[no-untyped-def]
    idle = server_factory(workers=0)  # the upload decision only; nothing decodes 100 MP here
    _, key = make_user(idle)
    with idle.client(key, Accept="application/json") as client:
        response = client.post("/api/classification", files={"image": ("big.png", NEAR_LIMIT.read_bytes())})
    assert response.status_code == 200, response.text


def test_a_limit_above_pillows_default_is_honoured(server_factory) -> None:  # type: ignore[no-untyped-def]
    roomy = server_factory(workers=0, max_image_pixels=200_000_000)
    _, key = make_user(roomy)
    with roomy.client(key, Accept="application/json") as client:
        accepted = client.post("/api/classification", files={"image": ("a.png", png_header_only(15000, 12000))})
        refused = client.post("/api/classification", files={"image": ("b.png", png_header_only(15000, 14000))})
    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 413 and "at most 200,000,000 pixels" in refused.json()["message"]


def test_a_limit_below_pillows_default_is_honoured(server_factory) -> None:  # type: ignore[no-untyped-def]
    strict = server_factory(workers=0, max_image_pixels=2000)
    _, key = make_user(strict)
    with strict.client(key, Accept="application/json") as client:
        response = client.post("/api/classification", files={"image": ("a.png", image_bytes(size=(64, 48)))})
    assert response.status_code == 413
    assert "64x48 pixels; at most 2,000 pixels" in response.json()["message"]


def test_the_worker_decodes_to_the_same_limit() -> None:
    """The worker, the CLI and the evaluation decode with ``decode_image``: same limit, same words."""
    data = png_header_only(10000, 10000)
    assert check_image_header(data, 100_000_000) is not None
    with pytest.raises(ImageTooLargeError, match="at most 99,999,999 pixels"):
        decode_image(data, 99_999_999)


def test_an_animated_webp_bomb_is_refused_from_its_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Pillow's own guard is off, so the video reader must check the canvas before decoding."""
    import io
    import time

    from PIL import Image

    from originlens.media.video import VideoTooLargeError, probe

    frames = [Image.new("RGB", (9000, 9000), (i * 90, 0, 0)) for i in range(2)]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], quality=1, duration=100)
    path = tmp_path / "bomb.webp"
    path.write_bytes(out.getvalue())
    started = time.monotonic()
    with pytest.raises(VideoTooLargeError, match="9000x9000"):
        probe(path)
    assert time.monotonic() - started < 0.5  # nothing was decoded
