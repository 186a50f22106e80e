"""Accounts: users, partners (who manage their own users), pricing plans and credits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload

from originlens.errors import (
    ConflictError,
    FieldValidationError,
    ForbiddenError,
    InsufficientCreditsError,
    NotFoundError,
)
from originlens.services.emails import lookup_email, normalise_email
from originlens.storage import BlobStore
from originlens.store.db import after_commit
from originlens.store.models import Analysis, Pricing, User, utcnow
from originlens.verdicts.heuristics import HEURISTICS
from originlens.webhooks.signing import generate_secret

DEFAULT_PRICING_SKU = "standard"
USER_ORDER_FIELDS = ("id", "name", "email", "created_at", "updated_at", "balance")
OPTION_FIELDS = ("with_heatmap", "with_morphing", "with_tampering", "with_nsfw")


def ensure_default_pricing(session: Session) -> Pricing:
    """The plan new users get unless told otherwise: 1 credit an image, 1 per extra analysis."""
    plan = session.scalar(select(Pricing).where(Pricing.sku == DEFAULT_PRICING_SKU))
    if plan is None:
        plan = Pricing(name="Standard", sku=DEFAULT_PRICING_SKU, image_cost=1.0, option_cost=1.0)
        session.add(plan)
        session.flush()
    return plan


def list_pricings(session: Session) -> list[Pricing]:
    return list(session.scalars(select(Pricing).order_by(Pricing.id)))


@dataclass
class UserFields:
    """What a partner (or the operator) may set on a user."""

    name: str
    email: str
    heuristic: str
    pricing_id: int | None = None
    readonly: bool | None = None
    newsletter: bool | None = None
    save_files: bool | None = None
    balance: float | None = None
    is_partner: bool | None = None


def find_by_email(session: Session, email: str) -> User | None:
    """The account with this address (any case, surrounding whitespace ignored), if any."""
    stored = lookup_email(email)
    if stored is None:
        return None
    return session.scalar(select(User).where(func.lower(User.email) == stored))


def _email_taken(clash: User, partner_id: int | None) -> FieldValidationError:
    """A partner learns that one of its own users has the address; of anyone else's account it
    learns nothing but that the address cannot be used."""
    if partner_id is not None and clash.partner_id == partner_id:
        return FieldValidationError("email", f"The email is already used by your user {clash.id}.")
    return FieldValidationError("email", "This email address cannot be used; choose another one.")


def _validate(session: Session, fields: UserFields, existing: User | None, partner_id: int | None) -> Pricing:
    if not fields.name.strip():
        raise FieldValidationError("name", "The name field is required.")
    fields.email = normalise_email(fields.email)
    if fields.heuristic not in HEURISTICS:
        raise FieldValidationError("heuristic", f"The heuristic must be one of: {', '.join(HEURISTICS)}.")
    clash = find_by_email(session, fields.email)
    if clash is not None and (existing is None or clash.id != existing.id):
        raise _email_taken(clash, partner_id)
    if fields.pricing_id is None:
        return ensure_default_pricing(session)
    plan = session.get(Pricing, fields.pricing_id)
    if plan is None:
        raise FieldValidationError("pricing_id", f"The selected pricing_id {fields.pricing_id} is invalid.")
    return plan


def create_user(
    session: Session, fields: UserFields, *, partner: User | None = None, accept_terms: bool = False
) -> User:
    plan = _validate(session, fields, None, partner.id if partner else None)
    user = User(
        name=fields.name.strip(),
        email=fields.email,
        heuristic=fields.heuristic,
        pricing_id=plan.id,
        readonly=bool(fields.readonly),
        newsletter=bool(fields.newsletter),
        save_files=True if fields.save_files is None else fields.save_files,
        balance=fields.balance,
        is_partner=bool(fields.is_partner),
        partner_id=partner.id if partner else None,
        webhook_secret=generate_secret(),
        terms_accepted_at=utcnow() if accept_terms else None,
    )
    session.add(user)
    _flush_unique_email(session, fields.email, partner.id if partner else None)
    session.refresh(user)
    return user


def _flush_unique_email(session: Session, email: str, partner_id: int | None) -> None:
    """Flush; a concurrent request that took the same address first is the same 422 as a clash
    seen by the check (the unique index on the normalised address decides)."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        clash = find_by_email(session, email)
        if clash is None:
            raise
        raise _email_taken(clash, partner_id) from exc


def update_user(session: Session, user: User, fields: UserFields) -> User:
    plan = _validate(session, fields, user, user.partner_id)
    user.name = fields.name.strip()
    user.email = fields.email
    user.heuristic = fields.heuristic
    user.pricing_id = plan.id
    for attr in ("readonly", "newsletter", "save_files", "balance"):
        value = getattr(fields, attr)
        if value is not None:
            setattr(user, attr, value)
    user.updated_at = utcnow()
    _flush_unique_email(session, fields.email, user.partner_id)
    session.refresh(user)
    return user


def require_partner(user: User) -> None:
    if not user.is_partner:
        raise ForbiddenError()


def get_managed_user(session: Session, partner: User, user_id: int) -> User:
    """A user of this partner's partnership; anyone else's users do not exist for it."""
    require_partner(partner)
    user = session.get(User, user_id)
    if user is None or user.partner_id != partner.id:
        raise NotFoundError(f"No user {user_id} in your partnership.")
    return user


def upsert_managed_user(session: Session, partner: User, user_id: int | None, fields: UserFields) -> User:
    require_partner(partner)
    if user_id is None:
        fields.is_partner = False
        return create_user(session, fields, partner=partner)
    return update_user(session, get_managed_user(session, partner, user_id), fields)


@dataclass
class Page:
    items: list[User]
    total: int
    per_page: int
    current_page: int

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1


def search_managed_users(
    session: Session,
    partner: User,
    *,
    search: str | None = None,
    pricing_id: int | None = None,
    order: str = "id",
    direction: str = "asc",
    per_page: int | None = None,
    page: int = 1,
) -> Page:
    require_partner(partner)
    if order not in USER_ORDER_FIELDS:
        raise FieldValidationError("order", f"The order must be one of: {', '.join(USER_ORDER_FIELDS)}.")
    if direction not in ("asc", "desc"):
        raise FieldValidationError("direction", "The direction must be asc or desc.")
    query = select(User).where(User.partner_id == partner.id)
    if search:
        like = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), func.lower(User.email).like(like)))
    if pricing_id is not None:
        query = query.where(User.pricing_id == pricing_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    column = getattr(User, order)
    query = query.order_by(column.desc() if direction == "desc" else column.asc(), User.id.asc())
    if per_page:
        query = query.offset((page - 1) * per_page).limit(per_page)
    items = list(session.scalars(query.options(selectinload(User.pricing), selectinload(User.partner))))
    return Page(items=items, total=total, per_page=per_page or max(total, 1), current_page=page if per_page else 1)


def delete_user(session: Session, user: User, blobs: BlobStore) -> None:
    """Delete an account and everything it owns: rows (classifications, analyses, overrides,
    keys) now, and the stored media, heatmap and tampering files once the deletion is committed."""
    has_users = session.scalar(select(func.count()).select_from(User).where(User.partner_id == user.id))
    if has_users:
        raise ConflictError(f"This partner still manages {has_users} user(s); delete or move them first.")
    files: list[str] = []
    for media_key, *map_keys in session.execute(
        select(Analysis.blob_key, Analysis.heatmap_blob_key, Analysis.tampering_blob_key).where(
            Analysis.user_id == user.id
        )
    ):
        files += [media_key] if media_key else []
        for map_key in filter(None, map_keys):  # each map PNG has its raw grid beside it
            files += [map_key, map_key.removesuffix(".png") + ".json"]
    session.delete(user)
    session.flush()

    def remove_files() -> None:
        for key in files:
            blobs.delete(key)

    after_commit(session, remove_files)


def accept_terms(user: User) -> None:
    if user.terms_accepted_at is None:
        user.terms_accepted_at = utcnow()


def analysis_cost(user: User, options: dict[str, Any]) -> float:
    """Credits one new analysis costs this user, by pricing plan and options asked for."""
    plan = user.pricing
    if plan is None:
        return 1.0
    extras = sum(1 for name in OPTION_FIELDS if options.get(name))
    return plan.image_cost + plan.option_cost * extras


def option_cost(user: User) -> float:
    """What one extra analysis (``with_heatmap``, ...) costs this user."""
    return user.pricing.option_cost if user.pricing is not None else 0.0


def check_affordable(user: User, amount: float) -> None:
    """Refuse early (no lock taken) when the balance clearly cannot pay; :func:`charge` decides."""
    if amount > 0 and user.balance is not None and user.balance < amount:
        raise InsufficientCreditsError(f"This analysis costs {amount:g} credits and {user.balance:g} are available.")


def charge(user: User, amount: float) -> None:
    """Take credits; a ``None`` balance means unlimited and is only counted.

    One conditional UPDATE, not read-modify-write: concurrent submissions of one user in
    several API processes can never spend the same credit twice (PostgreSQL holds the row
    lock until the caller commits; SQLite has one writer at a time).
    """
    if amount <= 0:
        return
    session = object_session(user)
    assert session is not None
    taken = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.balance.is_(None), User.balance >= amount))
        .values(balance=User.balance - amount, total_spent=User.total_spent + amount)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["balance", "total_spent"])
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientCreditsError(
            f"This analysis costs {amount:g} credits and {user.balance or 0:g} are available."
        )


def refund(user: User, amount: float) -> None:
    """Give credits back (one conditional UPDATE, like :func:`charge`)."""
    if amount <= 0:
        return
    session = object_session(user)
    assert session is not None
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            balance=User.balance + amount,
            total_spent=case((User.total_spent > amount, User.total_spent - amount), else_=0.0),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["balance", "total_spent"])
