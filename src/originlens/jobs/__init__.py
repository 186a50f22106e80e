"""Job queue backends, chosen by ``queue_url``."""

from originlens.jobs.base import JobHandler, JobQueue, make_queue

__all__ = ["JobHandler", "JobQueue", "make_queue"]
