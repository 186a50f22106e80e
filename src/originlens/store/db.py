"""Engine and session factory; migrations are applied with Alembic at start-up."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    kwargs: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}  # a local file needs no ping
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the owner of ``session`` commits (e.g. enqueue a job).

    Services call this instead of acting immediately, so that nothing outside the
    database (a queue, a webhook) ever sees a row that could still be rolled back.
    """
    session.info.setdefault("after_commit", []).append(callback)


def commit(session: Session) -> None:
    """Commit and then run the callbacks registered with :func:`after_commit`.

    A failing callback is logged, not raised: the work is committed and whatever the
    callback did not do (send a job to a broker that is down) is redone by the job sweeper.
    """
    session.commit()
    session.info.pop("after_rollback", None)
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit step failed; the committed work is recovered later")


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` if the owner of ``session`` rolls back instead of committing (e.g.
    delete a file written for a row that will never exist)."""
    session.info.setdefault("after_rollback", []).append(callback)


def rollback(session: Session) -> None:
    """Roll back, forget the after-commit steps and run the after-rollback ones."""
    session.rollback()
    session.info.pop("after_commit", None)
    for callback in session.info.pop("after_rollback", []):
        try:
            callback()
        except Exception:
            log.exception("an after-rollback step failed")


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction owned by the caller (a task or a request): commit on success."""
    session = factory()
    try:
        yield session
        commit(session)
    except BaseException:
        rollback(session)
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Bring the database schema up to date with Alembic.

    Safe when several processes start at once: PostgreSQL migrations take an advisory lock
    (in ``migrations/env.py``), SQLite ones a file lock beside the database.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if not path or path == ":memory:":
        command.upgrade(config, "head")
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(config, "head")
