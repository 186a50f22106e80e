"""Dashboard passwords: argon2id hashes, one-time set-password links, sign-in checks.

API keys stay the way programs authenticate; a password only opens the dashboard. Links are
random tokens of which only the SHA-256 is stored (a database leak does not hand out links),
single-use and short-lived. Never commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from originlens.errors import FieldValidationError
from originlens.services.users import find_by_email
from originlens.store.models import PasswordToken, User, utcnow

LINK_LIFETIME = timedelta(hours=72)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
"""Long enough for any passphrase, short enough that hashing cannot be used to burn CPU."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
"""Verified against when the e-mail is unknown, so both failures cost the same time."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str, confirm: str | None = None) -> None:
    """Refuse passwords too short to resist guessing (field errors name ``password``)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldValidationError("password", f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise FieldValidationError("password", f"The password may have at most {MAX_PASSWORD_LENGTH} characters.")
    if confirm is not None and confirm != password:
        raise FieldValidationError("password_confirm", "The two passwords differ.")


def set_password(session: Session, user: User, password: str) -> None:
    """Set (or change) the password; every existing dashboard session of the user ends."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.session_version = (user.session_version or 0) + 1
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user.id, PasswordToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is the user's. Unknown users and users without a password cost
    one argon2 verification too, so timing does not tell which e-mails have accounts."""
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def needs_rehash(user: User) -> bool:
    return user.password_hash is not None and _hasher.check_needs_rehash(user.password_hash)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or ``None`` (whichever part was wrong)."""
    user = find_by_email(session, email)
    if not verify_password(user, password):
        return None
    assert user is not None
    if needs_rehash(user):
        user.password_hash = hash_password(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_password_token(session: Session, user: User, lifetime: timedelta = LINK_LIFETIME) -> str:
    """A new one-time token for ``user`` (returned in clear, stored hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(PasswordToken(user_id=user.id, digest=_digest(token), expires_at=utcnow() + lifetime))
    session.flush()
    return token


def password_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/dashboard/set-password?token={quote(token)}"


def issue_password_link(session: Session, user: User, public_url: str, lifetime: timedelta = LINK_LIFETIME) -> str:
    """The link for the creation e-mail (or ``originlens users set-password``): single-use, expiring."""
    return password_link(public_url, issue_password_token(session, user, lifetime))


def user_for_token(session: Session, token: str) -> User | None:
    """The user a live (unused, unexpired) token belongs to, without consuming it."""
    row = session.scalar(
        select(PasswordToken).where(
            PasswordToken.digest == _digest(token),
            PasswordToken.used_at.is_(None),
            PasswordToken.expires_at > utcnow(),
        )
    )
    return session.get(User, row.user_id) if row is not None else None


def set_password_with_token(session: Session, token: str, password: str, confirm: str | None = None) -> User | None:
    """Consume ``token`` and set the password; ``None`` when the link is unknown, used or expired.

    The token is marked used by a conditional UPDATE, so two concurrent uses cannot both win.
    """
    check_password_rules(password, confirm)
    user = user_for_token(session, token)
    if user is None:
        return None
    taken = session.execute(
        update(PasswordToken)
        .where(PasswordToken.digest == _digest(token), PasswordToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    set_password(session, user, password)
    return user
