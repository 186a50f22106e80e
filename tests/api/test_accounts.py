"""Accounts: partners and their users, terms, read-only users, credits, e-mail, keys."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.conftest import RunningServer, free_port, image_bytes, make_user, submit, wait_done


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def partner_of(server: RunningServer) -> tuple[dict[str, Any], str]:
    """A partner account, created by the operator (itself a partner) and promoted via the CLI service."""
    from originlens.services import users as users_service
    from originlens.store.db import make_engine, make_session_factory, unit_of_work
    from originlens.store.models import User

    user, key = make_user(server)
    sessions = make_session_factory(make_engine(server.settings.resolved_database_url))
    with unit_of_work(sessions) as session:
        row = session.get(User, user["id"])
        assert row is not None
        row.is_partner = True
        row.partner_id = None
        users_service.accept_terms(row)
    return user, key


class TestPartnerUsers:
    def test_create_update_and_search_own_users(self, server: RunningServer) -> None:
        _, key = partner_of(server)
        with server.client(key) as client:
            created = client.post(
                "/api/partner/user",
                data={
                    "name": "Ada Lovelace",
                    "email": "ada@example.org",
                    "heuristic": "TopRelevant",
                    "readonly": "true",
                },
            )
            assert created.status_code == 200, created.text
            ada = created.json()["data"]
            updated = client.post(
                "/api/partner/user",
                data={
                    "id": str(ada["id"]),
                    "name": "Ada King",
                    "email": "ada@example.org",
                    "heuristic": "Majority",
                },
            )
            client.post("/api/partner/user", data={"name": "Bob", "email": "bob@example.org", "heuristic": "Average"})
            found = client.get("/api/partner/users", params={"search": "king"}).json()
            everyone = client.get("/api/partner/users", params={"order": "name", "direction": "desc"}).json()
            paged = client.get("/api/partner/users", params={"per_page": 1, "page": 2}).json()
        assert ada["readonly"] is True and ada["heuristic"] == "TopRelevant"
        assert ada["pricing"]["sku"] == "standard"
        assert updated.json()["data"]["name"] == "Ada King"
        assert updated.json()["data"]["heuristic"] == "Majority"
        assert [u["email"] for u in found["data"]] == ["ada@example.org"]
        assert [u["name"] for u in everyone["data"]] == ["Bob", "Ada King"]
        assert everyone["total"] == 2 and everyone["next_page_url"] is None
        assert paged["current_page"] == 2 and paged["last_page"] == 2 and paged["from"] == 2
        assert len(paged["data"]) == 1

    def test_partner_cannot_touch_another_partners_users(self, server: RunningServer) -> None:
        _, first = partner_of(server)
        _, second = partner_of(server)
        with server.client(first) as client:
            mine = client.post(
                "/api/partner/user", data={"name": "Mine", "email": "mine-only@example.org", "heuristic": "Average"}
            ).json()["data"]
        with server.client(second) as client:
            steal = client.post(
                "/api/partner/user",
                data={
                    "id": str(mine["id"]),
                    "name": "Stolen",
                    "email": "mine-only@example.org",
                    "heuristic": "Average",
                },
            )
            listed = client.get("/api/partner/users").json()
        assert steal.status_code == 404
        assert listed["total"] == 0

    def test_non_partner_is_forbidden(self, server: RunningServer) -> None:
        _, key = make_user(server)
        with server.client(key) as client:
            assert client.get("/api/partner/users").status_code == 403
            assert client.get("/api/partner/pricings").status_code == 403
            response = client.post(
                "/api/partner/user", data={"name": "x", "email": "x@example.org", "heuristic": "Average"}
            )
        assert response.status_code == 403
        assert response.json()["error"] == "Forbidden"

    def test_invalid_fields_are_422_with_the_field_named(self, server: RunningServer) -> None:
        _, key = partner_of(server)
        with server.client(key) as client:
            bad_heuristic = client.post(
                "/api/partner/user", data={"name": "x", "email": "h@example.org", "heuristic": "Median"}
            )
            bad_email = client.post(
                "/api/partner/user", data={"name": "x", "email": "not-an-email", "heuristic": "Average"}
            )
            bad_pricing = client.post(
                "/api/partner/user",
                data={"name": "x", "email": "p@example.org", "heuristic": "Average", "pricing_id": "999"},
            )
            missing = client.post("/api/partner/user", data={"name": "x"})
        assert bad_heuristic.status_code == 422 and "heuristic" in bad_heuristic.json()["errors"]
        assert bad_email.status_code == 422 and "email" in bad_email.json()["errors"]
        assert bad_pricing.status_code == 422 and "pricing_id" in bad_pricing.json()["errors"]
        assert missing.status_code == 422 and {"email", "heuristic"} <= set(missing.json()["errors"])

    def test_pricings_are_listed(self, server: RunningServer) -> None:
        _, key = partner_of(server)
        with server.client(key) as client:
            plans = client.get("/api/partner/pricings").json()
        assert any(p["sku"] == "standard" for p in plans)


class TestTermsAndPermissions:
    def test_user_who_has_not_accepted_terms_gets_403(self, server: RunningServer) -> None:
        with server.client(server.operator_key) as client:
            body = client.post("/api/user", data={"name": "New", "email": "new-terms@example.org"}).json()
        with server.client(body["api_key"]) as client:
            before = client.get("/api/classifications")
            accepted = client.post("/api/user/accept_terms")
            after = client.get("/api/classifications")
        assert before.status_code == 403
        assert before.json()["error"] == "Forbidden"
        assert accepted.json()["data"]["terms_accepted"] is True
        assert after.status_code == 200

    def test_read_only_user_can_read_but_not_submit(self, server: RunningServer) -> None:
        _, key = make_user(server, readonly=True)
        with server.client(key) as client:
            upload = client.post("/api/classification", files={"image": ("a.png", image_bytes())})
            by_url = client.post("/api/image_fromurl", data={"file_url": "http://127.0.0.1:9/x.png"})
            listing = client.get("/api/classifications")
        assert upload.status_code == 403 and by_url.status_code == 403
        assert listing.status_code == 200


class TestCredits:
    def test_each_analysis_is_charged_by_plan_and_options(self, server: RunningServer) -> None:
        _, key = make_user(server, balance=3)
        with server.client(key) as client:
            submit(client, image_bytes(seed=50))  # 1 credit
            submit(client, image_bytes(seed=51), with_heatmap=True)  # 1 + 1 option
            refused = client.post("/api/classification", files={"image": ("a.png", image_bytes(seed=52))})
            credits = client.get("/api/user/credits").json()
        assert refused.status_code == 402
        assert "credits" in refused.json()["message"]
        assert credits == {"available_credits": 0, "total_spent": 3}


class TestDeletion:
    def test_user_can_delete_own_account_and_its_files(self, server: RunningServer) -> None:
        _, key = make_user(server)
        blobs = server.settings.data_dir / "blobs" / "media"
        data = image_bytes(seed=60)
        digest = hashlib.sha256(data).hexdigest()
        with server.client(key) as client:
            wait_done(client, submit(client, data))
            assert any(p.name.startswith(digest) for p in blobs.rglob("*"))
            assert client.delete("/api/user").status_code == 204
            assert client.get("/api/classifications").status_code == 401
        assert not any(p.name.startswith(digest) for p in blobs.rglob("*"))

    def test_partner_deletes_only_its_own_users(self, server: RunningServer) -> None:
        _, key = partner_of(server)
        _, other_key = partner_of(server)
        with server.client(key) as client:
            user = client.post(
                "/api/partner/user", data={"name": "Gone", "email": "gone@example.org", "heuristic": "Average"}
            ).json()["data"]
        with server.client(other_key) as client:
            assert client.delete("/api/user", params={"id": user["id"]}).status_code == 404
        with server.client(key) as client:
            assert client.delete("/api/user", params={"id": user["id"]}).status_code == 204
            assert client.get("/api/partner/users").json()["total"] == 0


class TestCreationEmail:
    def test_email_carries_a_working_api_key(self, server_factory, smtp) -> None:  # type: ignore[no-untyped-def]
        port, inbox = smtp
        running = server_factory(smtp_host="127.0.0.1", smtp_port=port, smtp_from="noreply@originlens.test")
        with running.client(running.operator_key) as client:
            user = client.post(
                "/api/partner/user", data={"name": "Mail Me", "email": "mailme@example.org", "heuristic": "Average"}
            ).json()["data"]
            response = client.post("/api/partner/send_creation_email", data={"id": str(user["id"])})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["email"] == "mailme@example.org"
        deadline = time.time() + 5
        while not inbox.messages and time.time() < deadline:
            time.sleep(0.05)
        message = inbox.messages[0]
        assert message["To"] == "mailme@example.org"
        text = message.get_payload(decode=True).decode()
        key = next(line.strip() for line in text.splitlines() if line.strip().startswith("ol_"))
        with running.client(key) as client:
            assert client.get("/api/user").json()["data"]["email"] == "mailme@example.org"
        link = next(line.strip() for line in text.splitlines() if "/dashboard/set-password?token=" in line)
        assert link.startswith(f"{running.settings.public_url}/dashboard/set-password?token=")
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            form = browser.get(link)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert form.status_code == 200 and "mailme@example.org" in form.text and csrf
            token = link.split("token=")[1]
            fields = {
                "csrf_token": csrf.group(1),
                "token": token,
                "password": "mailed passphrase",
                "password_confirm": "mailed passphrase",
            }
            done = browser.post(f"{running.base_url}/dashboard/set-password", data=fields)
            assert done.status_code == 200 and "Your results" in done.text  # signed in by the link
            assert browser.get(link).status_code == 410  # single use

    def test_unconfigured_mail_is_a_clear_error(self, server: RunningServer) -> None:
        with server.client(server.operator_key) as client:
            user = client.post(
                "/api/partner/user", data={"name": "No Mail", "email": "nomail@example.org", "heuristic": "Average"}
            ).json()["data"]
            response = client.post("/api/partner/send_creation_email", data={"id": str(user["id"])})
        assert response.status_code == 503
        assert "SMTP" in response.json()["message"]


class TestHealth:
    def test_health_needs_no_key_and_lists_components(self, server: RunningServer) -> None:
        with server.client() as client:
            body = client.get("/api/health").json()
        assert body["status"] == "ok"
        assert {"database", "storage", "queue", "webhooks", "detectors"} <= set(body["components"])
        assert body["components"]["detectors"]["models"][0]["name"] == "c2pa"


class TestHealthDegraded:
    def test_a_stopped_component_makes_it_degraded(self, server_factory) -> None:  # type: ignore[no-untyped-def]
        running = server_factory()
        running.server.config.app.state.container.dispatcher.stop()
        with running.client() as client:
            response = client.get("/api/health")
        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "degraded"
        assert body["components"]["webhooks"]["status"] == "down"
        assert body["components"]["database"]["status"] == "ok"


class TestRateLimits:
    def test_over_the_limit_is_429_with_retry_after(self, server_factory) -> None:  # type: ignore[no-untyped-def]
        running = server_factory(ratelimit_enabled=True, ratelimit_get="3/minute", ratelimit_post="1/minute")
        with running.client(running.operator_key) as client:
            codes = [client.get("/api/user/credits").status_code for _ in range(4)]
            refused = client.get("/api/user/credits")
            first_post = client.post("/api/user/accept_terms")
            second_post = client.post("/api/user/accept_terms")
        with running.client() as client:
            health = [client.get("/api/health").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429]
        assert refused.json() == {"message": "Too Many Attempts."}
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert first_post.status_code == 200 and second_post.status_code == 429
        assert health == [200] * 5
