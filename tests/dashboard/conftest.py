"""Dashboard fixtures: users with passwords, signed-in HTTP clients, and one Chromium per module.

The browser is Debian's Chromium driven by Playwright (no browser download); browser tests are
skipped, with the reason, where it or Playwright is missing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, make_user, start_server

PASSWORD = "correct horse battery staple"
BRIGHTNESS = "tests.support.brightness_detector:BrightnessDetector"


def db_session(server: RunningServer) -> Any:
    """A unit of work on the server's database (for what only the operator's CLI would do)."""
    from originlens.store.db import make_engine, make_session_factory, unit_of_work

    return unit_of_work(make_session_factory(make_engine(server.settings.resolved_database_url)))


def set_password(server: RunningServer, user_id: int, password: str = PASSWORD) -> None:
    from originlens.services import passwords
    from originlens.store.models import User

    with db_session(server) as session:
        user = session.get(User, user_id)
        assert user is not None
        passwords.set_password(session, user, password)


def make_partner(server: RunningServer) -> tuple[dict[str, Any], str]:
    from originlens.store.models import User

    user, key = make_user(server)
    with db_session(server) as session:
        row = session.get(User, user["id"])
        assert row is not None
        row.is_partner, row.partner_id = True, None
    return user, key


def dashboard_user(server: RunningServer, **fields: Any) -> tuple[dict[str, Any], str]:
    """A user (terms accepted) with the dashboard password :data:`PASSWORD`; returns (user, API key)."""
    user, key = make_partner(server) if fields.pop("partner", False) else make_user(server, **fields)
    set_password(server, user["id"])
    return user, key


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def anonymous(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False)


def sign_in(server: RunningServer, email: str, password: str = PASSWORD) -> closing[httpx.Client]:
    """An HTTP client holding a signed-in dashboard session (its cookie jar); use it in ``with``."""
    client = anonymous(server)
    page = client.get("/dashboard/sign-in")
    response = client.post(
        "/dashboard/sign-in", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303, response.text
    return closing(client)


def page_csrf(client: httpx.Client, path: str = "/dashboard/account") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per module, with the brightness test double so heatmaps and scores exist."""
    running = start_server(tmp_path_factory.mktemp("dashboard"), extra_detectors=[BRIGHTNESS])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium for the module (named so as not to clash with pytest-playwright's fixtures)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium); no browser is downloaded")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install '.[dev]')")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()
