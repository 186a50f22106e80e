"""SQLAlchemy 2 models. The ``analyses`` table doubles as the durable job queue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Pricing(Base):
    """A pricing plan: what an analysis costs a user on this plan, in credits."""

    __tablename__ = "pricings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(100), unique=True)
    image_cost: Mapped[float] = mapped_column(Float, default=1.0)
    option_cost: Mapped[float] = mapped_column(Float, default=0.0)
    """Added once for each optional analysis asked for (heatmap, morphing, tampering, nsfw)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(default=None)
    address: Mapped[str | None] = mapped_column(String(500), default=None)
    zip: Mapped[str | None] = mapped_column(String(30), default=None)
    city: Mapped[str | None] = mapped_column(String(200), default=None)
    country: Mapped[str | None] = mapped_column(String(100), default=None)
    phone: Mapped[str | None] = mapped_column(String(50), default=None)
    contact: Mapped[str | None] = mapped_column(String(500), default=None)
    vat: Mapped[str | None] = mapped_column(String(50), default=None)
    balance: Mapped[float | None] = mapped_column(Float, default=None)
    """Available credits; ``None`` means unlimited (self-hosted operators, by default)."""
    total_spent: Mapped[float] = mapped_column(Float, default=0.0)
    heuristic: Mapped[str] = mapped_column(String(50))
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    newsletter: Mapped[bool] = mapped_column(Boolean, default=False)
    save_files: Mapped[bool] = mapped_column(Boolean, default=True)
    is_partner: Mapped[bool] = mapped_column(Boolean, default=False)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    webhook_secret: Mapped[str] = mapped_column(String(100))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    pricing_id: Mapped[int | None] = mapped_column(ForeignKey("pricings.id"), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    """Argon2id hash for the dashboard sign-in; ``None`` until the user sets a password."""
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Carried in dashboard session cookies; bumped on a password change to end every session."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # loaded on access only: authentication, on every request, needs neither
    pricing: Mapped[Pricing | None] = relationship()
    partner: Mapped[User | None] = relationship(remote_side=[id])


class ApiKey(Base):
    """An API key, stored only as a keyed hash; ``prefix`` lets people tell keys apart."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    readonly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A key that can only read (``services.permissions``), whatever its account may do."""

    user: Mapped[User] = relationship(lazy="joined")


class PasswordToken(Base):
    """A one-time link that sets a user's dashboard password; only its SHA-256 is stored."""

    __tablename__ = "password_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Analysis(Base):
    """One run of the detectors over one file with one set of options: the unit of work.

    Several submissions (``Classification``) can share an analysis when the cache is hit.
    ``state`` is finer than the API's ``status``: ``new`` and ``running`` both show as ``new``.
    """

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    media_type: Mapped[str] = mapped_column(String(10), default="image")
    sha256: Mapped[str] = mapped_column(String(64))
    cache_key: Mapped[str] = mapped_column(String(64))
    mime_type: Mapped[str] = mapped_column(String(50))
    blob_key: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(10), default="new")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(160), default=None)
    """The claim of the worker running it: ``host:pid:boot:nonce`` (see ``services.job_leases``)."""
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    """A ``running`` job whose lease has passed is presumed abandoned and goes back to ``new``."""
    enqueued_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    """When the job was last handed to a queue; a ``new`` job not taken long after is sent again."""
    results: Mapped[list[Any] | None] = mapped_column(default=None)
    verdicts: Mapped[list[Any] | None] = mapped_column(default=None)
    c2pa: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    forced_by: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """``{"evidence": [{"by", "classification", "reason"}, ...]}``: conclusive provenance, in priority order."""
    heatmap_blob_key: Mapped[str | None] = mapped_column(String(200), default=None)
    tampering_blob_key: Mapped[str | None] = mapped_column(String(200), default=None)
    """The tampering map PNG (its raw grid is beside it as ``.json``), when ``with_tampering``."""
    details: Mapped[list[Any] | None] = mapped_column(default=None)
    """identifAI ``details``: faces with their boxes, per-face results and verdicts (images);
    the chunks of a recording (audio: ``index``, ``start``, ``end``, ``results``, ``verdicts``)."""
    frames_done: Mapped[int | None] = mapped_column(Integer, default=None)
    """Videos: frames analysed so far (progress while ``status`` is ``new``)."""
    frames_total: Mapped[int | None] = mapped_column(Integer, default=None)
    """Videos: frames sampled for analysis (known once the video has been probed)."""
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    """Audio: the recording's length in seconds (known once it is decoded)."""
    speech_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    """Audio: seconds of speech the speech model found."""
    waveform: Mapped[list[Any] | None] = mapped_column(default=None)
    """Audio: peak amplitude of 400 equal slices, for drawing the recording."""
    is_nsfw: Mapped[bool | None] = mapped_column(Boolean, default=None)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    """Plain-language notes, e.g. options whose analysis does not exist yet."""
    errors: Mapped[str | None] = mapped_column(Text, default=None)
    api_version: Mapped[str | None] = mapped_column(String(20), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_analyses_cache", "user_id", "cache_key"),
        Index("ix_analyses_state", "state"),
    )


class Classification(Base):
    """One submission as the client sees it: its own identifier, name, ref_id and webhook."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    ref_id: Mapped[str | None] = mapped_column(String(255), default=None)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    credits_charged: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    analysis: Mapped[Analysis] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_classifications_user_created", "user_id", "id"),
        Index("ix_classifications_user_ref", "user_id", "ref_id"),
    )


class Override(Base):
    """A user's correction for every one of their results with this hash."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(10), default="image")
    classification: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "sha256", "media_type", name="uq_override"),)


class WebhookDelivery(Base):
    """One result to push to one URL; retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    classification_id: Mapped[int] = mapped_column(ForeignKey("classifications.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    """``pending``, ``delivered`` or ``failed`` (gave up after the last attempt)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_webhook_due", "state", "next_attempt_at"),)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
