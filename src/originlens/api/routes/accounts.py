"""User, partner and credits endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response

from originlens.api import schemas
from originlens.api.deps import ContainerDep, SessionDep, UserAnyTermsDep, UserDep
from originlens.services import keys as keys_service
from originlens.services import mail
from originlens.services import passwords as passwords_service
from originlens.services import users as service
from originlens.store.models import Pricing, User
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC
from originlens.web.params import BalanceForm, IdForm, IdQuery, OptionalPerPageQuery, PageQuery, RequiredIdForm
from originlens.webhooks.signing import generate_secret

router = APIRouter(prefix="/api", tags=["User", "Partner"], responses=schemas.KEYED)


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


def pricing_json(plan: Pricing | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    return {
        "id": plan.id,
        "name": plan.name,
        "sku": plan.sku,
        "image_cost": plan.image_cost,
        "option_cost": plan.option_cost,
    }


def user_json(user: User, depth: int = 1) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "email_verified_at": _iso(user.email_verified_at),
        "address": user.address,
        "zip": user.zip,
        "city": user.city,
        "country": user.country,
        "phone": user.phone,
        "contact": user.contact,
        "vat": user.vat,
        "created_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
        "balance": user.balance,
        "heuristic": user.heuristic,
        "readonly": user.readonly,
        "is_partner": user.is_partner,
        "terms_accepted": user.terms_accepted_at is not None,
        "pricing": pricing_json(user.pricing),
        "partner": user_json(user.partner, depth - 1) if user.partner is not None and depth > 0 else None,
    }


UserForm = Annotated[str, Form()]


def _fields(
    name: str,
    email: str,
    heuristic: str,
    pricing_id: int | None,
    readonly: bool | None,
    newsletter: bool | None,
    save_files: bool | None,
    balance: float | None,
) -> service.UserFields:
    return service.UserFields(
        name=name,
        email=email,
        heuristic=heuristic,
        pricing_id=pricing_id,
        readonly=readonly,
        newsletter=newsletter,
        save_files=save_files,
        balance=balance,
    )


@router.post(
    "/partner/user",
    summary="Create or update a user of your partnership",
    **schemas.ok(schemas.UserEnvelope, 404),
)
def partner_upsert_user(
    session: SessionDep,
    partner: UserDep,
    name: UserForm,
    email: UserForm,
    heuristic: UserForm,
    id: IdForm = None,
    pricing_id: IdForm = None,
    password: Annotated[str | None, Form()] = None,
    readonly: Annotated[bool | None, Form()] = None,
    newsletter: Annotated[bool | None, Form()] = None,
    save_files: Annotated[bool | None, Form()] = None,
    balance: BalanceForm = None,
) -> dict[str, Any]:
    del password  # accepted for compatibility; originlens authenticates with API keys only
    user = service.upsert_managed_user(
        session, partner, id, _fields(name, email, heuristic, pricing_id, readonly, newsletter, save_files, balance)
    )
    return {"data": user_json(user)}


@router.get("/partner/users", summary="Search the users of your partnership", **schemas.ok(schemas.UserPage))
async def partner_users(
    session: SessionDep,
    partner: UserDep,
    search: str | None = None,
    pricing_id: IdQuery = None,
    order: str = "id",
    direction: str = "asc",
    per_page: OptionalPerPageQuery = None,
    page: PageQuery = 1,
) -> dict[str, Any]:
    result = service.search_managed_users(
        session,
        partner,
        search=search,
        pricing_id=pricing_id,
        order=order,
        direction=direction,
        per_page=per_page,
        page=page,
    )
    first = (result.current_page - 1) * result.per_page + 1 if result.items else None
    next_url = None
    if per_page and result.current_page < result.last_page:
        next_url = f"/api/partner/users?page={result.current_page + 1}&per_page={per_page}"
    return {
        "current_page": result.current_page,
        "data": [user_json(u) for u in result.items],
        "from": first,
        "last_page": result.last_page,
        "next_page_url": next_url,
        "per_page": result.per_page,
        "to": first + len(result.items) - 1 if first else None,
        "total": result.total,
    }


@router.post(
    "/partner/send_creation_email",
    summary="E-mail a user a new API key and a dashboard password link",
    **schemas.ok(schemas.UserEnvelope, 404, 502, 503),
)
def partner_send_creation_email(
    session: SessionDep, container: ContainerDep, partner: UserDep, id: RequiredIdForm
) -> dict[str, Any]:
    user = service.get_managed_user(session, partner, id)
    api_key = keys_service.create_key(session, user, container.secret_key)
    public_url = container.settings.public_url
    link = passwords_service.issue_password_link(session, user, public_url)
    subject, text = mail.creation_email(user.name, public_url, api_key, link)
    mail.send(container.smtp, user.email, subject, text)  # a failure rolls the new key and link back
    return {"data": user_json(user)}


@router.get("/partner/pricings", summary="List pricing plans", **schemas.ok(list[schemas.Pricing]))
async def partner_pricings(session: SessionDep, partner: UserDep) -> list[dict[str, Any] | None]:
    service.require_partner(partner)
    return [pricing_json(p) for p in service.list_pricings(session)]


@router.post(
    "/user",
    summary="Create a user of your partnership and get its first API key",
    **schemas.ok(schemas.CreatedUser),
)
def create_user(
    session: SessionDep,
    container: ContainerDep,
    partner: UserDep,
    name: UserForm,
    email: UserForm,
    heuristic: Annotated[str, Form()] = DEFAULT_HEURISTIC,
    pricing_id: IdForm = None,
    readonly: Annotated[bool | None, Form()] = None,
    newsletter: Annotated[bool | None, Form()] = None,
    save_files: Annotated[bool | None, Form()] = None,
    balance: BalanceForm = None,
) -> dict[str, Any]:
    user = service.upsert_managed_user(
        session,
        partner,
        None,
        _fields(name, email, heuristic, pricing_id, readonly, newsletter, save_files, balance),
    )
    api_key = keys_service.create_key(session, user, container.secret_key)
    return {"data": user_json(user), "api_key": api_key}


@router.delete(
    "/user",
    summary="Delete your own account, or (partners) one of your users",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Deleted, with everything it owned"}, **schemas.errors(404, 409)},
)
def delete_user(
    session: SessionDep,
    container: ContainerDep,
    caller: UserAnyTermsDep,
    id: IdQuery = None,
) -> Response:
    target = caller if id is None or id == caller.id else service.get_managed_user(session, caller, id)
    service.delete_user(session, target, container.blobs)
    return Response(status_code=204)


@router.get(
    "/user", summary="Your own profile, with the secret that signs your webhooks", **schemas.ok(schemas.MeEnvelope)
)
async def get_me(caller: UserAnyTermsDep) -> dict[str, Any]:
    return {"data": {**user_json(caller), "webhook_secret": caller.webhook_secret}}


@router.post(
    "/user/webhook_secret",
    summary="Replace the secret that signs your webhooks",
    **schemas.ok(schemas.MeEnvelope),
)
def rotate_webhook_secret(caller: UserDep) -> dict[str, Any]:
    caller.webhook_secret = generate_secret()
    return {"data": {**user_json(caller), "webhook_secret": caller.webhook_secret}}


@router.post("/user/accept_terms", summary="Accept the terms of service", **schemas.ok(schemas.UserEnvelope))
def accept_terms(caller: UserAnyTermsDep) -> dict[str, Any]:
    service.accept_terms(caller)
    return {"data": user_json(caller)}


@router.get("/user/credits", summary="Your credits", **schemas.ok(schemas.Credits))
async def credits(caller: UserDep) -> dict[str, Any]:
    return {"available_credits": caller.balance, "total_spent": caller.total_spent}
