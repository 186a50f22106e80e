"""Dashboard sessions, CSRF tokens and sign-in throttling.

The session is a signed cookie (itsdangerous), keyed by a secret derived from the service
secret, so no new setting is needed and every API process agrees. It carries the user id, the
user's ``session_version`` (bumped on a password change, which ends every other session) and a
per-session CSRF token that every dashboard POST must echo (hidden field or ``X-CSRF-Token``).
A visitor who is not signed in gets a session too, so the sign-in form itself is protected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "originlens_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class NotSignedInError(Exception):
    """No valid session: pages redirect to the sign-in form, JSON endpoints answer 401."""


class CsrfError(Exception):
    """A POST without the session's CSRF token: always 403."""


class SignInThrottledError(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed sign-ins.")
        self.retry_after_s = retry_after_s


def session_secret(secret_key: str) -> str:
    """A key for session cookies only: knowing a cookie key reveals nothing about API-key hashes."""
    return hmac.new(secret_key.encode(), b"originlens dashboard session", hashlib.sha256).hexdigest()


@dataclass
class DashboardSession:
    """The decoded cookie; ``dirty`` when the response must send it again."""

    csrf: str
    user_id: int | None = None
    version: int = 0
    dirty: bool = False
    cleared: bool = False
    flash: list[str] = field(default_factory=list)
    """Messages for the next page (after a redirect)."""
    shown: list[str] = field(default_factory=list)
    """Messages the previous response left, shown on this page once."""

    def sign_in(self, user_id: int, version: int) -> None:
        """A fresh session for ``user_id``: new CSRF token, so a token seen before sign-in is useless."""
        self.user_id, self.version, self.csrf, self.dirty = user_id, version, secrets.token_urlsafe(24), True

    def sign_out(self) -> None:
        self.user_id, self.version, self.csrf, self.dirty = None, 0, secrets.token_urlsafe(24), True

    def to_cookie(self) -> dict[str, Any]:
        body: dict[str, Any] = {"c": self.csrf}
        if self.user_id is not None:
            body.update(u=self.user_id, v=self.version)
        if self.flash:
            body["f"] = self.flash[-3:]
        return body


class SessionCodec:
    def __init__(self, secret_key: str, secure: bool) -> None:
        self.serializer = URLSafeTimedSerializer(session_secret(secret_key), salt="originlens-dashboard")
        self.secure = secure

    def load(self, request: Request) -> DashboardSession:
        """The request's session (decoded once and kept on ``request.state``)."""
        existing = getattr(request.state, "dashboard_session", None)
        if isinstance(existing, DashboardSession):
            return existing
        raw = request.cookies.get(COOKIE_NAME)
        state: DashboardSession | None = None
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=SESSION_MAX_AGE_S)
                state = DashboardSession(
                    csrf=str(data["c"]),
                    user_id=int(data["u"]) if "u" in data else None,
                    version=int(data.get("v", 0)),
                    shown=[str(m) for m in data.get("f", [])],
                )
                state.dirty = bool(state.shown)  # shown once: this response drops them
            except (BadSignature, KeyError, TypeError, ValueError):
                state = None
        if state is None:
            state = DashboardSession(csrf=secrets.token_urlsafe(24), dirty=True)
        request.state.dashboard_session = state
        return state

    def save(self, request: Request, response: Response) -> None:
        """Send the cookie again when the session changed (HttpOnly, SameSite=Lax, Secure on https)."""
        state = getattr(request.state, "dashboard_session", None)
        if not isinstance(state, DashboardSession) or not state.dirty:
            return
        response.set_cookie(
            COOKIE_NAME,
            self.serializer.dumps(state.to_cookie()),
            max_age=SESSION_MAX_AGE_S,
            path="/dashboard",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )


def check_csrf(state: DashboardSession, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(submitted.encode(), state.csrf.encode()):
        raise CsrfError()


class SignInThrottle:
    """Failed sign-ins allowed per e-mail (``per_email``) and per client address (``per_address``,
    higher: a newsroom shares one address) within ``window_s``.

    Keyed on the e-mail as typed, whether or not it has an account, so being throttled says
    nothing about which addresses exist. Per process; the argon2 hash itself slows guessing.
    """

    def __init__(self, per_email: int = 5, per_address: int = 50, window_s: float = 600.0) -> None:
        self.per_email, self.per_address, self.window_s = per_email, per_address, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(email: str, address: str) -> tuple[str, str]:
        return f"email:{email.strip().lower()}", f"ip:{address}"

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] < now - self.window_s:
            times.popleft()
        return times

    def check(self, email_key: str, address_key: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key, limit in ((email_key, self.per_email), (address_key, self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    raise SignInThrottledError(max(1, int(times[0] + self.window_s - now)))

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget quiet keys rather than grow without bound
                for stale in [k for k, v in self._failures.items() if not v or v[-1] < now - self.window_s]:
                    del self._failures[stale]

    def succeeded(self, email_key: str) -> None:
        with self._lock:
            self._failures.pop(email_key, None)
