"""Bounded integer parameters: every integer a client sends (query, form or path) is one of these.

An unbounded ``int`` reaches the database and overflows there (SQLite and PostgreSQL store 64-
and 32-bit integers) as a 500; these answer 422 naming the field. ``tests/api/test_parameters``
walks the served OpenAPI and fails on any integer parameter without both bounds.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query

ID_MAX = 2**31 - 1
"""Row ids are 32-bit on PostgreSQL (``INTEGER``)."""
PAGE_MAX = 1_000_000
"""Far beyond any real list, small enough that ``page * per_page`` stays an ordinary offset."""
PER_PAGE_MAX = 100
FRAME_INDEX_MAX = ID_MAX
"""A frame number: a three-hour video at 60 fps has 648,000."""
FRAMES_MAX = 1_000
BALANCE_MAX = 1e12
"""Credits: far beyond any plan, and finite (``inf`` cannot be written as JSON)."""

PageQuery = Annotated[int, Query(ge=1, le=PAGE_MAX, description=f"1 to {PAGE_MAX}")]
PerPageQuery = Annotated[int, Query(ge=1, le=PER_PAGE_MAX, description=f"1 to {PER_PAGE_MAX}")]
OptionalPerPageQuery = Annotated[int | None, Query(ge=1, le=1000, description="1 to 1000")]
IdQuery = Annotated[int | None, Query(ge=1, le=ID_MAX)]
IdForm = Annotated[int | None, Form(ge=1, le=ID_MAX)]
RequiredIdForm = Annotated[int, Form(ge=1, le=ID_MAX)]
IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
FramesForm = Annotated[int, Form(ge=1, le=FRAMES_MAX)]
FrameIndexPath = Annotated[int, Path(ge=0, le=FRAME_INDEX_MAX)]
BalanceForm = Annotated[float | None, Form(ge=0, le=BALANCE_MAX, allow_inf_nan=False)]
