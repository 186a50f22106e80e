"""Measure the served analysis on a labelled set: ``originlens eval MANIFEST.csv``.

:func:`run_evaluation` analyses every manifest row through the worker's own pipeline,
:func:`build_report` computes the metrics, :func:`write_reports` writes Markdown and JSON.
See ``docs/evaluating.md``.
"""

from originlens.evaluation.report import build_report, render_markdown, to_json, write_reports
from originlens.evaluation.runner import (
    PERTURBATIONS,
    EvaluationRun,
    load_manifest,
    parse_perturbations,
    run_evaluation,
)

__all__ = [
    "PERTURBATIONS",
    "EvaluationRun",
    "build_report",
    "load_manifest",
    "parse_perturbations",
    "render_markdown",
    "run_evaluation",
    "to_json",
    "write_reports",
]
