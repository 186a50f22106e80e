"""Request dependencies the API and the dashboard share: the container and the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from originlens.container import Container
from originlens.store.db import unit_of_work


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
    with unit_of_work(container.sessions) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ContainerDep = Annotated[Container, Depends(get_container)]
