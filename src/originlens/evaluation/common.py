"""What the image report (:mod:`~originlens.evaluation.report`) and the speech report
(:mod:`~originlens.evaluation.audio`) compute and write alike, so both read the same way: the
score each scorer gave, summaries with bootstrap intervals, one-class group shares, row counts,
the per-file JSON pieces, and the Markdown cells, tables and sections they share.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from originlens.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    binary_summary,
    bootstrap_intervals,
    threshold_at_fpr,
)
from originlens.evaluation.runner import Analysis, DetectorScore, RowResult, VerdictRecord

VERDICT = "verdict"
"""The scorer name used for the final verdict next to the detectors' names."""
ScoredPair = tuple[RowResult[Any], Analysis | None]
"""A row's outcome and the analysis scored, image or audio: what the shared helpers read."""


# --------------------------------------------------------------------------- numbers


def score_of(analysis: Analysis | None, scorer: str) -> float | None:
    """The artificial score ``scorer`` gave, or ``None`` when it did not judge (unknown, error)."""
    if analysis is None or analysis.error:
        return None
    if scorer == VERDICT:
        return analysis.verdict.score if analysis.verdict is not None and not analysis.verdict.unknown else None
    detector = analysis.detectors.get(scorer)
    return None if detector is None or detector.unknown else detector.artificial


def covered_scores(pairs: Sequence[ScoredPair], scorer: str) -> tuple[list[float], list[int]]:
    """The scores ``scorer`` gave the files it judged, and their labels (1: artificial)."""
    scores, labels = [], []
    for result, analysis in pairs:
        score = score_of(analysis, scorer)
        if score is not None:
            scores.append(score)
            labels.append(1 if result.row.label == "artificial" else 0)
    return scores, labels


def label_counts(pairs: Sequence[ScoredPair]) -> dict[str, int]:
    return dict(sorted(Counter(result.row.label for result, _ in pairs).items()))


def summary_with_intervals(pairs: Sequence[ScoredPair], scorer: str) -> dict[str, Any]:
    """Every number of one scorer on a set of files, with bootstrap intervals on the covered ones
    (AUC, TPR at 5% FPR) and the files' label counts."""
    scores, labels = covered_scores(pairs, scorer)
    summary = binary_summary(scores, labels, n_total=len(pairs))
    intervals = bootstrap_intervals(scores, labels, max_fpr=0.05)
    summary["auc_ci"] = intervals["auc"]
    summary["tpr_at_5pct_fpr_ci"] = intervals["tpr_at_fpr"]
    summary["labels"] = label_counts(pairs)
    return summary


def call_shares(points: Sequence[float | None]) -> dict[str, Any]:
    """How a group's files were called (``points``: their scores, ``None``: unknown), as shares of all of them."""
    covered = [p for p in points if p is not None]
    n = len(points)
    return {
        "n": n,
        "n_covered": len(covered),
        "coverage": len(covered) / n if n else None,
        "called_artificial": sum(1 for p in covered if p > 0.5) / n if n else None,
        "called_human": sum(1 for p in covered if p <= 0.5) / n if n else None,
        "unknown": (n - len(covered)) / n if n else None,
    }


def human_threshold(pairs: Sequence[ScoredPair], scorer: str, fpr: float) -> float | None:
    """The threshold at ``fpr`` on the human files ``scorer`` covered in ``pairs``."""
    human_scores = [s for s, y in zip(*covered_scores(pairs, scorer), strict=True) if y == 0]
    return threshold_at_fpr(human_scores, fpr)


def share_above(points: Sequence[float | None], threshold: float | None) -> float | None:
    """The share of the covered points above ``threshold``; ``None`` without one or without points."""
    covered = [p for p in points if p is not None]
    return None if threshold is None or not covered else sum(1 for p in covered if p > threshold) / len(covered)


def detector_names(declared: Sequence[dict[str, Any]], analyses: Iterable[Analysis | None]) -> list[str]:
    """The registry's detectors in its order, then any other detector an analysis reported."""
    names = [d["name"] for d in declared]
    for analysis in analyses:
        for name in analysis.detectors if analysis else ():
            if name not in names:
                names.append(name)
    return names


def row_counts(files: Sequence[RowResult[Any]]) -> dict[str, Any]:
    """How many rows were analysed (per label), skipped (per reason) and failed."""
    analysed = [r for r in files if r.status == "analysed"]
    skipped = Counter(r.reason or "" for r in files if r.status == "skipped")
    return {
        "rows": len(files),
        "analysed": len(analysed),
        "analysed_human": sum(1 for r in analysed if r.row.label == "human"),
        "analysed_artificial": sum(1 for r in analysed if r.row.label == "artificial"),
        "skipped": sum(skipped.values()),
        "skipped_by_reason": dict(sorted(skipped.items())),
        "errors": sum(1 for r in files if r.status == "error"),
    }


def error_list(files: Sequence[RowResult[Any]]) -> list[dict[str, Any]]:
    return [{"file": r.row.file, "reason": r.reason} for r in files if r.status == "error"]


def bootstrap_method() -> dict[str, Any]:
    """How the intervals are computed, as every report states it."""
    return {
        "method": "percentile method, resampling within each label",
        "level": 0.95,
        "n_resamples": BOOTSTRAP_RESAMPLES,
        "seed": BOOTSTRAP_SEED,
    }


def detectors_json(detectors: dict[str, DetectorScore], *, reasons: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, d in detectors.items():
        entry: dict[str, Any] = {"score": d.artificial, "unknown": d.unknown}
        if reasons and d.reason:
            entry["reason"] = d.reason
        out[name] = entry
    return out


def verdict_json(verdict: VerdictRecord | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "classification": verdict.classification,
        "confidence": verdict.confidence,
        "score": verdict.score,
        "unknown": verdict.unknown,
        "evidence": verdict.evidence,
    }


# --------------------------------------------------------------------------- Markdown


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return [*lines, ""]


def escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def with_interval(value: float | None, interval: dict[str, float] | None, fmt: Callable[[float | None], str]) -> str:
    if value is None:
        return "n/a"
    if interval is None:
        return fmt(value)
    return f"{fmt(value)} [{fmt(interval['low'])}, {fmt(interval['high'])}]"


def covered_cell(s: dict[str, Any]) -> str:
    """``covered/labelled (coverage)``."""
    return f"{s['n_covered']}/{s['n_labelled']} ({pct(s['coverage'])})"


def auc_cell(s: dict[str, Any]) -> str:
    return with_interval(s["auc"], s["auc_ci"], num)


def tpr_at_5pct_fpr_cell(s: dict[str, Any]) -> str:
    return with_interval(s["tpr_at_5pct_fpr"], s["tpr_at_5pct_fpr_ci"], pct)


def call_cells(entry: dict[str, Any], auc: float | None) -> list[str]:
    """A group's calls (:func:`call_shares`), its AUC, its share called AI at 5% FPR."""
    return [
        pct(entry["called_artificial"]),
        pct(entry["called_human"]),
        pct(entry["unknown"]),
        num(auc),
        pct(entry["called_artificial_at_5pct_fpr"]),
    ]


def run_configuration(
    config: dict[str, Any], settings: Sequence[tuple[str, Any]], *, library: tuple[str, str]
) -> list[str]:
    """The run's settings (``settings``: those of the medium, after the heuristic) and its detectors;
    ``library``: the decoding library's name and its version's key in ``config``."""
    name, key = library
    out = ["## Run configuration", ""]
    out += table(
        ("setting", "value"),
        [
            ("date (UTC)", config["date"]),
            ("originlens", config["originlens_version"]),
            ("manifest", f"`{config['manifest']}`"),
            ("heuristic", config["heuristic"]),
            *settings,
            ("limit", config["limit"] if config["limit"] is not None else "none (every row)"),
            ("run time", f"{config['elapsed_s']} s"),
            (f"python / {name}", f"{config['python']} / {config[key]}"),
        ],
    )
    out += table(
        ("detector", "version", "kind", "obsolete", "relevance"),
        [
            (f"`{d['name']}`", f"`{d['version']}`", d["kind"], "yes" if d["obsolete"] else "no", d["relevance"])
            for d in config["detectors"]
        ]
        or [("(none)", "", "", "", "")],
    )
    return out


def skipped_reasons(counts: dict[str, Any]) -> str:
    return "; ".join(f"{reason}: {n}" for reason, n in counts["skipped_by_reason"].items()) or "none"


def tpr_at_fpr_note(n_human: int) -> list[str]:
    return [
        "TPR @1%/5% FPR: the threshold is the lowest one that calls at most 1%/5% of the covered human "
        "files artificial, taken from the human scores; with fewer than 100 (20) covered human files that "
        f"means no false positive at all (the final verdict covers {n_human} human files).",
        "",
    ]


def brackets_sentence(boot: dict[str, Any]) -> str:
    """The sentence that says what the bracketed intervals are."""
    return (
        f"Brackets: {round(100 * boot['level'])}% bootstrap interval ({boot['method']}; {boot['n_resamples']} "
        f"resamples, seed {boot['seed']}) over the covered files."
    )


def errors_section(errors: Sequence[dict[str, Any]]) -> list[str]:
    if not errors:
        return []
    return ["## Errors", "", *[f"- `{e['file']}`: {escape(e['reason'] or '')}" for e in errors], ""]
