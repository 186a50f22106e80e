"""Dashboard pages over HTTP: ownership, partners, the list's search and filters, overrides,
uploads (images, videos and refusals) and the media routes."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from originlens.container import make_blob_store
from originlens.store.models import Classification
from tests.api.test_heatmap import half_bright
from tests.conftest import RunningServer, image_bytes, submit, wait_done
from tests.dashboard.conftest import dashboard_user, db_session, page_csrf, sign_in
from tests.support.clips import flat_frames, write_clip
from tests.support.shared_data import EVAL
from tests.support.speech import needs_speech


def dark(seed: int) -> bytes:
    """A dark PNG, different for each seed: the brightness test double calls it human."""
    image = Image.new("RGB", (64, 48), (20, 30, 40))
    image.putpixel((seed % 64, seed // 64 % 48), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def upload(client: httpx.Client, data: bytes, name: str, **form: str) -> httpx.Response:
    token = page_csrf(client, "/dashboard/upload")
    return client.post(
        "/dashboard/upload",
        files={"file": (name, data)},
        data=form,
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )


def wait_page(client: httpx.Client, identifier: str) -> str:
    """The result page once the status endpoint says it is no longer pending."""
    import time

    deadline = time.time() + 60
    while client.get(f"/dashboard/results/{identifier}/status").json()["status"] == "new":
        assert time.time() < deadline, "still pending"
        time.sleep(0.1)
    page = client.get(f"/dashboard/results/{identifier}")
    assert page.status_code == 200
    return page.text


def badge(html: str) -> str:
    found = re.search(r'id="verdict">([a-z]+)<', html)
    assert found
    return found.group(1)


def listed(client: httpx.Client, **params: str) -> list[str]:
    page = client.get("/dashboard/results", params=params)
    assert page.status_code == 200, page.text
    return re.findall(r'<a href="/dashboard/results/([0-9a-f]{64})">', page.text)


class TestOwnership:
    def test_another_users_result_and_media_do_not_exist(self, dash_server: RunningServer) -> None:
        owner, owner_key = dashboard_user(dash_server)
        intruder, _ = dashboard_user(dash_server)
        with dash_server.client(owner_key) as api:
            identifier = submit(api, half_bright(), with_heatmap=True)
            wait_done(api, identifier)
        with sign_in(dash_server, owner["email"]) as mine, sign_in(dash_server, intruder["email"]) as theirs:
            paths = ["", "/status", "/image", "/heatmap"]
            own = [mine.get(f"/dashboard/results/{identifier}{p}").status_code for p in paths]
            foreign = [theirs.get(f"/dashboard/results/{identifier}{p}").status_code for p in paths]
            token = page_csrf(theirs)
            override = theirs.post(
                f"/dashboard/results/{identifier}/override", data={"csrf_token": token, "classification": "artificial"}
            )
            assert badge(mine.get(f"/dashboard/results/{identifier}").text) != "artificial"
        assert own == [200, 200, 200, 200]
        assert foreign == [404, 404, 404, 404]
        assert override.status_code == 404

    def test_result_url_points_at_the_dashboard(self, dash_server: RunningServer) -> None:
        _, key = dashboard_user(dash_server)
        with dash_server.client(key) as api:
            identifier = submit(api, image_bytes(seed=801))
            body = wait_done(api, identifier)
        assert body["result_url"] == f"{dash_server.base_url}/dashboard/results/{identifier}"


class TestPartnerPages:
    def test_forbidden_to_non_partners(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            users = client.get("/dashboard/partner/users")
            plans = client.get("/dashboard/partner/pricings")
            create = client.post(
                "/dashboard/partner/users",
                data={
                    "csrf_token": page_csrf(client),
                    "name": "X",
                    "email": "x-np@example.org",
                    "heuristic": "Average",
                },
            )
            nav = client.get("/dashboard/results").text
        assert users.status_code == plans.status_code == create.status_code == 403
        assert "/dashboard/partner/users" not in nav

    def test_partner_creates_updates_and_lists_users(self, dash_server: RunningServer) -> None:
        partner, _ = dashboard_user(dash_server, partner=True)
        with sign_in(dash_server, partner["email"]) as client:
            token = page_csrf(client, "/dashboard/partner/users")
            created = client.post(
                "/dashboard/partner/users",
                data={"csrf_token": token, "name": "Grace Hopper", "email": "grace-dash@example.org",
                      "heuristic": "Majority", "balance": "12", "save_files": "true"},
            )  # fmt: skip
            listing = client.get("/dashboard/partner/users", params={"search": "grace"}).text
            user_id = re.search(r"edit=(\d+)", listing)
            assert user_id is not None
            client.post(
                "/dashboard/partner/users",
                data={"csrf_token": token, "id": user_id.group(1), "name": "Grace B. Hopper",
                      "email": "grace-dash@example.org", "heuristic": "Average", "balance": "3"},
            )  # fmt: skip
            after = client.get("/dashboard/partner/users", params={"search": "grace"}).text
            nobody = client.get("/dashboard/partner/users", params={"search": "no-such-person"}).text
            bad = client.post(
                "/dashboard/partner/users",
                data={"csrf_token": token, "name": "Bad", "email": "bad-heuristic@example.org", "heuristic": "Median"},
            )
            mail = client.post(f"/dashboard/partner/users/{user_id.group(1)}/send-email", data={"csrf_token": token})
            plans = client.get("/dashboard/partner/pricings").text
        assert created.status_code == 303
        assert "Grace Hopper" in listing and ">12<" in listing
        assert "Grace B. Hopper" in after and ">3<" in after
        assert "0 users" in nobody
        assert bad.status_code == 422 and "heuristic must be one of" in bad.text
        assert mail.status_code == 503 and "SMTP" in mail.text  # no mail server configured here
        assert "standard" in plans


class TestListAndOverride:
    def test_search_filters_and_override(self, dash_server: RunningServer) -> None:
        user, key = dashboard_user(dash_server)
        with dash_server.client(key) as api:
            ids = {
                ref: submit(api, dark(900 + i), name=f"{ref}-photo.png", ref_id=ref)
                for i, ref in enumerate(["case-a", "case-b", "case-c"])
            }
            for identifier in ids.values():
                wait_done(api, identifier)
        with sign_in(dash_server, user["email"]) as client:
            everything = listed(client)
            by_ref = listed(client, q="case-b")
            by_name = listed(client, q="C-PHOTO")
            today = datetime.now(UTC).date()
            from_today = listed(client, **{"from": today.isoformat()})
            until_yesterday = listed(client, to=(today - timedelta(days=1)).isoformat())
            human_before = listed(client, verdict="human")
            response = client.post(
                f"/dashboard/results/{ids['case-a']}/override",
                data={"csrf_token": page_csrf(client), "classification": "artificial"},
            )
            page = client.get(f"/dashboard/results/{ids['case-a']}").text
            artificial = listed(client, verdict="artificial")
            human_after = listed(client, verdict="human")
            pending = listed(client, verdict="pending")
            bad_date = client.get("/dashboard/results", params={"from": "yesterday"})
        assert set(everything) == set(ids.values()) and everything == sorted(
            everything, key=list(ids.values())[::-1].index
        )
        assert by_ref == [ids["case-b"]] and by_name == [ids["case-c"]]
        assert set(from_today) == set(ids.values()) and until_yesterday == []
        assert set(human_before) == set(ids.values())  # three dark images: the brightness double says human
        assert response.status_code == 303
        assert badge(page) == "artificial" and "overridden by you" in page
        assert artificial == [ids["case-a"]] and set(human_after) == {ids["case-b"], ids["case-c"]}
        assert pending == []
        assert bad_date.status_code == 422 and "2026-11-28" in bad_date.text

    def test_pagination(self, dash_server: RunningServer) -> None:
        user, key = dashboard_user(dash_server)
        with dash_server.client(key) as api:
            made = [submit(api, image_bytes(seed=950 + i), ref_id="paged") for i in range(23)]
        with sign_in(dash_server, user["email"]) as client:
            first = listed(client, q="paged")
            second = listed(client, q="paged", page="2")
            text = client.get("/dashboard/results", params={"q": "paged"}).text
        assert len(first) == 20 and len(second) == 3
        assert set(first + second) == set(made)
        assert "page 1 of 2" in text and 'rel="next"' in text


class TestUpload:
    def test_image_upload_shows_the_evidence(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            response = upload(client, half_bright(), "half.png", with_heatmap="true", ref_id="dash-1")
            identifier = response.json()["identifier"]
            html = wait_page(client, identifier)
            heatmap = client.get(f"/dashboard/results/{identifier}/heatmap")
            original = client.get(f"/dashboard/results/{identifier}/image")
        assert response.status_code == 200 and response.json()["url"] == f"/dashboard/results/{identifier}"
        assert 'id="heatmap"' in html and 'id="heatmap-opacity"' in html
        assert "brightness-test-double" in html and "Could not judge: no C2PA manifest" in html
        assert heatmap.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(original.content)).size == (768, 512)
        assert "dash-1" in html

    def test_tampering_map_is_an_overlay_for_its_owner_only(self, dash_server: RunningServer) -> None:
        import numpy as np

        noise = Image.fromarray(np.random.default_rng(3).integers(0, 255, (256, 256, 3), dtype=np.uint8))
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=90)
        user, _ = dashboard_user(dash_server)
        other, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            identifier = upload(client, out.getvalue(), "noise.jpg", with_tampering="true").json()["identifier"]
            html = wait_page(client, identifier)
            png = client.get(f"/dashboard/results/{identifier}/tampering")
        with sign_in(dash_server, other["email"]) as client:
            foreign = client.get(f"/dashboard/results/{identifier}/tampering")
        assert 'id="tampering-map"' in html and 'id="show-tampering"' in html
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert foreign.status_code == 404

    def test_refusals_are_shown_with_their_message(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        readonly, _ = dashboard_user(dash_server, readonly=True)
        with sign_in(dash_server, user["email"]) as client:
            not_media = upload(client, b"just some text, not an image", "notes.txt")
            empty = upload(client, b"", "empty.png")
        with sign_in(dash_server, readonly["email"]) as client:
            refused = upload(client, image_bytes(seed=7), "a.png")
        assert not_media.status_code == 415
        assert "not an image, video or recording this service accepts" in not_media.json()["message"]
        assert "Recordings: MP3, WAV" in not_media.json()["message"]
        assert empty.status_code == 422
        assert refused.status_code == 403 and "read-only" in refused.json()["message"]

    def test_video_timeline_with_cached_thumbnails(self, dash_server: RunningServer, tmp_path: Path) -> None:
        user, _ = dashboard_user(dash_server)
        clip = write_clip(tmp_path / "clip.mp4", flat_frames(60, 30) + flat_frames(220, 30)).read_bytes()
        with sign_in(dash_server, user["email"]) as client:
            identifier = upload(client, clip, "clip.mp4", frames="5").json()["identifier"]
            html = wait_page(client, identifier)
            frames = [int(i) for i in re.findall(rf"/dashboard/results/{identifier}/frames/(\d+)\.jpg", html)]
            thumb = client.get(f"/dashboard/results/{identifier}/frames/{frames[0]}.jpg")
            missing = client.get(f"/dashboard/results/{identifier}/frames/99999.jpg")
        assert len(frames) == 5 and 'class="timeline"' in html
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(thumb.content)).size) <= 160
        assert missing.status_code == 404
        with db_session(dash_server) as session:
            from sqlalchemy import select

            row = session.scalar(select(Classification).where(Classification.identifier == identifier))
            assert row is not None
            analysis_id, sha = row.analysis.id, row.analysis.sha256
        blobs = make_blob_store(dash_server.settings.resolved_storage_url)
        assert blobs.exists(f"thumbnails/{sha[:2]}/{analysis_id}-{frames[0]}.jpg")  # cached for the next view

    def test_unkept_file_is_said_so(self, dash_server: RunningServer) -> None:
        user, key = dashboard_user(dash_server, save_files=False)
        with dash_server.client(key) as api:
            identifier = submit(api, half_bright(), with_heatmap=True)
            wait_done(api, identifier)
        with sign_in(dash_server, user["email"]) as client:
            html = client.get(f"/dashboard/results/{identifier}").text
            original = client.get(f"/dashboard/results/{identifier}/image")
        assert "The file was not kept on this server" in html
        assert original.status_code == 404


def m4a(seconds: float, fmt: str = "ipod") -> bytes:
    """A tone in AAC, in an MP4 container with the M4A brand (``ipod``) or a plain one (``mp4``)."""
    import av
    import numpy as np

    rate = 16_000
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32).reshape(1, -1)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="flt", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate, frame_size=1024)
        for part in [*resampler.resample(frame), *resampler.resample(None), None]:
            for packet in stream.encode(part):
                out.mux(packet)
    return buf.getvalue()


def segments(html: str) -> list[str]:
    """The verdict of each chunk band drawn in the waveform, in order."""
    return re.findall(r'<rect class="segment ([a-z]+)"', html)


def chunk_table(html: str) -> list[tuple[str, str, str]]:
    """(time span, verdict, why) of each row of the chunk table."""
    rows = re.findall(r'<tr class="chunk ([a-z]+)".*?</tr>', html, flags=re.S)
    spans = re.findall(r'<tr class="chunk [a-z]+".*?<span class="time">([^<]+)</span>', html, flags=re.S)
    whys = re.findall(r'<td data-label="Why">([^<]*)</td>', html)
    return list(zip(spans, rows, whys, strict=True))


class TestRecordings:
    def test_a_recording_uploaded_by_the_form_shows_its_waveform_chunks_and_player(
        self, dash_server: RunningServer
    ) -> None:
        from tests.support.speech import chord

        user, key = dashboard_user(dash_server)
        music = chord(12.0)  # music, no voice: every chunk is unknown, "no speech found"
        with sign_in(dash_server, user["email"]) as client:
            response = upload(client, music, "hum.wav", ref_id="call-12")
            identifier = response.json()["identifier"]
            html = wait_page(client, identifier)
            player = client.get(f"/dashboard/results/{identifier}/audio")
            head = client.get(f"/dashboard/results/{identifier}/audio", headers={"Range": "bytes=0-99"})
            tail = client.get(f"/dashboard/results/{identifier}/audio", headers={"Range": "bytes=-10"})
            beyond = client.get(f"/dashboard/results/{identifier}/audio", headers={"Range": f"bytes={len(music)}-"})
            recordings = client.get("/dashboard/results", params={"media": "audio"}).text
        with dash_server.client(key) as api:
            body = api.get(f"/api/classification_audio/{identifier}").json()  # the API sees the same recording
        assert response.status_code == 200 and body["ref_id"] == "call-12" and body["name"] == "hum.wav"
        assert '<svg id="waveform"' in html and 'class="envelope"' in html
        assert (
            segments(html)
            == ["unknown", "unknown", "unknown"]
            == [
                "unknown" if c["verdict"].get("unknown") else c["verdict"]["classification"]
                for c in body["chunk_details"]
            ]
        )
        table = chunk_table(html)
        assert [row[0] for row in table] == ["0:00\u20130:05", "0:05\u20130:10", "0:10\u20130:12"]
        assert all(row[1] == "unknown" and row[2].startswith("no speech found") for row in table)
        assert "3 unknown" in html  # the picture's text alternative counts the chunks by verdict
        assert "Length</dt><dd>0:12 (12.0 s)" in html
        assert "the voice model could not judge the recording (no speech found" in html
        assert f'<audio id="player" controls preload="metadata" src="/dashboard/results/{identifier}/audio">' in html
        assert player.status_code == 200 and player.content == music
        assert player.headers["content-type"] == "audio/wav" and player.headers["accept-ranges"] == "bytes"
        assert head.status_code == 206 and head.content == music[:100]
        assert head.headers["content-range"] == f"bytes 0-99/{len(music)}"
        assert tail.status_code == 206 and tail.content == music[-10:]
        assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(music)}"
        assert identifier in recordings and "recording</span>" in recordings

    def test_silence_is_unknown_with_its_reason_and_a_flat_waveform(self, dash_server: RunningServer) -> None:
        from tests.support.speech import silence

        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            identifier = upload(client, silence(6.5), "quiet.wav").json()["identifier"]
            html = wait_page(client, identifier)
        path = re.search(r'<path class="envelope" d="([^"]+)"', html)
        assert path is not None
        heights = {float(point.split(",")[1]) for point in re.findall(r"[\d.]+,[\d.]+", path.group(1))}
        assert max(heights) - min(heights) <= 1.0  # nothing to draw: a flat line through the middle
        assert badge(html) == "unknown" and segments(html) == ["unknown", "unknown"]
        assert [row[2][:15] for row in chunk_table(html)] == ["no speech found"] * 2
        assert "Speech found</dt><dd>0.0 s" in html

    @needs_speech
    def test_speech_chunks_show_the_speech_models_score_as_the_api_does(self, dash_server: RunningServer) -> None:
        from tests.support.speech import speech_recording

        user, key = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            identifier = upload(client, speech_recording("human", 12.0), "call.mp3").json()["identifier"]
            html = wait_page(client, identifier)
        with dash_server.client(key) as api:
            body = api.get(f"/api/classification_audio/{identifier}").json()
        expected = [
            "unknown" if c["verdict"].get("unknown") else c["verdict"]["classification"] for c in body["chunk_details"]
        ]
        scores = [
            next(r for r in c["results"] if r["model"] == "speech")["classification"][1]["score"]
            for c in body["chunk_details"]
        ]
        assert segments(html) == expected and len(expected) == 3
        assert [row[1] for row in chunk_table(html)] == expected
        assert any(label in ("human", "artificial") for label in expected)  # 12 s of speech: judged
        for score in scores:
            assert f'<td data-label="Speech model">{score:.2f} artificial</td>' in html
        assert badge(html) == (body["verdict"]["classification"] if not body["verdict"].get("unknown") else "unknown")

    def test_override_changes_the_verdict_and_every_chunk(self, dash_server: RunningServer) -> None:
        from tests.support.speech import chord

        user, key = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            identifier = upload(client, chord(7.0), "tune.wav").json()["identifier"]
            before = wait_page(client, identifier)
            response = client.post(
                f"/dashboard/results/{identifier}/override",
                data={"csrf_token": page_csrf(client), "classification": "artificial"},
            )
            after = client.get(f"/dashboard/results/{identifier}").text
            listed_artificial = listed(client, verdict="artificial", media="audio")
        with dash_server.client(key) as api:
            body = api.get(f"/api/classification_audio/{identifier}").json()
        assert badge(before) == "unknown" and segments(before) == ["unknown", "unknown"]
        assert response.status_code == 303
        assert badge(after) == "artificial" and "overridden by you" in after
        assert segments(after) == ["artificial", "artificial"]
        assert all(row[2] == "your override of the whole recording" for row in chunk_table(after))
        assert body["force_classification"] == "artificial" and listed_artificial == [identifier]

    def test_recordings_are_told_apart_from_videos_by_content(self, dash_server: RunningServer, tmp_path: Path) -> None:
        from tests.support.speech import chord

        user, _ = dashboard_user(dash_server)
        clip = write_clip(tmp_path / "clip.mp4", flat_frames(60, 10)).read_bytes()
        files = {
            "tone.m4a": m4a(3.0),  # the M4A brand: a recording
            "tone.mp4": m4a(3.0, "mp4"),  # a plain MP4 brand, but only a sound track: a recording
            "tone.opus": chord(3.0, "opus"),  # Ogg: audio or video, decided by its tracks
            "clip.mp4": clip,  # a plain MP4 with a picture: a video
        }
        with sign_in(dash_server, user["email"]) as client:
            ids = {name: upload(client, data, name).json()["identifier"] for name, data in files.items()}
            pages = {name: wait_page(client, identifier) for name, identifier in ids.items()}
        kinds = {name: "audio" if 'id="rec-h"' in html else "video" for name, html in pages.items()}
        assert kinds == {"tone.m4a": "audio", "tone.mp4": "audio", "tone.opus": "audio", "clip.mp4": "video"}
        assert all("The analysis failed" not in html for html in pages.values())
        assert "Length</dt><dd>0:03 (3.0 s)" in pages["tone.opus"]

    def test_a_tool_named_in_the_tags_is_shown_without_deciding(self, dash_server: RunningServer) -> None:
        from tests.unit.test_audio_provenance import _mp3_with_id3

        user, _ = dashboard_user(dash_server)
        tagged = _mp3_with_id3({"TSSE": "ElevenLabs", "TIT2": "Welcome message"})
        with sign_in(dash_server, user["email"]) as client:
            html = wait_page(client, upload(client, tagged, "welcome.mp3").json()["identifier"])
        assert "Metadata tags" in html and '<dd id="tags-tool">ElevenLabs</dd>' in html
        assert "ID3 TSSE (encoder)" in html and "never decide the verdict" in html
        assert "overridden by you" not in html and "provenance:" not in html  # unsigned tags never force

    def test_a_recording_over_the_limit_is_refused_with_the_limit(self, dash_server: RunningServer) -> None:
        limit = dash_server.settings.max_audio_upload_bytes
        header = b"RIFF" + (limit + 36).to_bytes(4, "little") + b"WAVEfmt "
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            refused = upload(client, header + bytes(limit + 1024), "long.wav")
            listing = listed(client)
        assert refused.status_code == 413
        assert refused.json()["message"] == f"The recording must not be larger than {limit // (1024 * 1024)} MB."
        assert listing == []  # nothing recorded

    def test_the_player_is_for_its_owner_and_only_while_the_file_is_kept(self, dash_server: RunningServer) -> None:
        from tests.support.speech import chord

        keeper, _ = dashboard_user(dash_server)
        forgetful, _ = dashboard_user(dash_server, save_files=False)
        with sign_in(dash_server, keeper["email"]) as client:
            kept = upload(client, chord(2.0), "a.wav").json()["identifier"]
            wait_page(client, kept)
        with sign_in(dash_server, forgetful["email"]) as client:
            foreign = client.get(f"/dashboard/results/{kept}/audio")
            gone = upload(client, chord(2.5), "b.wav").json()["identifier"]
            html = wait_page(client, gone)
            missing = client.get(f"/dashboard/results/{gone}/audio")
        assert foreign.status_code == 404 and missing.status_code == 404
        assert "<audio" not in html and "so it cannot be played" in html
        assert '<svg id="waveform"' in html  # the envelope is kept with the result, not the file


SIGNED = EVAL / "c2pa" / "c2pa-rs" / "C.jpg"


@pytest.mark.skipif(not SIGNED.is_file(), reason=f"no shared C2PA sample at {SIGNED}")
def test_c2pa_manifest_is_summarised_in_plain_words(dash_server: RunningServer) -> None:
    user, key = dashboard_user(dash_server)
    with dash_server.client(key) as api:
        identifier = submit(api, SIGNED.read_bytes(), name="C.jpg")
        body = wait_done(api, identifier)
    with sign_in(dash_server, user["email"]) as client:
        html = client.get(f"/dashboard/results/{identifier}").text
    details = next(r for r in body["results"] if r["model"] == "c2pa")["classification_details"]
    assert "Content Credentials (C2PA)" in html
    assert f"<dd>{details['signer']}</dd>" in html
    assert "not on the trust list" in html  # a test certificate: valid but untrusted


class TestAccount:
    def test_keys_webhook_secret_heuristic_and_credits(self, dash_server: RunningServer) -> None:
        user, old_key = dashboard_user(dash_server, balance=40)
        with sign_in(dash_server, user["email"]) as client:
            page = client.get("/dashboard/account").text
            token = page_csrf(client)
            rotated = client.post("/dashboard/account/keys/rotate", data={"csrf_token": token})
            new_key = re.search(r'id="new-key" class="mono" readonly value="(ol_[^"]+)"', rotated.text)
            again = client.get("/dashboard/account").text
            secret_before = re.findall(r'id="webhook-secret" class="mono" readonly value="([^"]+)"', again)
            client.post("/dashboard/account/webhook-secret", data={"csrf_token": token})
            client.post("/dashboard/account/heuristic", data={"csrf_token": token, "heuristic": "Majority"})
            bad = client.post("/dashboard/account/heuristic", data={"csrf_token": token, "heuristic": "Median"})
            after = client.get("/dashboard/account").text
        assert old_key[:10] in page and ">40<" in page  # the key's prefix, and the credits
        assert new_key is not None and new_key.group(1)[:10] in again
        assert new_key.group(1) not in again  # shown once only
        with dash_server.client(old_key) as api:
            assert api.get("/api/user").status_code == 401
        with dash_server.client(new_key.group(1)) as api:
            me = api.get("/api/user").json()["data"]
        assert me["heuristic"] == "Majority" and me["webhook_secret"] != secret_before[0]
        assert me["webhook_secret"] in after
        assert bad.status_code == 422 and "heuristic must be one of" in bad.text

    def test_terms_must_be_accepted_before_uploading(self, dash_server: RunningServer) -> None:
        from originlens.store.models import User

        user, _ = dashboard_user(dash_server)
        with db_session(dash_server) as session:
            row = session.get(User, user["id"])
            assert row is not None
            row.terms_accepted_at = None
        with sign_in(dash_server, user["email"]) as client:
            assert "Accept the terms first" in client.get("/dashboard/upload").text
            refused = upload(client, dark(5), "a.png")
            accepted = client.post("/dashboard/account/terms", data={"csrf_token": page_csrf(client)})
            allowed = upload(client, dark(5), "a.png")
        assert refused.status_code == 403 and "terms" in refused.json()["message"]
        assert accepted.status_code == 303 and allowed.status_code == 200
