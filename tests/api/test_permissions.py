"""The permission model (docs/api.md, "Permissions"): a read-only key or account can only read."""

from __future__ import annotations

import re

import pytest

from originlens.services import keys as keys_service
from originlens.store.models import User
from tests.conftest import RunningServer, image_bytes, make_user, submit, wait_done
from tests.dashboard.conftest import db_session, page_csrf, set_password, sign_in

MUTATING = ("post", "put", "patch", "delete")


def _readonly_key(server: RunningServer, user_id: int) -> str:
    """What ``originlens keys create ACCOUNT --readonly`` does."""
    with db_session(server) as session:
        user = session.get(User, user_id)
        assert user is not None
        return keys_service.create_key(session, user, server.settings.resolved_secret_key(), readonly=True)


def _mutating_routes(server: RunningServer) -> list[tuple[str, str]]:
    with server.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    routes = []
    for path, operations in paths.items():
        concrete = re.sub(r"\{[^}]+\}", "0" * 64, path)
        routes += [(method.upper(), concrete) for method in operations if method in MUTATING]
    return routes


@pytest.fixture(scope="module")
def partner_with_readonly_key(server: RunningServer) -> tuple[dict, str, str]:  # type: ignore[type-arg]
    """A partner (so partner routes are reached) with a full key and a read-only one."""
    user, full = make_user(server)
    with db_session(server) as session:
        row = session.get(User, user["id"])
        assert row is not None
        row.is_partner = True
    return user, full, _readonly_key(server, user["id"])


def test_every_mutating_route_of_the_openapi_is_403_for_a_readonly_key(
    server: RunningServer,
    partner_with_readonly_key: tuple[dict, str, str],  # type: ignore[type-arg]
) -> None:
    _, _, readonly = partner_with_readonly_key
    routes = _mutating_routes(server)
    assert ("DELETE", "/api/user") in routes and ("POST", "/api/user/webhook_secret") in routes
    answers = {}
    with server.client(readonly, Accept="application/json") as client:
        for method, path in routes:
            response = client.request(method, path, data={"id": "1"} if method != "DELETE" else None)
            answers[f"{method} {path}"] = (response.status_code, response.json().get("message", ""))
    wrong = {route: answer for route, answer in answers.items() if answer[0] != 403 or "read-only" not in answer[1]}
    assert wrong == {}


def test_every_mutating_route_is_403_for_a_readonly_account(server: RunningServer) -> None:
    _, key = make_user(server, readonly=True)
    with server.client(key, Accept="application/json") as client:
        for method, path in _mutating_routes(server):
            assert client.request(method, path).status_code == 403, (method, path)


def test_a_readonly_key_reads_and_the_account_is_untouched(
    server: RunningServer,
    partner_with_readonly_key: tuple[dict, str, str],  # type: ignore[type-arg]
) -> None:
    _, full, readonly = partner_with_readonly_key
    with server.client(full) as client:
        identifier = submit(client, image_bytes(seed=41))
        wait_done(client, identifier)
        secret = client.get("/api/user").json()["data"]["webhook_secret"]
    with server.client(readonly, Accept="application/json") as client:
        assert client.get(f"/api/classification/{identifier}").status_code == 200
        assert client.get("/api/user/credits").status_code == 200
        assert client.delete("/api/user").status_code == 403
        assert client.post("/api/user/webhook_secret").status_code == 403
    with server.client(full) as client:
        me = client.get("/api/user")
        assert me.status_code == 200 and me.json()["data"]["webhook_secret"] == secret


def test_a_readonly_account_on_the_dashboard_reads_but_changes_nothing(server: RunningServer) -> None:
    user, _ = make_user(server, readonly=True)
    set_password(server, user["id"])
    with sign_in(server, user["email"]) as client:
        token = page_csrf(client)
        rotate = client.post("/dashboard/account/keys/rotate", data={"csrf_token": token})
        secret = client.post("/dashboard/account/webhook-secret", data={"csrf_token": token})
        heuristic = client.post("/dashboard/account/heuristic", data={"csrf_token": token, "heuristic": "Majority"})
        results = client.get("/dashboard/results")
        signed_out = client.post("/dashboard/sign-out", data={"csrf_token": token})
    assert rotate.status_code == secret.status_code == heuristic.status_code == 403
    assert "read-only" in rotate.text
    assert results.status_code == 200 and signed_out.status_code == 303


def test_an_account_hands_out_a_readonly_key_from_the_dashboard(server: RunningServer) -> None:
    user, full = make_user(server)
    set_password(server, user["id"])
    with sign_in(server, user["email"]) as client:
        page = client.post("/dashboard/account/keys/readonly", data={"csrf_token": page_csrf(client)})
    found = re.search(r'id="new-key" class="mono" readonly value="(ol_[^"]+)"', page.text)
    assert page.status_code == 200 and found and "read-only API key" in page.text
    with server.client(found.group(1)) as client:
        assert client.get("/api/user/credits").status_code == 200
        refused = client.post("/api/user/webhook_secret")
    assert refused.status_code == 403 and "read-only" in refused.json()["message"]
    with server.client(full) as client:
        assert client.post("/api/user/webhook_secret").status_code == 200  # the full key still may
