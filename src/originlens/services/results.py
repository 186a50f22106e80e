"""Rendering a mixed list of submissions, each as its GET answers it (images, videos, recordings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from originlens.services.audio import build_audio_response
from originlens.services.classifications import build_response, overrides_for
from originlens.services.videos import build_video_response
from originlens.store.models import Classification, User


class _Builder(Protocol):
    def __call__(
        self, classification: Classification, user: User, forced_label: str | None, public_url: str
    ) -> dict[str, Any]: ...


BUILDERS: dict[str, _Builder] = {"video": build_video_response, "audio": build_audio_response}
"""The GET answer's builder per media type; images are the default (``ImageResponse``)."""


def build_one(classification: Classification, user: User, forced: str | None, public_url: str) -> dict[str, Any]:
    """One submission as its GET answers it: ``ImageResponse``, ``VideoResponse`` or ``AudioResponse``."""
    build = BUILDERS.get(classification.analysis.media_type, build_response)
    return build(classification, user, forced, public_url)


def render(session: Session, user: User, rows: Sequence[Classification], public_url: str) -> list[dict[str, Any]]:
    """Each row as its GET answers it (:func:`build_one`), overrides read once per media type."""
    out = []
    for media_type in {row.analysis.media_type for row in rows}:
        forced = overrides_for(
            session, user.id, {r.analysis.sha256 for r in rows if r.analysis.media_type == media_type}, media_type
        )
        for row in rows:
            if row.analysis.media_type == media_type:
                out.append((row, build_one(row, user, forced.get(row.analysis.sha256), public_url)))
    order = {id(row): i for i, row in enumerate(rows)}
    return [body for _, body in sorted(out, key=lambda pair: order[id(pair[0])])]
