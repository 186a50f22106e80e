"""The operator's command line, against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from originlens.cli import app, bootstrap_first_user
from originlens.services import keys as keys_service
from originlens.settings import Settings
from originlens.store.db import make_engine, make_session_factory


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORIGINLENS_DATA_DIR", str(tmp_path))
    return tmp_path


def _key_works(data_dir: Path, key: str) -> bool:
    settings = Settings(data_dir=data_dir)
    with make_session_factory(make_engine(settings.resolved_database_url))() as session:
        return keys_service.authenticate(session, settings.resolved_secret_key(), key) is not None


def _key_from(output: str) -> str:
    return next(word for word in output.split() if word.startswith("ol_"))


def test_users_and_keys_lifecycle(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    created = runner.invoke(app, ["users", "create", "ops@example.org", "--partner", "--balance", "10"])
    assert created.exit_code == 0, created.output
    first = _key_from(created.output)
    assert _key_works(data_dir, first)

    listing = runner.invoke(app, ["users", "list"])
    assert "ops@example.org" in listing.output and "credits=10" in listing.output and "partner" in listing.output

    extra = _key_from(runner.invoke(app, ["keys", "create", "ops@example.org"]).output)
    assert _key_works(data_dir, first) and _key_works(data_dir, extra)

    rotated = _key_from(runner.invoke(app, ["keys", "rotate", "ops@example.org"]).output)
    assert _key_works(data_dir, rotated)
    assert not _key_works(data_dir, first) and not _key_works(data_dir, extra)

    deleted = runner.invoke(app, ["users", "delete", "ops@example.org", "--yes"])
    assert deleted.exit_code == 0
    assert not _key_works(data_dir, rotated)
    assert runner.invoke(app, ["keys", "create", "ops@example.org"]).exit_code == 1


def test_bad_heuristic_is_refused(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["users", "create", "x@example.org", "--heuristic", "Median"])
    assert result.exit_code != 0


def test_first_user_is_bootstrapped_once(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    key = bootstrap_first_user(settings)
    assert key and _key_works(data_dir, key)
    assert bootstrap_first_user(settings) is None


def test_set_password_prints_a_dashboard_link_that_works_once(data_dir: Path) -> None:
    from originlens.services import passwords
    from originlens.settings import Settings
    from originlens.store.db import make_engine, make_session_factory, unit_of_work
    from originlens.store.models import User

    runner = CliRunner()
    assert runner.invoke(app, ["users", "create", "editor@example.org"]).exit_code == 0
    result = runner.invoke(app, ["users", "set-password", "editor@example.org"])
    assert result.exit_code == 0, result.output
    link = next(word for word in result.output.split() if "/dashboard/set-password?token=" in word)
    token = link.split("token=", 1)[1]
    sessions = make_session_factory(make_engine(Settings().resolved_database_url))
    with unit_of_work(sessions) as session:
        user = session.query(User).filter_by(email="editor@example.org").one()
        assert passwords.set_password_with_token(session, token, "a long passphrase 42") is not None
    with unit_of_work(sessions) as session:
        assert passwords.user_for_token(session, token) is None, "single use"
        assert passwords.authenticate(session, "editor@example.org", "a long passphrase 42") is not None
    assert user.email == "editor@example.org"
