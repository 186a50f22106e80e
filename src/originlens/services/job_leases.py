"""Who holds a running job, for how long, and what happens to jobs nobody holds.

The ``analyses`` row is the job; queues only carry its id, and may lose it or deliver it
twice (a broker restarted without persistence, a Celery redelivery after a worker died).
So correctness lives here, in the database, the same for every queue backend:

- A worker **claims** a job with one conditional UPDATE (``new`` → ``running``) that writes
  a claim token (``host:pid:boot:nonce``) and a **lease**. While it works, a
  :class:`LeaseKeeper` thread extends the lease. Every later write of the job first checks,
  with another conditional UPDATE (:func:`hold`), that the claim is still this worker's, so
  a job that was taken over is never finished twice (no double webhook, no double refund).
- A ``running`` job whose lease has passed is presumed abandoned (its worker was killed or
  lost the database) and goes back to ``new`` (:func:`requeue_expired`); a process starting
  on the same host gives back at once the jobs of dead processes (:func:`release_dead_claims`).
- A ``new`` job that no queue seems to hold is sent again (:func:`stale_new`): when the
  queue is empty and the job was last sent long ago, or when the broker lost its data.
  A duplicate message is harmless: only one claim can succeed.

:class:`JobSweeper` runs those checks periodically in every API and worker process.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from types import TracebackType

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from originlens.services.background import BackgroundLoop
from originlens.store.db import unit_of_work
from originlens.store.models import Analysis, utcnow

log = logging.getLogger(__name__)


@cache
def _boot_token(pid: int) -> str:
    """A random token per process (keyed by pid, so a forked child gets its own)."""
    return secrets.token_hex(4)


def new_claim() -> str:
    """A claim token naming this process, unique to one claim."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_boot_token(pid)}:{secrets.token_hex(4)}"


def claim_is_dead(claimed_by: str | None) -> bool:
    """Whether the claim certainly belongs to a process that no longer runs.

    Only claims made on this host can be judged (by pid, and by boot token for our own pid,
    which a restarted container may reuse); any other claim waits for its lease to pass.
    """
    if not claimed_by:
        return True  # rows claimed before leases existed
    try:
        host, pid_text, boot, _nonce = claimed_by.rsplit(":", 3)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return boot != _boot_token(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by someone else
    return False


def claim(session: Session, analysis_id: int, token: str, lease_s: float, max_attempts: int) -> bool:
    """Take the job if it is ``new`` and has attempts left; atomic on SQLite and PostgreSQL."""
    now = utcnow()
    taken = session.execute(
        update(Analysis)
        .where(Analysis.id == analysis_id, Analysis.state == "new", Analysis.attempts < max_attempts)
        .values(
            state="running",
            attempts=Analysis.attempts + 1,
            started_at=now,
            claimed_by=token,
            lease_until=now + timedelta(seconds=lease_s),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def hold(session: Session, analysis_id: int, token: str | None, lease_s: float) -> Analysis | None:
    """The job's row if this worker still holds it (its lease extended), else ``None``.

    The conditional UPDATE takes the row's write lock first, so between this call and the
    commit nobody can requeue or finish the job; with ``token=None`` (no claim to check) it
    simply loads the row.
    """
    if token is not None:
        extended = session.execute(
            update(Analysis)
            .where(Analysis.id == analysis_id, Analysis.state == "running", Analysis.claimed_by == token)
            .values(lease_until=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        if extended.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("analysis %s: this worker no longer holds the job; its result is dropped", analysis_id)
            return None
    return session.get(Analysis, analysis_id, populate_existing=True)


def release_dead_claims(session: Session) -> int:
    """Put back to ``new`` the running jobs of processes on this host that have died."""
    running = session.execute(select(Analysis.id, Analysis.claimed_by).where(Analysis.state == "running")).all()
    released = 0
    for analysis_id, claimed_by in running:
        if claim_is_dead(claimed_by):
            released += _release(session, analysis_id, claimed_by)
    return released


def requeue_expired(session: Session, now: datetime | None = None) -> list[int]:
    """Put back to ``new`` every running job whose lease has passed; returns their ids."""
    now = now or utcnow()
    expired = session.execute(
        select(Analysis.id, Analysis.claimed_by).where(
            Analysis.state == "running", or_(Analysis.lease_until.is_(None), Analysis.lease_until < now)
        )
    ).all()
    return [analysis_id for analysis_id, claimed_by in expired if _release(session, analysis_id, claimed_by)]


def _release(session: Session, analysis_id: int, claimed_by: str | None) -> int:
    released = session.execute(
        update(Analysis)
        .where(
            Analysis.id == analysis_id,
            Analysis.state == "running",
            Analysis.claimed_by.is_(None) if claimed_by is None else Analysis.claimed_by == claimed_by,
        )
        .values(state="new", claimed_by=None, lease_until=None, enqueued_at=None)
        .execution_options(synchronize_session=False)
    )
    if released.rowcount == 1:  # type: ignore[attr-defined]
        log.warning("analysis %s: its worker (%s) is gone; the job goes back to the queue", analysis_id, claimed_by)
        return 1
    return 0


def stale_new(session: Session, sent_before: datetime | None) -> list[int]:
    """``new`` jobs last sent to a queue before ``sent_before`` (``None``: all of them),
    marked as sent now; the caller sends them after commit."""
    query = select(Analysis.id).where(Analysis.state == "new")
    if sent_before is not None:
        query = query.where(or_(Analysis.enqueued_at.is_(None), Analysis.enqueued_at < sent_before))
    ids = list(session.scalars(query.order_by(Analysis.id)))
    if ids:
        session.execute(
            update(Analysis)
            .where(Analysis.id.in_(ids), Analysis.state == "new")
            .values(enqueued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids


class LeaseKeeper:
    """Extends a job's lease every third of the lease while the job runs (a daemon thread)."""

    def __init__(self, sessions: sessionmaker[Session], analysis_id: int, token: str, lease_s: float) -> None:
        self.sessions = sessions
        self.analysis_id = analysis_id
        self.token = token
        self.lease_s = lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{analysis_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                with unit_of_work(self.sessions) as session:
                    if hold(session, self.analysis_id, self.token, self.lease_s) is None:
                        return
            except DBAPIError:  # the database is briefly unreachable: try again next time
                log.warning("analysis %s: could not extend the lease", self.analysis_id, exc_info=True)


@dataclass(frozen=True)
class SweepSettings:
    interval_s: float = 10.0
    resend_after_s: float = 60.0
    """A ``new`` job sent this long ago and still not taken is sent again when the queue is empty."""


class JobSweeper(BackgroundLoop):
    """Periodically requeues abandoned jobs and resends jobs that the queue lost.

    ``queue_depth`` returns the number of messages waiting (``None`` when unknown);
    ``broker_lost`` tells whether the broker lost its data since the last call.
    """

    thread_name = "originlens-sweeper"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        enqueue: Callable[[int], None],
        settings: SweepSettings,
        queue_depth: Callable[[], int | None],
        broker_lost: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(settings.interval_s)
        self.sessions = sessions
        self.enqueue = enqueue
        self.settings = settings
        self.queue_depth = queue_depth
        self.broker_lost = broker_lost

    def tick(self) -> None:
        self.sweep()

    def sweep(self) -> list[int]:
        """One pass; returns the ids sent to the queue."""
        lost = self.broker_lost()
        depth = None if lost else self.queue_depth()
        with unit_of_work(self.sessions) as session:
            to_send = requeue_expired(session)
            if lost:
                to_send += stale_new(session, None)
            elif depth == 0:
                to_send += stale_new(session, utcnow() - timedelta(seconds=self.settings.resend_after_s))
        sent = sorted(set(to_send))
        for analysis_id in sent:
            self.enqueue(analysis_id)
        if sent:
            log.info("sent %d job(s) to the queue again%s", len(sent), " (the broker lost its data)" if lost else "")
        return sent
