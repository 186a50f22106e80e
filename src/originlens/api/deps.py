"""Request dependencies: the unit of work, the caller, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from originlens.api.errors import TooManyAttemptsError
from originlens.api.ratelimit import RateLimiter
from originlens.container import Container
from originlens.errors import ForbiddenError, UnauthorizedError
from originlens.services import keys as keys_service
from originlens.services import permissions
from originlens.store.db import commit, rollback
from originlens.store.models import User


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request owns the transaction: commit when the handler returns, before the response.

    Async so that it costs no threadpool hop: opening a session does no I/O, and the
    commit of a short transaction is quick. Handlers that do slow work (reading uploads,
    fetching URLs, writing blobs) are sync and run in the threadpool; read handlers are
    async and do their few indexed queries inline.
    """
    container: Container = request.app.state.container
    session = container.sessions()
    try:
        yield session
        commit(session)
    except BaseException:
        rollback(session)
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ContainerDep = Annotated[Container, Depends(get_container)]


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
