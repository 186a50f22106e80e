"""Request dependencies: the unit of work, the caller, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from originlens.api.errors import TooManyAttemptsError
from originlens.api.ratelimit import RateLimiter
from originlens.container import Container
from originlens.errors import ForbiddenError, UnauthorizedError
from originlens.services import keys as keys_service
from originlens.services import permissions
from originlens.store.models import User
from originlens.web.deps import ContainerDep, SessionDep

__all__ = ["ContainerDep", "SessionDep", "UserAnyTermsDep", "UserDep"]


def _authenticate(request: Request, session: Session, require_terms: bool) -> User:
    container: Container = request.app.state.container
    api_key = request.headers.get("x-api-key")
    if not api_key:
        raise UnauthorizedError()
    key_digest = keys_service.digest(container.secret_key, api_key)  # once: it finds the user and keys the limits
    found = keys_service.caller_for_digest(session, key_digest)
    if found is None:
        raise UnauthorizedError()
    user, readonly = found
    limiter: RateLimiter = request.app.state.limiter
    decision = limiter.hit(f"key:{key_digest[:32]}", write=request.method != "GET")
    if not decision.allowed:
        raise TooManyAttemptsError(decision.retry_after_s)
    permissions.check_method(request.method, readonly=readonly)  # the one permission check
    if require_terms and user.terms_accepted_at is None:
        raise ForbiddenError("Accept the terms of service first: POST /api/user/accept_terms.")
    return user


async def current_user(request: Request, session: SessionDep) -> User:
    return _authenticate(request, session, require_terms=True)


async def current_user_any_terms(request: Request, session: SessionDep) -> User:
    return _authenticate(request, session, require_terms=False)


UserDep = Annotated[User, Depends(current_user)]
"""The caller; a read-only one is refused here for anything but reads, before any upload or fetch."""
UserAnyTermsDep = Annotated[User, Depends(current_user_any_terms)]
