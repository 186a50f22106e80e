"""Deliver recorded webhooks: signed POSTs of the result, retried with backoff.

Deliveries are rows (``webhook_deliveries``), so a restart loses none; every attempt is
recorded in ``webhook_attempts``. A delivery is leased while in flight so that two
dispatchers (in any number of API and worker processes) never send the same attempt; each
polls the table, so a result finished in another process is sent within ``poll_s``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from originlens.outbound.guard import AddressPolicy
from originlens.services.background import BackgroundLoop
from originlens.services.results import render
from originlens.store.db import unit_of_work
from originlens.store.models import Classification, User, WebhookAttempt, WebhookDelivery, utcnow
from originlens.webhooks.delivery import backoff_schedule, deliver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookSettings:
    public_url: str
    policy: AddressPolicy
    timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 5.0
    backoff_factor: float = 3.0


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    url: str
    msg_id: str
    secret: str
    body: bytes
    attempt: int


def _take(session: Session, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
    """Lease one due delivery with a conditional UPDATE: exactly one dispatcher wins it, on
    PostgreSQL (row lock) and on SQLite (one writer at a time) alike."""
    taken = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


class WebhookDispatcher(BackgroundLoop):
    thread_name = "originlens-webhooks"

    def __init__(self, sessions: sessionmaker[Session], settings: WebhookSettings, poll_s: float = 1.0) -> None:
        super().__init__(poll_s)
        self.sessions = sessions
        self.settings = settings

    def tick(self) -> None:
        while self.run_due() and not self.stopping:
            pass

    def run_due(self, limit: int = 20) -> int:
        """Send every delivery that is due now; returns how many were attempted."""
        jobs = self._lease_due(limit)
        for job in jobs:
            outcome = deliver(
                job.url,
                job.body,
                secret=job.secret,
                msg_id=job.msg_id,
                policy=self.settings.policy,
                timeout_s=self.settings.timeout_s,
            )
            self._record(job, outcome.ok, outcome.status_code, outcome.error, outcome.duration_ms)
        return len(jobs)

    def _lease_due(self, limit: int) -> list[_Job]:
        now = utcnow()
        jobs = []
        with unit_of_work(self.sessions) as session:
            due = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            lease_until = now + timedelta(seconds=self.settings.timeout_s + 30)
            for delivery in due:
                if not _take(session, delivery.id, now, lease_until):
                    continue  # another dispatcher (another process) took it first
                classification = session.get(Classification, delivery.classification_id)
                user = session.get(User, classification.user_id) if classification else None
                if classification is None or user is None:
                    delivery.state = "failed"
                    continue
                payload = render(session, user, [classification], self.settings.public_url)[0]
                jobs.append(
                    _Job(
                        delivery_id=delivery.id,
                        url=delivery.url,
                        msg_id=delivery.msg_id,
                        secret=user.webhook_secret,
                        body=json.dumps(payload, separators=(",", ":")).encode(),
                        attempt=delivery.attempts + 1,
                    )
                )
        return jobs

    def _record(self, job: _Job, ok: bool, status: int | None, error: str | None, duration_ms: float) -> None:
        with unit_of_work(self.sessions) as session:
            delivery = session.get(WebhookDelivery, job.delivery_id)
            if delivery is None:
                return
            delivery.attempts = job.attempt
            session.add(
                WebhookAttempt(
                    delivery_id=delivery.id,
                    number=job.attempt,
                    ok=ok,
                    status_code=status,
                    error=error,
                    duration_ms=duration_ms,
                )
            )
            if ok:
                delivery.state = "delivered"
                delivery.finished_at = utcnow()
            elif job.attempt >= self.settings.max_attempts:
                delivery.state = "failed"
                delivery.finished_at = utcnow()
            else:
                delay = backoff_schedule(
                    job.attempt, base_s=self.settings.backoff_base_s, factor=self.settings.backoff_factor
                )
                delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
