"""Sign-in, sign-out and the one-time set-password link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from originlens.dashboard.core import CSRF, DashboardRoute, StateDep, redirect, render, throttle
from originlens.dashboard.security import SignInThrottledError
from originlens.errors import FieldValidationError
from originlens.services import passwords
from originlens.web.deps import SessionDep

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)

BAD_SIGN_IN = "The e-mail or the password is wrong."
"""The same message whether the e-mail is unknown or the password wrong: no account enumeration."""


def safe_next(target: str | None) -> str:
    """Only a dashboard path on this site: never an open redirect."""
    if target and target.startswith("/dashboard/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard/results"


@router.get("", response_model=None)
@router.get("/", response_model=None)
async def home(state: StateDep) -> Response:
    from fastapi.responses import RedirectResponse

    return RedirectResponse("/dashboard/results" if state.user_id else "/dashboard/sign-in", status_code=303)


@router.get("/sign-in")
async def sign_in_form(request: Request, state: StateDep, next: str | None = None) -> Response:
    return render(request, "sign_in.html", next=safe_next(next), email="")


@router.post("/sign-in", dependencies=CSRF)
def sign_in(
    request: Request,
    session: SessionDep,
    state: StateDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)] = "",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    limiter = throttle(request)
    keys = limiter.keys(email, request.client.host if request.client else "-")
    try:
        limiter.check(*keys)
    except SignInThrottledError as exc:
        minutes = max(1, round(exc.retry_after_s / 60))
        return render(
            request, "sign_in.html", status_code=429, next=safe_next(next), email=email,
            error=f"Too many failed sign-ins. Try again in about {minutes} minute(s).",
        )  # fmt: skip
    user = passwords.authenticate(session, email, password)
    if user is None:
        limiter.failed(*keys)
        return render(request, "sign_in.html", status_code=401, next=safe_next(next), email=email, error=BAD_SIGN_IN)
    limiter.succeeded(keys[0])
    state.sign_in(user.id, user.session_version)
    return redirect(request, safe_next(next))


@router.post("/sign-out", dependencies=CSRF)
async def sign_out(request: Request, state: StateDep) -> Response:
    state.sign_out()
    return redirect(request, "/dashboard/sign-in", "You are signed out.")


@router.get("/set-password")
async def set_password_form(request: Request, session: SessionDep, token: str = "") -> Response:
    user = passwords.user_for_token(session, token) if token else None
    if user is None:
        return render(request, "set_password.html", status_code=410, token="", invalid=True)
    return render(request, "set_password.html", token=token, email=user.email, invalid=False)


@router.post("/set-password", dependencies=CSRF)
def set_password(
    request: Request,
    session: SessionDep,
    state: StateDep,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
    password_confirm: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
) -> Response:
    try:
        user = passwords.set_password_with_token(session, token, password, password_confirm)
    except FieldValidationError as exc:
        owner = passwords.user_for_token(session, token)
        return render(
            request, "set_password.html", status_code=422, token=token, invalid=owner is None,
            email=owner.email if owner else "", error=exc.message,
        )  # fmt: skip
    if user is None:
        return render(request, "set_password.html", status_code=410, token="", invalid=True)
    state.sign_in(user.id, user.session_version)
    return redirect(request, "/dashboard/results", "Your password is set; you are signed in.")
