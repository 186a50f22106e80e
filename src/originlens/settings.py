"""Service settings, read from ``ORIGINLENS_*`` environment variables (or a ``.env`` file).

Backends are chosen by URL: ``database_url`` (sqlite:/// or postgresql+psycopg://),
``storage_url`` (file:// or s3://), ``queue_url`` (``inprocess://`` or
``celery+redis://host:port/db``), ``ratelimit_url`` (``memory://`` or ``redis://``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from originlens.verdicts.heuristics import DEFAULT_HEURISTIC, HEURISTICS

MB = 1024 * 1024
SERVED_URL_FILE = "served_url"


def _default_trust_list() -> str | None:
    """The official C2PA trust list shipped beside the repo, when it is there."""
    candidate = Path(__file__).resolve().parents[3] / "shared" / "c2pa" / "C2PA-TRUST-LIST.pem"
    return str(candidate) if candidate.exists() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORIGINLENS_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".data")
    database_url: str | None = None
    """Defaults to a SQLite file in ``data_dir``."""
    storage_url: str | None = None
    """Defaults to ``file://<data_dir>/blobs``."""
    queue_url: str = "inprocess://"
    ratelimit_url: str = "memory://"

    secret_key: str | None = None
    """Keys API keys' stored hashes. Generated into ``data_dir/secret.key`` when unset."""

    public_url: str = "http://127.0.0.1:8000"
    """Base of every absolute link (``result_url``, set-password links, e-mails, webhooks).
    Unset, it is the address ``originlens serve`` listens on: ``serve`` records it in the data
    directory (``served_url``), where the other commands on that directory read it."""

    workers: int = Field(default=2, ge=0)
    """In-process analysis threads (``inprocess://`` only); 0 starts none. With Celery the
    work is done by ``originlens worker`` processes and this is ignored."""
    job_max_attempts: int = Field(default=3, ge=1)
    """A job whose worker died this many times is marked errored instead of retried forever."""
    job_lease_s: float = Field(default=60.0, gt=0)
    """A running job's lease, renewed every third of it while the worker lives; a job whose
    lease has passed is run again elsewhere. Keep it well above a database hiccup."""
    job_sweep_interval_s: float = Field(default=10.0, gt=0)
    """How often each process looks for abandoned jobs and jobs the queue lost."""
    job_resend_after_s: float = Field(default=60.0, gt=0)
    """A ``new`` job sent this long ago is sent again when the queue is empty (it was lost)."""
    celery_visibility_timeout_s: float = Field(default=3600.0, gt=0)
    """Redis transport: an unacknowledged message is redelivered after this long. Redelivery
    is harmless (the job's claim decides); abandoned jobs are recovered by their lease sooner."""

    max_upload_bytes: int = 50 * MB
    max_video_upload_bytes: int = 5 * 1024 * MB
    """identifAI accepts videos up to 5 GB; they are streamed to the blob store, never held in memory."""
    video_fetch_timeout_s: float = 600.0
    """Deadline for downloading a whole video given by ``file_url``."""
    video_max_seconds: float = 3 * 3600.0
    """Longer videos are refused by the worker with a readable error."""
    video_decode_deadline_s: float = 120.0
    """Time limit for probing and decoding the sampled frames of one video."""
    max_audio_upload_bytes: int = 50 * MB
    """identifAI accepts recordings up to 50 MB; they are streamed to the blob store like videos."""
    audio_fetch_timeout_s: float = 120.0
    """Deadline for downloading a whole recording given by ``file_url``."""
    audio_max_seconds: float = 3600.0
    """Longer recordings are refused by the worker with a readable error (checked from the
    header, then while decoding)."""
    audio_decode_deadline_s: float = 60.0
    """Time limit for decoding one recording (an hour of MP3 decodes in a few seconds)."""
    max_image_pixels: int = 100_000_000
    """Decompression-bomb guard: images with more pixels are refused."""

    url_fetch_timeout_s: float = 20.0
    url_fetch_max_redirects: int = 3
    outbound_allowed_networks: list[str] = Field(default_factory=list)
    """CIDRs that file_url and webhook_url may reach even though they are private/loopback."""

    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 6
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_factor: float = 3.0

    ratelimit_enabled: bool = True
    ratelimit_get: str = "2/second;60/minute"
    ratelimit_post: str = "1/second;30/minute"

    default_heuristic: str = DEFAULT_HEURISTIC
    c2pa_trust_anchors: str | None = Field(default_factory=_default_trust_list)
    pixel_votes: bool = False
    """Let the default ``pixel`` model vote in the heuristics. Off: it is a visible indicator
    (scores in results, heatmaps and faces) because it has not met the accuracy targets that a
    vote needs (docs/models/pixel.md has the numbers and the trade-off of turning it on)."""
    disabled_detectors: list[str] = Field(default_factory=list)
    """Names of built-in detectors not to run (e.g. a slow model on a small machine)."""
    extra_detectors: list[str] = Field(default_factory=list)
    """Dotted paths ``module:Class`` of extra detector classes to register (plugins)."""
    nsfw_nudenet: bool = False
    """Also run NudeNet's body-part detector for ``with_nsfw`` (boxes and classes). Off by
    default: its weights are AGPL-3.0 (trained with ultralytics), so it is not part of the
    default install; ``pip install --no-deps nudenet==3.4.2`` first. Open NSFW always runs."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "originlens@localhost"

    @field_validator("default_heuristic")
    @classmethod
    def _known_heuristic(cls, value: str) -> str:
        if value not in HEURISTICS:
            raise ValueError(f"unknown heuristic {value!r}; choose one of {', '.join(HEURISTICS)}")
        return value

    @model_validator(mode="after")
    def _served_public_url(self) -> Settings:
        """Unset ``public_url``: the address the last ``serve`` on this data directory listens on."""
        if "public_url" not in self.model_fields_set:
            recorded = self.data_dir / SERVED_URL_FILE
            if recorded.is_file():
                self.__dict__["public_url"] = recorded.read_text().strip() or self.public_url  # stays "unset"
        return self

    def serving_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on ``host:port``: an unset ``public_url`` becomes
        that address, recorded for the other commands on this data directory."""
        if "public_url" in self.model_fields_set:
            return self
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else "[::1]" if host == "::" else host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        url = f"http://{shown}:{port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / SERVED_URL_FILE).write_text(url + "\n")
        served = self.model_copy()
        served.__dict__["public_url"] = url
        return served

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'originlens.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        import secrets

        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
