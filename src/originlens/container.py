"""The composition root: builds every backend from settings, starts and stops them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from originlens.detectors.audio_metadata import AudioMetadataDetector
from originlens.detectors.base import Detector
from originlens.detectors.c2pa_reader import C2PADetector
from originlens.detectors.metadata import MetadataDetector
from originlens.detectors.morphing import MorphingDetector
from originlens.detectors.nsfw import NsfwDetector
from originlens.detectors.pixel import PixelDetector
from originlens.detectors.registry import DetectorRegistry, load_detector_class
from originlens.detectors.speech import SpeechDetector
from originlens.detectors.tampering import TamperingDetector
from originlens.detectors.watermark import WatermarkDetector
from originlens.faces.detection import FaceDetector
from originlens.jobs import JobQueue
from originlens.jobs.celery_queue import CeleryQueue
from originlens.jobs.inprocess import InProcessQueue
from originlens.outbound.guard import AddressPolicy
from originlens.services.analysis import analyse, recover_unfinished
from originlens.services.job_leases import JobSweeper, SweepSettings, release_dead_claims
from originlens.services.mail import SmtpSettings
from originlens.services.outcomes import AnalysisContext
from originlens.services.submissions import SubmitContext
from originlens.services.users import ensure_default_pricing
from originlens.services.webhook_dispatch import WebhookDispatcher, WebhookSettings
from originlens.settings import Settings
from originlens.storage import BlobStore
from originlens.storage.local import LocalBlobStore
from originlens.store.db import make_engine, make_session_factory, migrate, unit_of_work

log = logging.getLogger(__name__)


def make_queue(url: str, workers: int, visibility_timeout_s: float = 3600.0) -> JobQueue:
    """The job queue ``url`` names: ``inprocess://`` or ``celery+redis://host:port/db``."""
    scheme = urlparse(url).scheme
    if scheme == "inprocess":
        return InProcessQueue(workers)
    if scheme.startswith("celery+"):
        return CeleryQueue(url, visibility_timeout_s)
    raise ValueError(f"unsupported queue URL {url!r}: use inprocess:// or celery+redis://host:port/db")


def make_blob_store(url: str) -> BlobStore:
    """The blob store ``url`` names: ``file:///path`` or ``s3://bucket/prefix?...``."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore(parsed.path)
    if parsed.scheme == "s3":
        from originlens.storage.s3 import S3BlobStore  # boto3 is an optional extra

        return S3BlobStore(url)
    raise ValueError(f"unsupported storage URL {url!r}: use file:///path or s3://bucket/prefix")


def build_registry(settings: Settings) -> DetectorRegistry:
    """The built-in detectors (minus those disabled), the plugins, and the face finder.

    The option analyses (tampering, NSFW, morphing) are registered too; they only run for
    submissions that ask for them. Models load lazily, on first use.
    """
    detectors: list[Detector] = [
        C2PADetector(settings.c2pa_trust_anchors),
        MetadataDetector(),
        AudioMetadataDetector(),
        WatermarkDetector(),
        PixelDetector(votes=settings.pixel_votes),
        TamperingDetector(),
        NsfwDetector(use_nudenet=settings.nsfw_nudenet),
        MorphingDetector(),
        SpeechDetector(),
    ]
    detectors = [d for d in detectors if d.name not in settings.disabled_detectors]
    detectors += [load_detector_class(path)() for path in settings.extra_detectors]
    faces = None if "faces" in settings.disabled_detectors else FaceDetector()
    return DetectorRegistry(detectors, faces=faces)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    registry: DetectorRegistry
    queue: JobQueue
    dispatcher: WebhookDispatcher
    sweeper: JobSweeper
    secret_key: str
    policy: AddressPolicy
    started: bool = field(default=False)

    @classmethod
    def build(cls, settings: Settings) -> Container:
        engine = make_engine(settings.resolved_database_url)
        sessions = make_session_factory(engine)
        policy = AddressPolicy(allowed_networks=tuple(settings.outbound_allowed_networks))
        dispatcher = WebhookDispatcher(
            sessions,
            WebhookSettings(
                public_url=settings.public_url,
                policy=policy,
                timeout_s=settings.webhook_timeout_s,
                max_attempts=settings.webhook_max_attempts,
                backoff_base_s=settings.webhook_backoff_base_s,
                backoff_factor=settings.webhook_backoff_factor,
            ),
        )
        queue = make_queue(settings.queue_url, settings.workers, settings.celery_visibility_timeout_s)
        sweeper = JobSweeper(
            sessions,
            queue.enqueue,
            SweepSettings(interval_s=settings.job_sweep_interval_s, resend_after_s=settings.job_resend_after_s),
            queue_depth=lambda: _depth_or_none(queue),
            broker_lost=queue.broker_lost,
        )
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            blobs=make_blob_store(settings.resolved_storage_url),
            registry=build_registry(settings),
            queue=queue,
            dispatcher=dispatcher,
            sweeper=sweeper,
            secret_key=settings.resolved_secret_key(),
            policy=policy,
        )

    @property
    def analysis_context(self) -> AnalysisContext:
        return AnalysisContext(
            sessions=self.sessions,
            blobs=self.blobs,
            registry=self.registry,
            max_image_pixels=self.settings.max_image_pixels,
            video_max_seconds=self.settings.video_max_seconds,
            video_decode_deadline_s=self.settings.video_decode_deadline_s,
            audio_max_seconds=self.settings.audio_max_seconds,
            audio_decode_deadline_s=self.settings.audio_decode_deadline_s,
            max_attempts=self.settings.job_max_attempts,
            wake_webhooks=self.dispatcher.wake,
            lease_s=self.settings.job_lease_s,
        )

    @property
    def submit_context(self) -> SubmitContext:
        return SubmitContext(
            blobs=self.blobs,
            detectors_fingerprint=self.registry.fingerprint(),
            max_upload_bytes=self.settings.max_upload_bytes,
            max_image_pixels=self.settings.max_image_pixels,
            enqueue=self.queue.enqueue,
            wake_webhooks=self.dispatcher.wake,
        )

    @property
    def smtp(self) -> SmtpSettings:
        s = self.settings
        return SmtpSettings(
            host=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            starttls=s.smtp_starttls,
            sender=s.smtp_from,
        )

    @property
    def runs_jobs_here(self) -> bool:
        """Whether this process has in-process workers (the embedded mode)."""
        return isinstance(self.queue, InProcessQueue) and self.settings.workers > 0

    def start(self) -> None:
        """Migrate, seed defaults, recover unfinished jobs, start workers, sweeper and webhooks.

        In the embedded mode every ``new`` job is sent to the fresh in-process queue; with a
        broker only the jobs of dead local processes are given back (the broker still holds
        the rest, and the sweeper resends what it lost).
        """
        self._prepare_database()
        if self.runs_jobs_here:
            with unit_of_work(self.sessions) as session:
                pending = recover_unfinished(session)
            context = self.analysis_context
            self.queue.start(lambda job_id: analyse(context, job_id))
            for job_id in pending:
                self.queue.enqueue(job_id)
            if pending:
                log.info("re-enqueued %d unfinished job(s)", len(pending))
        if self.runs_jobs_here or not isinstance(self.queue, InProcessQueue):
            self.sweeper.start()
        self.dispatcher.start()
        self.started = True

    def run_worker(self, concurrency: int = 1, loglevel: str = "INFO") -> None:
        """``originlens worker``: run jobs from the broker in this process until stopped."""
        if not isinstance(self.queue, CeleryQueue):
            raise ValueError("originlens worker needs a broker: set ORIGINLENS_QUEUE_URL=celery+redis://host:port/db")
        self._prepare_database()
        self.sweeper.start()
        self.dispatcher.start()
        self.started = True
        context = self.analysis_context
        try:
            self.queue.run_worker(lambda job_id: analyse(context, job_id), concurrency, loglevel)
        finally:
            self.stop()

    def _prepare_database(self) -> None:
        migrate(self.settings.resolved_database_url)
        try:
            with unit_of_work(self.sessions) as session:
                ensure_default_pricing(session)
        except IntegrityError:  # another process starting at the same time created it
            pass
        with unit_of_work(self.sessions) as session:
            released = release_dead_claims(session)
        if released:
            log.info("gave back %d job(s) of processes that died on this host", released)

    def stop(self) -> None:
        self.sweeper.stop()
        self.dispatcher.stop()
        self.queue.stop()
        self.engine.dispose()
        self.started = False


def _depth_or_none(queue: JobQueue) -> int | None:
    try:
        return queue.depth()
    except Exception:
        return None
