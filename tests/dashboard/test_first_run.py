"""A new user's first minutes: how to get a password, before and after the first ``serve``; an
account page that describes what is installed; a favicon."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from originlens.cli import app
from tests.conftest import REPO, RunningServer
from tests.dashboard.conftest import BRIGHTNESS, anonymous, dashboard_user, sign_in


def test_the_dashboard_docs_say_how_to_get_a_password() -> None:
    text = (REPO / "docs" / "dashboard.md").read_text()
    assert "originlens users set-password operator@localhost" in text


def test_set_password_works_before_the_first_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGINLENS_DATA_DIR", str(tmp_path / "fresh"))
    monkeypatch.delenv("ORIGINLENS_PUBLIC_URL", raising=False)
    result = CliRunner().invoke(app, ["users", "set-password", "operator@localhost"])
    again = CliRunner().invoke(app, ["users", "set-password", "operator@localhost"])
    assert result.exit_code == 0, result.output
    assert "/dashboard/set-password?token=" in result.output
    assert "ol_" in result.output  # the operator's key, shown this once
    assert again.exit_code == 0 and "ol_" not in again.output


def test_the_favicon_is_served(server: RunningServer) -> None:
    with anonymous(server) as client:
        response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon" and response.content[:4] == b"\x00\x00\x01\x00"


def test_the_account_page_says_which_pixel_models_are_installed(server: RunningServer, server_factory) -> None:  # type: ignore[no-untyped-def]
    user, _ = dashboard_user(server)
    with sign_in(server, user["email"]) as client:
        none_installed = client.get("/dashboard/account").text
    with_model = server_factory(extra_detectors=[BRIGHTNESS])
    user, _ = dashboard_user(with_model)
    with sign_in(with_model, user["email"]) as client:
        one_installed = client.get("/dashboard/account").text
    assert "No pixel model votes" in none_installed
    assert "Shown but not voting" in none_installed and "pixel" in none_installed.split("Shown but not voting")[1]
    assert "Voting: brightness-test-double" in one_installed
    assert "Voting on recordings: speech" in none_installed  # the voice model is not a pixel model
