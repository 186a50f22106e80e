"""Jobs on Celery with a Redis broker: API processes send job ids, ``originlens worker``
processes run them.

Messages are acknowledged late (after the task returns) and rejected back to the queue
when the worker process is lost, so a killed worker does not lose its message; a message
may therefore arrive twice, which is harmless because the job's claim in the database
decides who runs it (``services.job_leases``). Results are not stored in Celery: the
database row is the result.

The broker is watched for data loss (a Redis restarted without persistence drops every
queued message): a marker key is kept in it, and when the marker has vanished the job
sweeper sends every ``new`` job again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import Any

from originlens.jobs.base import JobHandler

log = logging.getLogger(__name__)

TASK_NAME = "originlens.analyse"
QUEUE_NAME = "originlens"
BROKER_MARKER_KEY = "originlens:broker-marker"


def broker_url_of(queue_url: str) -> str:
    """``celery+redis://host:6379/0`` → ``redis://host:6379/0``."""
    scheme, _, rest = queue_url.partition("://")
    broker = scheme.removeprefix("celery+")
    if broker not in ("redis", "rediss"):
        raise ValueError(f"unsupported Celery broker in {queue_url!r}: use celery+redis://host:port/db")
    return f"{broker}://{rest}"


class CeleryQueue:
    def __init__(self, queue_url: str, visibility_timeout_s: float = 3600.0) -> None:
        from celery import Celery

        self.broker_url = broker_url_of(queue_url)
        self.app = Celery("originlens", broker=self.broker_url, set_as_current=False)
        self.app.conf.update(
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            task_acks_on_failure_or_timeout=True,
            task_ignore_result=True,
            task_serializer="json",
            accept_content=["json"],
            task_default_queue=QUEUE_NAME,
            worker_prefetch_multiplier=1,
            worker_hijack_root_logger=False,
            broker_connection_retry_on_startup=True,
            broker_connection_max_retries=None,
            broker_connection_timeout=3,
            broker_transport_options={"visibility_timeout": visibility_timeout_s},
            enable_utc=True,
        )
        self._redis: Any = None

    # -- the API side --------------------------------------------------------------------

    def enqueue(self, job_id: int) -> None:
        """Send the job id; if the broker is down the job stays ``new`` and the sweeper resends it."""
        try:
            self.app.send_task(
                TASK_NAME,
                args=[job_id],
                queue=QUEUE_NAME,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0},
            )
        except Exception as exc:  # kombu raises several types for an unreachable broker
            log.warning("job %s not sent (%s); it will be sent again once the broker is back", job_id, exc)

    def start(self, handler: JobHandler) -> None:
        """API processes only send; ``run_worker`` (``originlens worker``) does the work."""

    def stop(self, timeout: float = 10.0) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def depth(self) -> int:
        """Messages waiting in the broker (not counting those a worker has reserved)."""
        return int(self._client().llen(QUEUE_NAME))

    def healthy(self) -> bool:
        try:
            return bool(self._client().ping())
        except Exception:
            return False

    def broker_lost(self) -> bool:
        """True once after the broker lost its data (or on its very first use): the marker
        key we keep in it was gone, and we put it back."""
        try:
            return bool(self._client().set(BROKER_MARKER_KEY, secrets.token_hex(8), nx=True))
        except Exception:
            return False  # unreachable now; the marker tells once it is back

    def _client(self) -> Any:
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.broker_url, socket_connect_timeout=2, socket_timeout=5)
        return self._redis

    # -- the worker side -----------------------------------------------------------------

    def run_worker(self, handler: JobHandler, concurrency: int = 1, loglevel: str = "INFO") -> None:
        """Run a Celery worker in this process until it is stopped (blocks).

        One job at a time per thread: ``solo`` for one, a thread pool for more (the models
        are loaded once per process and shared by its threads). For more CPU, run more
        processes.
        """

        def analyse_job(job_id: int) -> None:
            handler(int(job_id))

        self.app.task(name=TASK_NAME, ignore_result=True, acks_late=True)(analyse_job)
        node = f"originlens-{os.getpid()}@{socket.gethostname()}"
        pool = "solo" if concurrency == 1 else "threads"
        self.app.worker_main(
            [
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                f"--loglevel={loglevel}",
                f"--queues={QUEUE_NAME}",
                f"--hostname={node}",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        )
