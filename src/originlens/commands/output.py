"""How ``originlens classify`` shows its rows: JSON, CSV, or a table for people; and the
progress bar (stderr only, so that stdout stays machine-readable)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from originlens.commands.classify import Row

CSV_COLUMNS = (
    "input", "source", "media_type", "verdict", "confidence", "heuristic", "evidence", "decided_by", "reason",
    "error", "identifier", "frames", "is_nsfw", "duration", "speech_seconds",
)  # fmt: skip
"""Fixed CSV columns; one ``score:<model>`` column per model follows, in name order. A
recording's chunks are in ``--json`` only (one CSV row per input)."""

TOP_SCORES = 3


def render_json(rows: Sequence[Row]) -> str:
    return json.dumps([row.to_json() for row in rows], indent=2)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def render_csv(rows: Sequence[Row]) -> str:
    models = sorted({model for row in rows for model in row.scores})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"score:{m}" for m in models)])
    for row in rows:
        fixed = [_cell(getattr(row, name)) for name in CSV_COLUMNS]
        writer.writerow([*fixed, *(_cell(row.scores.get(m)) for m in models)])
    return out.getvalue()


_STYLE = {"artificial": "bold red", "human": "green", "unknown": "yellow"}


def top_scores(row: Row) -> str:
    """The models that judged, most suspicious first (``model 0.99``)."""
    return _top(row.scores)


def _top(scores: dict[str, float | None]) -> str:
    judged = sorted(((s, m) for m, s in scores.items() if s is not None), reverse=True)
    return ", ".join(f"{m} {s:.2f}" for s, m in judged[:TOP_SCORES]) or "-"


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _chunk_rows(row: Row) -> list[tuple[str, str, str, str, str]]:
    """One indented line per chunk of a recording: start-end s, verdict, confidence, reason, scores."""
    lines = []
    for chunk in row.chunks:
        verdict = chunk.get("verdict") or "unknown"
        confidence = "-" if chunk.get("confidence") is None else f"{chunk['confidence']:.2f}"
        span = f"  {_seconds(chunk['start'])}-{_seconds(chunk['end'])} s"
        lines.append(
            (
                span,
                f"[{_STYLE.get(verdict, '')}]{verdict}[/]",
                confidence,
                chunk.get("reason") or "",
                _top(chunk.get("scores") or {}),
            )
        )
    return lines


def _recording(row: Row) -> str:
    """``12.5 s, 9.8 s of speech``: what the verdict of a recording rests on."""
    if row.duration is None:
        return ""
    speech = "" if row.speech_seconds is None else f", {_seconds(row.speech_seconds)} s of speech"
    return f"{_seconds(row.duration)} s{speech}"


def stdout_console() -> Console:
    """Rich's console on stdout; wider than 80 columns when piped, so rows stay readable in a file."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def render_table(rows: Sequence[Row], console: Console) -> None:
    table = Table(show_lines=False)
    for title in ("input", "verdict", "confidence", "decided by / reason", "top model scores"):
        table.add_column(title, overflow="fold")
    for row in rows:
        if row.error:
            table.add_row(row.input, "[bold magenta]error[/]", "-", row.error, "-")
            continue
        verdict = row.verdict or "unknown"
        confidence = "-" if row.confidence is None else f"{row.confidence:.2f}"
        why = " / ".join(part for part in (row.decided_by, row.reason, _recording(row)) if part) or (
            row.evidence or "-"
        )
        table.add_row(row.input, f"[{_STYLE.get(verdict, '')}]{verdict}[/]", confidence, why, top_scores(row))
        for line in _chunk_rows(row):
            table.add_row(*line)
    console.print(table)


@contextmanager
def progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    """An ``advance()`` for each finished input; a bar on stderr only when ``enabled``, the
    batch has more than one input and stderr is a terminal."""
    if not enabled or total <= 1 or not sys.stderr.isatty():
        yield lambda: None
        return
    columns = (TextColumn("classifying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("classify", total=total)
        yield lambda: progress.advance(task)
