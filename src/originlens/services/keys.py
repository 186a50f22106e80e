"""API keys: shown once, stored only as an HMAC keyed with the server secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from originlens.store.models import ApiKey, User, utcnow

KEY_PREFIX = "ol_"


def digest(secret_key: str, api_key: str) -> str:
    return hmac.new(secret_key.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def create_key(session: Session, user: User, secret_key: str, *, readonly: bool = False) -> str:
    """Create a key for ``user`` and return it in clear: the only time it is ever visible."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(user_id=user.id, prefix=plain[:10], digest=digest(secret_key, plain), readonly=readonly))
    session.flush()
    return plain


def rotate_keys(session: Session, user: User, secret_key: str) -> str:
    """Revoke every live key of ``user`` and issue a new one."""
    session.execute(
        update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return create_key(session, user, secret_key)


# Built once: authentication runs on every request, and a prebuilt statement's cache key is memoized.
_USER_BY_KEY_DIGEST = (
    select(User, ApiKey.readonly)
    .join(ApiKey, ApiKey.user_id == User.id)
    .where(ApiKey.digest == bindparam("digest"), ApiKey.revoked_at.is_(None))
)


def authenticate(session: Session, secret_key: str, api_key: str | None) -> User | None:
    if not api_key:
        return None
    found = caller_for_digest(session, digest(secret_key, api_key))
    return found[0] if found else None


def caller_for_digest(session: Session, key_digest: str) -> tuple[User, bool] | None:
    """The live key's owner and whether the caller may only read (the key or the account is
    read-only), for callers that already hold the digest (it also keys rate limits)."""
    row = session.execute(_USER_BY_KEY_DIGEST, {"digest": key_digest}).one_or_none()
    if row is None:
        return None
    user, key_readonly = row
    return user, bool(key_readonly or user.readonly)


def list_keys(session: Session, user: User) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id)))
