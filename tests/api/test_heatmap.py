"""with_heatmap: a per-region map from the statistical detectors, served as PNG and JSON."""

from __future__ import annotations

import io
import json

from PIL import Image

from tests.conftest import make_user, submit, wait_done


def half_bright(width: int = 768, height: int = 512) -> bytes:
    image = Image.new("RGB", (width, height), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_heatmap_marks_the_regions_the_detectors_judge_artificial(server_factory) -> None:  # type: ignore[no-untyped-def]
    running = server_factory(
        extra_detectors=["tests.support.brightness_detector:BrightnessDetector"], disabled_detectors=["pixel"]
    )
    _, key = make_user(running)
    with running.client(key) as client:
        identifier = submit(client, half_bright(), name="half.png", with_heatmap=True)
        body = wait_done(client, identifier)
        png = client.get(f"/api/classification/heatmap/{identifier}")
        raw = client.get(f"/api/classification/heatmap/{identifier}", params={"format": "json"})
        alias = client.get(f"/api/classification_image/heatmap/{identifier}")
        plain = wait_done(client, submit(client, half_bright(), name="half.png"))
    assert body["has_heatmap"] is True
    assert not any("with_heatmap" in note for note in body["notes"])
    summary = next(r for r in body["results"] if r["model"] == "heatmap")
    assert summary["kind"] == "derived"
    share = summary["classification"][1]["score"]
    assert 0.35 <= share <= 0.65  # about half the image is bright
    assert all("heatmap" not in v["models"] for v in body["verdicts"])  # derived results never vote

    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    overlay = Image.open(io.BytesIO(png.content))
    assert overlay.width == 768 and overlay.height > 512  # the image plus a legend strip
    left, right = overlay.getpixel((40, 256)), overlay.getpixel((728, 256))
    assert left[0] > left[2] and right[2] > right[0]  # red over the bright half, blue over the dark
    assert alias.content == png.content

    grid = json.loads(raw.content)
    values = grid["values"]
    assert grid["width"] == 768 and grid["models"] == ["brightness-test-double"]
    assert values[0][0] > 0.5 > values[0][-1]

    assert plain["has_heatmap"] is False  # not asked, not made


def test_heatmap_without_a_statistical_detector_says_why(server_factory) -> None:  # type: ignore[no-untyped-def]
    provenance_only = server_factory(disabled_detectors=["pixel"])
    _, key = make_user(provenance_only)
    with provenance_only.client(key) as client:
        identifier = submit(client, half_bright(), with_heatmap=True)
        body = wait_done(client, identifier)
        response = client.get(f"/api/classification/heatmap/{identifier}")
    assert body["has_heatmap"] is False
    assert any("no statistical detector" in note for note in body["notes"])
    assert response.status_code == 404


def test_default_install_draws_a_heatmap_with_the_pixel_model(server_factory) -> None:  # type: ignore[no-untyped-def]
    running = server_factory()
    _, key = make_user(running)
    with running.client(key) as client:
        identifier = submit(client, half_bright(), name="half.png", with_heatmap=True)
        body = wait_done(client, identifier)
        raw = client.get(f"/api/classification/heatmap/{identifier}", params={"format": "json"})
    assert body["has_heatmap"] is True
    grid = json.loads(raw.content)
    assert grid["models"] == ["pixel"]
    heatmap = next(r for r in body["results"] if r["model"] == "heatmap")
    assert heatmap["kind"] == "derived"
