"""Dashboard accounts over HTTP: sign-in, CSRF, sessions, set-password links, throttling."""

from __future__ import annotations

from datetime import timedelta

from originlens.services import passwords
from originlens.store.models import User
from tests.conftest import RunningServer, make_user
from tests.dashboard.conftest import (
    PASSWORD,
    anonymous,
    csrf_of,
    dashboard_user,
    db_session,
    page_csrf,
    sign_in,
)

BAD = "The e-mail or the password is wrong."


def _attempt(server: RunningServer, email: str, password: str) -> tuple[int, str]:
    with anonymous(server) as client:
        token = csrf_of(client.get("/dashboard/sign-in").text)
        response = client.post("/dashboard/sign-in", data={"email": email, "password": password, "csrf_token": token})
    return response.status_code, response.text


def _link(server: RunningServer, user_id: int, lifetime: timedelta = passwords.LINK_LIFETIME) -> str:
    with db_session(server) as session:
        user = session.get(User, user_id)
        assert user is not None
        return passwords.issue_password_link(session, user, server.base_url, lifetime)


class TestSignIn:
    def test_sign_in_sets_a_hardened_cookie_and_opens_the_pages(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with anonymous(dash_server) as client:
            assert client.get("/dashboard/results").headers["location"].startswith("/dashboard/sign-in?next=")
            token = csrf_of(client.get("/dashboard/sign-in").text)
            response = client.post(
                "/dashboard/sign-in",
                data={
                    "email": user["email"].upper(),
                    "password": PASSWORD,
                    "csrf_token": token,
                    "next": "/dashboard/account",
                },
            )
            cookie = response.headers["set-cookie"]
            page = client.get("/dashboard/account")
        assert response.status_code == 303 and response.headers["location"] == "/dashboard/account"
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # public_url is http here
        assert page.status_code == 200 and user["email"] in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"

    def test_unknown_email_and_wrong_password_look_the_same(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        without_password, _ = make_user(dash_server)
        wrong = _attempt(dash_server, user["email"], "not the password at all")
        unknown = _attempt(dash_server, "nobody-here@example.org", "not the password at all")
        unset = _attempt(dash_server, without_password["email"], "")
        assert wrong[0] == unknown[0] == unset[0] == 401
        assert BAD in wrong[1] and BAD in unknown[1] and BAD in unset[1]

    def test_open_redirects_are_refused(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with anonymous(dash_server) as client:
            token = csrf_of(client.get("/dashboard/sign-in").text)
            response = client.post(
                "/dashboard/sign-in",
                data={"email": user["email"], "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
            )
        assert response.headers["location"] == "/dashboard/results"

    def test_repeated_failures_are_throttled_for_that_email_only(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        other, _ = dashboard_user(dash_server)
        codes = [_attempt(dash_server, user["email"], f"wrong guess {i}")[0] for i in range(5)]
        blocked = _attempt(dash_server, user["email"], PASSWORD)
        assert codes == [401] * 5
        assert blocked[0] == 429 and "Too many failed sign-ins" in blocked[1]
        assert _attempt(dash_server, other["email"], PASSWORD)[0] == 303

    def test_sign_out_ends_the_session(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            token = page_csrf(client)
            assert client.post("/dashboard/sign-out", data={"csrf_token": token}).status_code == 303
            assert client.get("/dashboard/account").status_code == 303


class TestCsrf:
    def test_posts_without_the_token_are_forbidden(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with anonymous(dash_server) as client:
            client.get("/dashboard/sign-in")
            no_token = client.post("/dashboard/sign-in", data={"email": user["email"], "password": PASSWORD})
        with sign_in(dash_server, user["email"]) as client:
            before = client.get("/dashboard/account").text
            forged = client.post("/dashboard/account/webhook-secret", data={"csrf_token": "forged"})
            headerless = client.post("/dashboard/upload", files={"file": ("a.png", b"x")})
            after = client.get("/dashboard/account").text
        assert no_token.status_code == 403
        assert forged.status_code == 403 and headerless.status_code == 403
        secret = 'id="webhook-secret" class="mono" readonly value="'
        assert before.split(secret)[1][:40] == after.split(secret)[1][:40]  # nothing changed

    def test_the_token_of_another_session_does_not_work(self, dash_server: RunningServer) -> None:
        first, _ = dashboard_user(dash_server)
        second, _ = dashboard_user(dash_server)
        with sign_in(dash_server, first["email"]) as a, sign_in(dash_server, second["email"]) as b:
            stolen = page_csrf(a)
            response = b.post("/dashboard/account/webhook-secret", data={"csrf_token": stolen})
            own = b.post("/dashboard/account/webhook-secret", data={"csrf_token": page_csrf(b)})
        assert response.status_code == 403
        assert own.status_code == 303


class TestPasswords:
    def test_a_password_change_ends_the_other_sessions(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as changer, sign_in(dash_server, user["email"]) as other:
            assert other.get("/dashboard/results").status_code == 200
            response = changer.post(
                "/dashboard/account/password",
                data={
                    "csrf_token": page_csrf(changer),
                    "current": PASSWORD,
                    "password": "a brand new passphrase",
                    "password_confirm": "a brand new passphrase",
                },
            )
            assert response.status_code == 303
            assert changer.get("/dashboard/results").status_code == 200  # this session was renewed
            assert other.get("/dashboard/results").headers["location"].startswith("/dashboard/sign-in")
        assert _attempt(dash_server, user["email"], PASSWORD)[0] == 401
        assert _attempt(dash_server, user["email"], "a brand new passphrase")[0] == 303

    def test_wrong_current_password_changes_nothing(self, dash_server: RunningServer) -> None:
        user, _ = dashboard_user(dash_server)
        with sign_in(dash_server, user["email"]) as client:
            response = client.post(
                "/dashboard/account/password",
                data={"csrf_token": page_csrf(client), "current": "guess guess guess", "password": "x" * 12,
                      "password_confirm": "x" * 12},
            )  # fmt: skip
        assert response.status_code == 422 and "current password is wrong" in response.text
        assert _attempt(dash_server, user["email"], PASSWORD)[0] == 303

    def test_set_password_link_works_once(self, dash_server: RunningServer) -> None:
        user, _ = make_user(dash_server)
        link = _link(dash_server, user["id"])
        assert link.startswith(f"{dash_server.base_url}/dashboard/set-password?token=")
        path = link.removeprefix(dash_server.base_url)
        token = path.split("token=")[1]
        with anonymous(dash_server) as client:
            form = client.get(path)
            assert form.status_code == 200 and user["email"] in form.text
            short = client.post(
                "/dashboard/set-password",
                data={
                    "csrf_token": csrf_of(form.text),
                    "token": token,
                    "password": "short",
                    "password_confirm": "short",
                },
            )
            assert short.status_code == 422 and "at least 10" in short.text
            done = client.post(
                "/dashboard/set-password",
                data={"csrf_token": csrf_of(form.text), "token": token, "password": "my own passphrase",
                      "password_confirm": "my own passphrase"},
            )  # fmt: skip
            assert done.status_code == 303
            assert client.get("/dashboard/results").status_code == 200  # signed in by the link
            again = client.get(path)
            replay = client.post(
                "/dashboard/set-password",
                data={"csrf_token": page_csrf(client), "token": token, "password": "an attacker's choice",
                      "password_confirm": "an attacker's choice"},
            )  # fmt: skip
        assert again.status_code == 410 and "not valid any more" in again.text
        assert replay.status_code == 410
        assert _attempt(dash_server, user["email"], "my own passphrase")[0] == 303
        assert _attempt(dash_server, user["email"], "an attacker's choice")[0] == 401

    def test_expired_link_is_refused(self, dash_server: RunningServer) -> None:
        user, _ = make_user(dash_server)
        path = _link(dash_server, user["id"], lifetime=timedelta(seconds=-1)).removeprefix(dash_server.base_url)
        with anonymous(dash_server) as client:
            page = client.get(path)
            response = client.post(
                "/dashboard/set-password",
                data={"csrf_token": page_csrf(client, "/dashboard/sign-in"), "token": path.split("token=")[1],
                      "password": "too late for this", "password_confirm": "too late for this"},
            )  # fmt: skip
        assert page.status_code == 410 and response.status_code == 410
        assert _attempt(dash_server, user["email"], "too late for this")[0] == 401

    def test_only_a_hash_of_the_token_and_of_the_password_is_stored(self, dash_server: RunningServer) -> None:
        from sqlalchemy import select

        from originlens.store.models import PasswordToken

        user, _ = dashboard_user(dash_server)
        token = _link(dash_server, user["id"]).split("token=")[1]
        with db_session(dash_server) as session:
            row = session.get(User, user["id"])
            digests = list(session.scalars(select(PasswordToken.digest).where(PasswordToken.user_id == user["id"])))
            assert row is not None and row.password_hash is not None
            assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        assert token not in digests and len(digests) == 1
