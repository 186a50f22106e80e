"""Job claims and leases on a real SQLite database: one claim wins, a job taken over is never
finished by its old worker, abandoned jobs come back, lost ones are sent again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from originlens.services import job_leases
from originlens.services.job_leases import JobSweeper, SweepSettings
from originlens.store.db import make_engine, make_session_factory, migrate, unit_of_work
from originlens.store.models import Analysis, utcnow


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    migrate(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def _job(sessions: sessionmaker[Session], **fields: object) -> int:
    with unit_of_work(sessions) as session:
        analysis = Analysis(sha256="0" * 64, cache_key="k", mime_type="image/png", **fields)
        session.add(analysis)
        session.flush()
        return analysis.id


def _state(sessions: sessionmaker[Session], analysis_id: int) -> Analysis:
    with sessions() as session:
        found = session.get(Analysis, analysis_id)
        assert found is not None
        return found


def _claim(sessions: sessionmaker[Session], analysis_id: int, token: str, lease_s: float = 60) -> bool:
    with unit_of_work(sessions) as session:
        return job_leases.claim(session, analysis_id, token, lease_s, max_attempts=3)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_one_of_two_claims_wins(sessions: sessionmaker[Session]) -> None:
    job = _job(sessions)
    first, second = job_leases.new_claim(), job_leases.new_claim()
    assert first != second
    assert _claim(sessions, job, first) is True
    assert _claim(sessions, job, second) is False
    row = _state(sessions, job)
    assert (row.state, row.claimed_by, row.attempts) == ("running", first, 1)
    assert row.lease_until is not None  # SQLite gives back naive UTC
    assert row.lease_until.replace(tzinfo=None) > utcnow().replace(tzinfo=None) + timedelta(seconds=50)


def test_a_job_taken_over_is_not_finished_by_its_old_worker(sessions: sessionmaker[Session]) -> None:
    job = _job(sessions)
    old, new = job_leases.new_claim(), job_leases.new_claim()
    assert _claim(sessions, job, old, lease_s=60)
    with unit_of_work(sessions) as session:  # the old worker stalls past its lease
        assert job_leases.requeue_expired(session, now=utcnow() + timedelta(seconds=61)) == [job]
    assert _state(sessions, job).state == "new"
    assert _claim(sessions, job, new)
    with unit_of_work(sessions) as session:
        assert job_leases.hold(session, job, old, 60) is None, "the old worker's result is dropped"
    with unit_of_work(sessions) as session:
        held = job_leases.hold(session, job, new, 60)
        assert held is not None and held.claimed_by == new
    assert _state(sessions, job).attempts == 2


def test_a_live_lease_is_not_requeued(sessions: sessionmaker[Session]) -> None:
    job = _job(sessions)
    assert _claim(sessions, job, job_leases.new_claim(), lease_s=60)
    with unit_of_work(sessions) as session:
        assert job_leases.requeue_expired(session) == []
    assert _state(sessions, job).state == "running"


def test_the_lease_keeper_extends_the_lease_while_the_job_runs(sessions: sessionmaker[Session]) -> None:
    job = _job(sessions)
    token = job_leases.new_claim()
    assert _claim(sessions, job, token, lease_s=0.6)
    first = _state(sessions, job).lease_until
    with job_leases.LeaseKeeper(sessions, job, token, lease_s=0.6):
        time.sleep(1.0)  # longer than the lease: without the keeper it would have expired
        with unit_of_work(sessions) as session:
            assert job_leases.requeue_expired(session) == []
    later = _state(sessions, job).lease_until
    assert first is not None and later is not None and later > first


def _host_claim(pid: int, boot: str = "b00700") -> str:
    return f"{socket.gethostname()}:{pid}:{boot}:n0nce"


@pytest.mark.parametrize(
    ("claimed_by", "released"),
    [
        (None, True),  # claimed before leases existed
        ("dead-process", True),  # a claim that cannot be read
        ("other-host:1:b:n", False),  # another machine: only its lease can tell
        ("__dead__", True),
        ("__parent__", False),  # alive
        ("__me_before_restart__", True),  # our own pid, an earlier boot (a restarted container)
        ("__me__", False),
    ],
)
def test_start_up_gives_back_only_the_jobs_of_dead_local_processes(
    sessions: sessionmaker[Session], claimed_by: str | None, released: bool
) -> None:
    me = job_leases.new_claim()
    claims = {
        "__dead__": _host_claim(_dead_pid()),
        "__parent__": _host_claim(os.getppid()),
        "__me_before_restart__": _host_claim(os.getpid(), boot="0ld0b007"),
        "__me__": me,
    }
    job = _job(sessions, state="running", claimed_by=claims.get(claimed_by or "", claimed_by))
    with unit_of_work(sessions) as session:
        count = job_leases.release_dead_claims(session)
    assert count == int(released)
    assert _state(sessions, job).state == ("new" if released else "running")


class _Broker:
    """A stand-in queue: records what the sweeper sends (the real backends are tested in
    tests/integration/test_scale_out.py)."""

    def __init__(self, depth: int | None = 0, lost: bool = False) -> None:
        self.sent: list[int] = []
        self.depth_value = depth
        self.lost = lost

    def sweeper(self, sessions: sessionmaker[Session]) -> JobSweeper:
        return JobSweeper(
            sessions,
            self.sent.append,
            SweepSettings(interval_s=60, resend_after_s=30),
            queue_depth=lambda: self.depth_value,
            broker_lost=lambda: self.lost,
        )


def test_the_sweeper_resends_old_new_jobs_only_when_the_queue_is_empty(sessions: sessionmaker[Session]) -> None:
    old = _job(sessions, enqueued_at=utcnow() - timedelta(seconds=120))
    recent = _job(sessions)
    busy = _Broker(depth=5)
    assert busy.sweeper(sessions).sweep() == [] and busy.sent == []
    unknown = _Broker(depth=None)  # broker unreachable: nothing can be sent now anyway
    assert unknown.sweeper(sessions).sweep() == []
    idle = _Broker(depth=0)
    assert idle.sweeper(sessions).sweep() == [old] and idle.sent == [old]
    assert idle.sweeper(sessions).sweep() == [], "sent once, then it waits again"
    assert recent not in idle.sent


def test_the_sweeper_resends_every_new_job_when_the_broker_lost_its_data(sessions: sessionmaker[Session]) -> None:
    jobs = [_job(sessions) for _ in range(3)]
    running = _job(sessions)
    assert _claim(sessions, running, job_leases.new_claim())
    lost = _Broker(depth=7, lost=True)
    assert lost.sweeper(sessions).sweep() == jobs


def test_the_sweeper_puts_back_and_sends_jobs_whose_lease_passed(sessions: sessionmaker[Session]) -> None:
    job = _job(sessions)
    assert _claim(sessions, job, job_leases.new_claim(), lease_s=0.01)
    time.sleep(0.05)
    broker = _Broker(depth=3)
    assert broker.sweeper(sessions).sweep() == [job]
    assert _state(sessions, job).state == "new"
