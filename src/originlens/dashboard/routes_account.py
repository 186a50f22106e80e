"""The account page (keys, webhook secret, heuristic, credits, password, terms) and the
partner pages (their users and the pricing plans)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from originlens.dashboard.core import CSRF, DashboardRoute, StateDep, UserDep, redirect, render
from originlens.errors import FieldValidationError
from originlens.services import keys as keys_service
from originlens.services import mail, passwords
from originlens.services import users as users_service
from originlens.store.models import User
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC, HEURISTICS
from originlens.web.deps import ContainerDep, SessionDep
from originlens.web.params import IdForm, IdPath, IdQuery, PageQuery
from originlens.webhooks.signing import generate_secret

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)


def _account_page(
    request: Request, session: Any, container: Any, user: User, new_key: str | None, new_key_readonly: bool = False
) -> Response:
    keys = [k for k in keys_service.list_keys(session, user) if k.revoked_at is None]
    statistical = [d for d in container.registry if d.kind == "statistical"]
    pixel = [d for d in statistical if "image" in d.modalities]  # recordings have their own models
    pixel_models = [d.name for d in pixel if d.votes]
    indicators = [d.name for d in pixel if not d.votes]
    voice_models = [d.name for d in statistical if "audio" in d.modalities and d.votes]
    return render(
        request, "account.html", user=user, keys=keys, heuristics=HEURISTICS, new_key=new_key,
        new_key_readonly=new_key_readonly, pixel_models=pixel_models, indicators=indicators,
        voice_models=voice_models,
    )  # fmt: skip


@router.get("/account")
async def account(request: Request, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    return _account_page(request, session, container, user, None)


@router.post("/account/keys/rotate", dependencies=CSRF)
def rotate_keys(request: Request, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    """Revoke every key and show the new one on this response only (it is never stored in clear)."""
    new_key = keys_service.rotate_keys(session, user, container.secret_key)
    return _account_page(request, session, container, user, new_key)


@router.post("/account/keys/readonly", dependencies=CSRF)
def create_readonly_key(request: Request, session: SessionDep, container: ContainerDep, user: UserDep) -> Response:
    """A key that can only read (``services.permissions``), shown once; the other keys keep working."""
    new_key = keys_service.create_key(session, user, container.secret_key, readonly=True)
    return _account_page(request, session, container, user, new_key, new_key_readonly=True)


@router.post("/account/webhook-secret", dependencies=CSRF)
def rotate_webhook_secret(request: Request, user: UserDep) -> Response:
    user.webhook_secret = generate_secret()
    return redirect(request, "/dashboard/account", "A new webhook secret is in use; update your receivers.")


@router.post("/account/heuristic", dependencies=CSRF)
def change_heuristic(request: Request, user: UserDep, heuristic: Annotated[str, Form()]) -> Response:
    if heuristic not in HEURISTICS:
        raise FieldValidationError("heuristic", f"The heuristic must be one of: {', '.join(HEURISTICS)}.")
    user.heuristic = heuristic
    return redirect(request, "/dashboard/account", f"Your verdicts now use the {heuristic} heuristic.")


@router.post("/account/terms", dependencies=CSRF)
def accept_terms(request: Request, user: UserDep) -> Response:
    users_service.accept_terms(user)
    return redirect(request, "/dashboard/upload", "Terms accepted; you can submit media.")


@router.post("/account/password", dependencies=CSRF)
def change_password(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: UserDep,
    current: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
    password: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
    password_confirm: Annotated[str, Form(max_length=passwords.MAX_PASSWORD_LENGTH)],
) -> Response:
    """Other sessions end (the version in their cookies is stale); this one is renewed."""
    if not passwords.verify_password(user, current):
        raise FieldValidationError("current", "The current password is wrong.")
    passwords.check_password_rules(password, password_confirm)
    passwords.set_password(session, user, password)
    state.sign_in(user.id, user.session_version)
    return redirect(request, "/dashboard/account", "Password changed; your other sessions are signed out.")


# ------------------------------------------------------------------------------------ partners


@router.get("/partner/users")
async def partner_users(
    request: Request,
    session: SessionDep,
    user: UserDep,
    search: Annotated[str, Query(max_length=200)] = "",
    page: PageQuery = 1,
    edit: IdQuery = None,
) -> Response:
    found = users_service.search_managed_users(session, user, search=search or None, per_page=25, page=page)
    editing = users_service.get_managed_user(session, user, edit) if edit is not None else None
    return render(
        request, "partner_users.html", user=user, found=found, search=search, editing=editing,
        heuristics=HEURISTICS, pricings=users_service.list_pricings(session), default_heuristic=DEFAULT_HEURISTIC,
    )  # fmt: skip


@router.post("/partner/users", dependencies=CSRF)
def partner_upsert_user(
    request: Request,
    session: SessionDep,
    user: UserDep,
    name: Annotated[str, Form(max_length=200)],
    email: Annotated[str, Form(max_length=320)],
    heuristic: Annotated[str, Form()],
    id: IdForm = None,
    pricing_id: IdForm = None,
    readonly: Annotated[bool, Form()] = False,
    save_files: Annotated[bool, Form()] = False,
    balance: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """Create or update one of the partner's users, with the service ``POST /api/partner/user`` uses."""
    try:
        amount = float(balance) if balance.strip() else None
    except ValueError as exc:
        raise FieldValidationError("balance", "The balance must be a number (empty: unlimited).") from exc
    if amount is not None and amount < 0:
        raise FieldValidationError("balance", "The balance must be at least 0.")
    fields = users_service.UserFields(
        name=name, email=email, heuristic=heuristic, pricing_id=pricing_id, readonly=readonly,
        save_files=save_files, balance=amount,
    )  # fmt: skip
    saved = users_service.upsert_managed_user(session, user, id, fields)
    if id is not None and amount is None:
        saved.balance = None  # the form's empty balance means unlimited
    verb = "updated" if id is not None else "created"
    return redirect(request, "/dashboard/partner/users", f"User {saved.email} {verb}.")


@router.post("/partner/users/{user_id}/send-email", dependencies=CSRF)
def partner_send_email(
    request: Request, user_id: IdPath, session: SessionDep, container: ContainerDep, user: UserDep
) -> Response:
    """The creation e-mail (a new API key and a set-password link), as the API sends it."""
    managed = users_service.get_managed_user(session, user, user_id)
    api_key = keys_service.create_key(session, managed, container.secret_key)
    public_url = container.settings.public_url
    link = passwords.issue_password_link(session, managed, public_url)
    subject, text = mail.creation_email(managed.name, public_url, api_key, link)
    mail.send(container.smtp, managed.email, subject, text)
    return redirect(request, "/dashboard/partner/users", f"The creation e-mail was sent to {managed.email}.")


@router.get("/partner/pricings")
async def partner_pricings(request: Request, session: SessionDep, user: UserDep) -> Response:
    users_service.require_partner(user)
    return render(request, "partner_pricings.html", user=user, pricings=users_service.list_pricings(session))
