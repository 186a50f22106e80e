"""E-mail addresses: one normaliser (trim, no control characters, unique whatever the case) for
the API, the dashboard and the command line; a clash is a 422 that reveals no other partner's users."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from originlens.cli import app
from tests.conftest import RunningServer
from tests.dashboard.conftest import dashboard_user, page_csrf, sign_in


def _create(server: RunningServer, key: str, email: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    with server.client(key, Accept="application/json") as client:
        response = client.post("/api/user", files={"name": (None, "Dup"), "email": (None, email)})
    return response.status_code, response.json()


@pytest.mark.parametrize("variant", ["{e}\x0c", " {e} ", "{e}\t", "{E}", "\n{E}\r\n"])
def test_an_existing_address_with_whitespace_or_another_case_is_a_422(server: RunningServer, variant: str) -> None:
    email = f"dup-{abs(hash(variant))}@example.org"
    assert _create(server, server.operator_key, email)[0] == 200
    status, body = _create(server, server.operator_key, variant.format(e=email, E=email.upper()))
    assert status == 422, body
    assert "email" in body["errors"] and "already used by your user" in body["message"]


def test_an_address_is_stored_trimmed_and_lower_case(server: RunningServer) -> None:
    status, body = _create(server, server.operator_key, "  Mixed.Case@Example.ORG\x0c")
    assert status == 200, body
    assert body["data"]["email"] == "mixed.case@example.org"


@pytest.mark.parametrize(
    "email", ["a\x00b@example.org", "a b@example.org", "ab@exa\u200bmple.org", "@x", "a@", "a@b@c"]
)
def test_control_characters_and_malformed_addresses_are_refused(server: RunningServer, email: str) -> None:
    status, body = _create(server, server.operator_key, email)
    assert status == 422, body
    assert "email" in body["errors"]


def test_another_partners_address_is_refused_without_saying_it_exists(server: RunningServer) -> None:
    other, other_key = dashboard_user(server, partner=True)
    email = f"theirs-{other['id']}@example.org"
    assert _create(server, other_key, email)[0] == 200
    status, body = _create(server, server.operator_key, email + "\x0c")
    assert status == 422
    assert "taken" not in body["message"] and "your user" not in body["message"]
    assert body["message"] == "This email address cannot be used; choose another one."


def test_the_dashboard_uses_the_same_rules(server: RunningServer) -> None:
    partner, key = dashboard_user(server, partner=True)
    email = f"dash-{partner['id']}@example.org"
    assert _create(server, key, email)[0] == 200
    with sign_in(server, partner["email"].upper() + " ") as client:
        token = page_csrf(client, "/dashboard/partner/users")
        response = client.post(
            "/dashboard/partner/users",
            data={"csrf_token": token, "name": "Again", "email": email + "\x0c", "heuristic": "Average"},
        )
    assert response.status_code == 422
    assert "already used by your user" in response.text


def test_the_command_line_uses_the_same_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGINLENS_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["users", "create", "Ops@Example.org"]).exit_code == 0
    again = runner.invoke(app, ["users", "create", "ops@example.org\x0c"])
    bad = runner.invoke(app, ["users", "create", "o\x07ps@example.org"])
    found = runner.invoke(app, ["keys", "create", " OPS@example.org "])
    assert again.exit_code == 1 and "cannot be used" in again.output
    assert bad.exit_code == 1 and "control characters" in bad.output
    assert found.exit_code == 0, found.output
