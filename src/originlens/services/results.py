"""Rendering a mixed list of submissions, each as its GET answers it (images and videos)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from originlens.services.classifications import build_response, overrides_for
from originlens.services.videos import build_video_response
from originlens.store.models import Classification, User


def render(session: Session, user: User, rows: Sequence[Classification], public_url: str) -> list[dict[str, Any]]:
    """Each row as its GET answers it: ``ImageResponse`` or, for videos, ``VideoResponse``."""
    out = []
    for media_type in {row.analysis.media_type for row in rows}:
        forced = overrides_for(
            session, user.id, {r.analysis.sha256 for r in rows if r.analysis.media_type == media_type}, media_type
        )
        for row in rows:
            if row.analysis.media_type == media_type:
                build = build_video_response if media_type == "video" else build_response
                out.append((row, build(row, user, forced.get(row.analysis.sha256), public_url)))
    order = {id(row): i for i, row in enumerate(rows)}
    return [body for _, body in sorted(out, key=lambda pair: order[id(pair[0])])]
