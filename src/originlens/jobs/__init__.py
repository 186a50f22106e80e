"""Job queue backends; the composition root (``container.make_queue``) picks one by ``queue_url``."""

from originlens.jobs.base import JobHandler, JobQueue

__all__ = ["JobHandler", "JobQueue"]
