"""What every dashboard route shares: templates, the signed-in user, CSRF, and the one place
where errors become pages (or JSON for the few endpoints scripts call)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from originlens.container import Container
from originlens.dashboard.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    CsrfError,
    DashboardSession,
    NotSignedInError,
    SessionCodec,
    SignInThrottle,
    check_csrf,
)
from originlens.errors import FieldValidationError, OriginlensError
from originlens.services import permissions
from originlens.storage import StorageFullError
from originlens.store.models import User
from originlens.web.deps import SessionDep
from originlens.web.status import status_of

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Scripts only from this package (no inline script); pages never framed (clickjacking)."""
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["quote"] = quote


def codec(request: Request) -> SessionCodec:
    """Built on first use: the secret is only known once the container has started."""
    existing = getattr(request.app.state, "dashboard_codec", None)
    if isinstance(existing, SessionCodec):
        return existing
    container: Container = request.app.state.container
    built = SessionCodec(container.secret_key, secure=container.settings.public_url.startswith("https"))
    request.app.state.dashboard_codec = built
    return built


def throttle(request: Request) -> SignInThrottle:
    existing = getattr(request.app.state, "dashboard_throttle", None)
    if isinstance(existing, SignInThrottle):
        return existing
    built = SignInThrottle()
    request.app.state.dashboard_throttle = built
    return built


async def dashboard_state(request: Request) -> DashboardSession:
    return codec(request).load(request)


StateDep = Annotated[DashboardSession, Depends(dashboard_state)]


PERSON_PATHS = frozenset({"/dashboard/sign-out", "/dashboard/account/password", "/dashboard/account/terms"})
"""What a read-only account's person may still do: acts of the person, not changes to data."""


async def signed_in_user(request: Request, session: SessionDep, state: StateDep) -> User:
    """The session's user, if the session is still valid (same session version, password set);
    a read-only account is refused here for anything but reads (``services.permissions``)."""
    if state.user_id is None:
        raise NotSignedInError()
    user = session.get(User, state.user_id)
    if user is None or user.password_hash is None or user.session_version != state.version:
        state.sign_out()
        raise NotSignedInError()
    if request.url.path not in PERSON_PATHS:
        permissions.check_method(request.method, readonly=user.readonly)
    return user


UserDep = Annotated[User, Depends(signed_in_user)]


async def csrf_protected(request: Request) -> None:
    """Every dashboard POST echoes the session's token (form field or header), else 403."""
    state = codec(request).load(request)
    submitted = request.headers.get(CSRF_HEADER)
    if not submitted:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            value = (await request.form()).get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    check_csrf(state, submitted)


CSRF = [Depends(csrf_protected)]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page, with what every page needs (user, CSRF token, messages)."""
    state = codec(request).load(request)
    context.setdefault("user", None)
    response = templates.TemplateResponse(
        request,
        name,
        {"csrf_token": state.csrf, "messages": state.shown, "path": request.url.path, **context},
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str, message: str | None = None) -> Response:
    """303 to ``url`` with an optional message shown once on the next page."""
    if message:
        state = codec(request).load(request)
        state.flash.append(message)
        state.dirty = True
    return RedirectResponse(url, status_code=303)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.endswith("/status")


def error_response(request: Request, exc: Exception) -> Response:
    """Every dashboard error becomes a response here: a page, a redirect, or JSON."""
    if isinstance(exc, NotSignedInError):
        if wants_json(request):
            return JSONResponse({"message": "Sign in first."}, status_code=401)
        target = request.url.path if request.method == "GET" else "/dashboard/results"
        target += f"?{request.url.query}" if request.url.query and request.method == "GET" else ""
        return RedirectResponse(f"/dashboard/sign-in?next={quote(target)}", status_code=303)
    status, message = 500, "Something went wrong."
    if isinstance(exc, CsrfError):
        status, message = 403, "This form has expired or did not come from this site. Reload the page and try again."
    elif isinstance(exc, OriginlensError):
        status, message = status_of(exc), exc.message
    elif isinstance(exc, StorageFullError):
        status, message = 507, "The server's storage is full; nothing was recorded or charged. Try again later."
    elif isinstance(exc, RequestValidationError):
        first: dict[str, Any] = next(iter(exc.errors()), {})
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        status, message = 422, f"The {field} field: {first.get('msg', 'invalid')}."
    if wants_json(request):
        body: dict[str, Any] = {"message": message}
        if isinstance(exc, FieldValidationError):
            body["errors"] = {exc.field: [message]}
        return JSONResponse(body, status_code=status)
    return render(request, "error.html", status_code=status, status=status, message=message)


class DashboardRoute(APIRoute):
    """Maps errors (``error_response``) and sends the session cookie when it changed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except (OriginlensError, NotSignedInError, CsrfError, StorageFullError, RequestValidationError) as exc:
                response = error_response(request, exc)
            codec(request).save(request, response)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route
