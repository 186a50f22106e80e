"""Turn an :class:`~originlens.evaluation.runner.EvaluationRun` into numbers, Markdown and JSON.

:func:`build_report` computes every number (a JSON-ready dict); :func:`render_markdown`
only formats that dict, so the Markdown and the JSON can never disagree.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from originlens.evaluation.common import (
    VERDICT,
    ScoredPair,
    auc_cell,
    bootstrap_method,
    brackets_sentence,
    call_cells,
    call_shares,
    covered_cell,
    covered_scores,
    detector_names,
    detectors_json,
    error_list,
    errors_section,
    escape,
    human_threshold,
    label_counts,
    num,
    pct,
    row_counts,
    run_configuration,
    score_of,
    share_above,
    skipped_reasons,
    summary_with_intervals,
    table,
    tpr_at_5pct_fpr_cell,
    tpr_at_fpr_note,
    verdict_json,
)
from originlens.evaluation.families import (
    CNNDETECTION_PART,
    FAMILIES,
    PARTS,
    RECENT_PART,
    family_label,
    family_of,
    part_of,
)
from originlens.evaluation.metrics import (
    binary_summary,
    roc_auc,
)
from originlens.evaluation.perturbations import ALIGN_HELP
from originlens.evaluation.runner import (
    PERTURBATION_HELP,
    Analysis,
    EvaluationRun,
    FileResult,
)

WHOLE_SET = "whole set"
FAMILY_FPR = 0.05
"""The families' operating point: each part's threshold at 5% FPR on its human files."""

Pair = tuple[FileResult, Analysis | None]


# --------------------------------------------------------------------------- numbers


def _summary(pairs: Sequence[ScoredPair], scorer: str) -> dict[str, Any]:
    return binary_summary(*covered_scores(pairs, scorer), n_total=len(pairs))


_GROUP_KEYS = ("n_labelled", "n_covered", "coverage", "n_human", "n_artificial", "accuracy", "fpr", "tpr", "auc")


def _group(pairs: Sequence[Pair], scorer: str) -> dict[str, Any]:
    summary = _summary(pairs, scorer)
    out = {key: summary[key] for key in _GROUP_KEYS}
    out["labels"] = label_counts(pairs)
    return out


def _scorers(run: EvaluationRun) -> list[str]:
    analyses = (a for r in run.files for a in [r.baseline, *r.perturbed.values()])
    return detector_names(run.detectors, analyses)


def _kinds(run: EvaluationRun) -> dict[str, str]:
    kinds = {d["name"]: str(d.get("kind", "statistical")) for d in run.detectors}
    for result in run.files:
        for name, detector in (result.baseline.detectors if result.baseline else {}).items():
            kinds.setdefault(name, detector.kind)
    return kinds


def _all_summaries(pairs: Sequence[Pair], detectors: Sequence[str], kinds: dict[str, str]) -> dict[str, Any]:
    return {
        VERDICT: _summary(pairs, VERDICT),
        "detectors": {name: {"kind": kinds.get(name, "statistical"), **_summary(pairs, name)} for name in detectors},
    }


def _breakdown(pairs: Sequence[Pair], key: Callable[[FileResult], str], detectors: Sequence[str]) -> dict[str, Any]:
    groups: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[key(pair[0])].append(pair)
    out = {}
    for name in sorted(groups):
        members = groups[name]
        entry = _group(members, VERDICT)
        entry["forced"] = sum(1 for _, a in members if a and a.verdict and a.verdict.forced_by)
        entry["detectors"] = {d: _group(members, d) for d in detectors}
        out[name] = entry
    return out


def _forcing(pairs: Sequence[Pair]) -> dict[str, Any]:
    by: dict[str, dict[str, dict[str, int]]] = {}
    evidence: Counter[str] = Counter()
    wrong_artificial: list[str] = []
    wrong_human: list[str] = []
    forced = 0
    for result, analysis in pairs:
        verdict = analysis.verdict if analysis else None
        if verdict is None:
            evidence["none"] += 1
            continue
        evidence[verdict.evidence if not verdict.unknown else "none"] += 1
        if not verdict.forced_by:
            continue
        forced += 1
        cell = by.setdefault(verdict.forced_by, {}).setdefault(f"forced {verdict.classification}", {})
        cell[f"on {result.row.label}"] = cell.get(f"on {result.row.label}", 0) + 1
        if verdict.evidence == "provenance" and verdict.classification == "artificial" and result.row.label == "human":
            wrong_artificial.append(f"{result.row.file} (by {verdict.forced_by})")
        if verdict.classification == "human" and result.row.label == "artificial":
            wrong_human.append(f"{result.row.file} (by {verdict.forced_by})")
    return {
        "n_files": len(pairs),
        "forced": forced,
        "by_detector": by,
        "evidence": dict(sorted(evidence.items())),
        "forced_artificial_on_human": wrong_artificial,
        "forced_human_on_artificial": wrong_human,
    }


def _evidence(analysis: Analysis | None) -> str | None:
    return analysis.verdict.evidence if analysis and analysis.verdict else None


def _forced_by(analysis: Analysis | None) -> str | None:
    return analysis.verdict.forced_by if analysis and analysis.verdict else None


def _flips(pairs: Sequence[tuple[FileResult, Analysis | None, Analysis | None]], scorer: str) -> dict[str, Any]:
    """How often the call (artificial vs human) changed between the baseline and the perturbed copy."""
    compared = flips = 0
    to_artificial: list[str] = []
    to_human: list[str] = []
    pixel_compared = pixel_flips = 0
    for result, before, after in pairs:
        a, b = score_of(before, scorer), score_of(after, scorer)
        if a is None or b is None:
            continue
        compared += 1
        if (a > 0.5) != (b > 0.5):
            flips += 1
            (to_artificial if b > 0.5 else to_human).append(result.row.file)
        if _evidence(before) == _evidence(after) == "statistical":
            pixel_compared += 1
            pixel_flips += (a > 0.5) != (b > 0.5)
    out: dict[str, Any] = {
        "compared": compared,
        "flips": flips,
        "flip_rate": flips / compared if compared else None,
        "flipped_to_artificial": to_artificial,
        "flipped_to_human": to_human,
    }
    if scorer == VERDICT:
        out["statistical_compared"] = pixel_compared
        out["statistical_flips"] = pixel_flips
        out["statistical_flip_rate"] = pixel_flips / pixel_compared if pixel_compared else None
    return out


def _perturbation(
    name: str, analysed: Sequence[FileResult], detectors: Sequence[str], kinds: dict[str, str]
) -> dict[str, Any]:
    triples = [(r, r.baseline, r.perturbed.get(name)) for r in analysed]
    perturbed_pairs: list[Pair] = [(r, after) for r, _, after in triples]
    base_cov = sum(1 for _, before, _ in triples if score_of(before, VERDICT) is not None)
    pert_cov = sum(1 for _, _, after in triples if score_of(after, VERDICT) is not None)
    n = len(triples)
    lost_forcing = sum(1 for _, before, after in triples if _forced_by(before) and not _forced_by(after))
    return {
        "description": PERTURBATION_HELP.get(name, name),
        "n_files": n,
        "errors": [r.row.file for r, _, after in triples if after is None or after.error],
        "coverage_baseline": base_cov / n if n else None,
        "coverage_perturbed": pert_cov / n if n else None,
        "coverage_change": (pert_cov - base_cov) / n if n else None,
        "forcing_lost": lost_forcing,
        "verdict_flips": _flips(triples, VERDICT),
        "detector_flips": {d: _flips(triples, d) for d in detectors},
        "summary": _all_summaries(perturbed_pairs, detectors, kinds),
    }


def _analysis_json(analysis: Analysis | None, *, reasons: bool = True) -> dict[str, Any] | None:
    if analysis is None:
        return None
    verdict = analysis.verdict
    return {
        "mime_type": analysis.mime_type or None,
        "error": analysis.error,
        "detectors": detectors_json(analysis.detectors, reasons=reasons),
        "verdict": verdict_json(verdict),
        "forced_by": verdict.forced_by if verdict else None,
    }


def _file_json(result: FileResult) -> dict[str, Any]:
    base = _analysis_json(result.baseline) or {}
    out: dict[str, Any] = {
        "file": result.row.file,
        "label": result.row.label or None,
        "generator": result.row.generator or None,
        "source": result.row.source,
        "part": part_of(result.row.file),
        "family": _family(result),
        "status": result.status,
        "reason": result.reason,
        "mime_type": result.mime_type,
        "detectors": base.get("detectors"),
        "verdict": base.get("verdict"),
        "forced_by": base.get("forced_by"),
    }
    if result.perturbed:
        out["perturbations"] = {name: _analysis_json(a, reasons=False) for name, a in result.perturbed.items()}
    return out


def _family(result: FileResult) -> str | None:
    row = result.row
    return family_of(row.file, row.generator, row.notes, row.label)


_PART_KEYS = ("n_labelled", "n_covered", "coverage", "n_human", "n_artificial", "auc", "tpr", "fpr", "tpr_at_5pct_fpr")


def _part_entry(pairs: Sequence[Pair], scorer: str) -> dict[str, Any]:
    """The headline numbers of one scorer on one part, with bootstrap intervals on the covered files."""
    summary = summary_with_intervals(pairs, scorer)
    return {key: summary[key] for key in (*_PART_KEYS, "labels", "auc_ci", "tpr_at_5pct_fpr_ci")}


def _part_members(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    """The whole set first, then each part that has files, in :data:`PARTS` order."""
    groups: dict[str, list[Pair]] = {WHOLE_SET: list(pairs)}
    for part in PARTS:
        members = [pair for pair in pairs if part_of(pair[0].row.file) == part]
        if members:
            groups[part] = members
    return groups


def _parts(pairs: Sequence[Pair], detectors: Sequence[str]) -> dict[str, Any]:
    return {
        name: {VERDICT: _part_entry(members, VERDICT), "detectors": {d: _part_entry(members, d) for d in detectors}}
        for name, members in _part_members(pairs).items()
    }


def _family_entry(family: str, members: Sequence[Pair], part: Sequence[Pair], scorer: str) -> dict[str, Any]:
    """One family (one class) against the files of the other class in its part.

    Shares are of all the family's analysed files; the AUC pairs the family's covered files with
    the other class's covered files of the part; ``called_artificial_at_5pct_fpr`` is the share of
    the family's covered files above the part's threshold at 5% FPR on *all* its human files
    (for an AI family its TPR at that operating point, for a human family its false alarms there).
    """
    label = family_label(family)
    points = [score_of(analysis, scorer) for _, analysis in members]
    shares = call_shares(points)
    others = [pair for pair in part if pair[0].row.label != label]
    scores, labels = covered_scores([*members, *others], scorer)
    return {
        "label": label,
        **shares,
        "n_other_class_covered": len(scores) - shares["n_covered"],
        "auc_vs_other_class": roc_auc(scores, labels),
        "called_artificial_at_5pct_fpr": share_above(points, human_threshold(part, scorer, FAMILY_FPR)),
    }


def _families(pairs: Sequence[Pair], detectors: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part, members in _part_members(pairs).items():
        if part == WHOLE_SET:
            continue
        by_family: dict[str, list[Pair]] = defaultdict(list)
        for pair in members:
            family = _family(pair[0])
            if family is not None:
                by_family[family].append(pair)
        out[part] = {
            family: {
                **_family_entry(family, by_family[family], members, VERDICT),
                "generators": dict(sorted(Counter(r.row.generator or "(none)" for r, _ in by_family[family]).items())),
                "detectors": {d: _family_entry(family, by_family[family], members, d) for d in detectors},
            }
            for family in FAMILIES
            if by_family.get(family)
        }
    return out


def _alignment(run: EvaluationRun) -> dict[str, Any]:
    mode = str(run.config.get("align", "none"))
    return {
        "mode": mode,
        "description": ALIGN_HELP.get(mode, mode),
        "images_aligned": 0 if mode == "none" else sum(1 for r in run.files if r.status == "analysed"),
        "videos_not_aligned": sum(1 for r in run.files if r.video),
    }


def build_report(run: EvaluationRun) -> dict[str, Any]:
    """Every number of the evaluation, JSON-ready."""
    detectors = _scorers(run)
    kinds = _kinds(run)
    analysed = [r for r in run.files if r.status == "analysed"]
    pairs: list[Pair] = [(r, r.baseline) for r in analysed]
    report: dict[str, Any] = {
        "config": {**run.config, "detectors": run.detectors},
        "counts": row_counts(run.files),
        "summary": _all_summaries(pairs, detectors, kinds),
        "alignment": _alignment(run),
        "parts": _parts(pairs, detectors),
        "families": _families(pairs, detectors),
        "bootstrap": bootstrap_method(),
        "forcing": _forcing(pairs),
        "breakdowns": {
            "source": _breakdown(pairs, lambda r: r.row.source, detectors),
            "generator": _breakdown(pairs, lambda r: r.row.generator or "(none)", detectors),
        },
        "perturbations": {
            name: _perturbation(name, analysed, detectors, kinds) for name in run.config.get("perturbations", [])
        },
        "errors": error_list(run.files),
        "files": [_file_json(r) for r in run.files],
    }
    return report


# --------------------------------------------------------------------------- JSON


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become ``null``; floats keep 6 decimals."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def to_json(report: dict[str, Any]) -> str:
    """Indented, except that each per-file entry takes one line (diffable, a third of the size)."""
    body = _clean(report)
    files = body.pop("files", [])
    head = json.dumps(body, indent=1, ensure_ascii=False, allow_nan=False)
    lines = [json.dumps(f, ensure_ascii=False, allow_nan=False, separators=(",", ":")) for f in files]
    listing = "[\n  " + ",\n  ".join(lines) + "\n ]" if lines else "[]"
    return (head[:-2] + ",\n" if body else "{\n") + f' "files": {listing}\n}}\n'


# --------------------------------------------------------------------------- Markdown


def _signed_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f} pp"


def _summary_rows(summary: dict[str, Any], heuristic: str) -> list[list[str]]:
    rows = []
    entries = [(f"**final verdict** ({heuristic})", "verdict", summary[VERDICT])]
    entries += [(f"`{name}`", s["kind"], s) for name, s in summary["detectors"].items()]
    for name, kind, s in entries:
        rows.append(
            [
                name,
                kind,
                covered_cell(s),
                f"{s['n_human']} / {s['n_artificial']}",
                num(s["auc"]),
                pct(s["accuracy"]),
                pct(s["tpr"]),
                pct(s["fpr"]),
                pct(s["tpr_at_1pct_fpr"]),
                pct(s["tpr_at_5pct_fpr"]),
            ]
        )
    return rows


_SUMMARY_HEADER = (
    "scorer",
    "kind",
    "covered / labelled",
    "human / AI (covered)",
    "AUC",
    "accuracy @0.5",
    "TPR @0.5",
    "FPR @0.5 (human)",
    "TPR @1% FPR",
    "TPR @5% FPR",
)


def _group_rows(groups: dict[str, Any], with_labels: bool = True) -> list[list[str]]:
    rows = []
    for name, g in groups.items():
        labels = ", ".join(f"{k or 'unlabelled'} {v}" for k, v in g["labels"].items())
        row = [escape(name)]
        if with_labels:
            row.append(labels)
        row += [
            str(g["n_labelled"]),
            f"{g['n_covered']} ({pct(g['coverage'])})",
            pct(g["accuracy"]),
            pct(g["fpr"]),
            pct(g["tpr"]),
            num(g["auc"]),
            str(g["forced"]),
        ]
        rows.append(row)
    return rows


def _detector_cell(g: dict[str, Any]) -> str:
    if not g["n_covered"]:
        return f"— (0/{g['n_labelled']})"
    return f"{pct(g['accuracy'])} ({g['n_covered']}/{g['n_labelled']})"


def render_markdown(report: dict[str, Any]) -> str:
    config, counts, summary, forcing = report["config"], report["counts"], report["summary"], report["forcing"]
    heuristic = config["heuristic"]
    detectors = list(summary["detectors"])
    out: list[str] = [
        "# originlens evaluation",
        "",
        "<!-- Generated by `originlens eval` (see docs/evaluating.md); do not edit by hand, "
        "regenerate with `scripts/eval`. -->",
        "",
        f"What the service would answer for every labelled image of `{config['manifest']}`, "
        "run in-process through `analyse_media` exactly as the worker runs it.",
        "",
        "The option models, which never vote in this verdict (faces, morphing, tampering, NSFW), "
        "are measured by the scripts beside this harness: see `docs/evaluation-options.md`. "
        "The experimental pixel models are measured in `docs/evaluation-pixel.md`.",
        "",
    ]
    alignment = report.get("alignment") or {"mode": "none"}
    if alignment["mode"] != "none":
        out += [
            f"**Aligned (`--align {alignment['mode']}`)**: {_align_sentence(alignment)}",
            "",
        ]
    perturbations = ", ".join(config["perturbations"]) or "none"
    out += run_configuration(
        config,
        [
            ("alignment", f"`{alignment['mode']}`: {alignment.get('description', '')}"),
            (
                "metadata",
                "**stripped** by the alignment re-encode (nothing of the file survives it): pixel detectors alone"
                if alignment["mode"] != "none"
                else "**stripped** (lossless PNG of the pixels, frame 0): pixel detectors alone"
                if config["strip_metadata"]
                else "kept (files analysed as submitted)",
            ),
            ("perturbations", perturbations),
        ],
        library=("Pillow", "pillow"),
    )
    skipped = skipped_reasons(counts)
    out += [
        "## Summary",
        "",
        f"{counts['rows']} manifest rows: **{counts['analysed']} labelled images analysed** "
        f"({counts['analysed_human']} human, {counts['analysed_artificial']} artificial), "
        f"{counts['skipped']} skipped ({skipped}), {counts['errors']} errors.",
        "",
        "Every metric is computed on the files the scorer *covered* (did not answer `unknown`); "
        "coverage is the share of the analysed labelled images it covered. A file is called "
        "artificial when its score is above 0.5. The verdict's score is its confidence when it says "
        "artificial and 1 - confidence when it says human. `n/a`: the metric needs a class that "
        "the covered files lack.",
        "",
    ]
    out += table(_SUMMARY_HEADER, _summary_rows(summary, heuristic))
    out += tpr_at_fpr_note(summary[VERDICT]["n_human"])
    if report.get("parts"):
        out += _parts_section(report, detectors)
    out += [
        "## Provenance forcing",
        "",
        f"{forcing['forced']} of {forcing['n_files']} verdicts were forced by conclusive provenance. "
        "Evidence behind the verdicts: " + ", ".join(f"{k} {v}" for k, v in forcing["evidence"].items()) + ".",
        "",
    ]
    if forcing["by_detector"]:
        rows = []
        for name, outcomes in forcing["by_detector"].items():
            for outcome, by_label in outcomes.items():
                rows.append(
                    (
                        f"`{name}`",
                        outcome.removeprefix("forced "),
                        by_label.get("on human", 0),
                        by_label.get("on artificial", 0),
                    )
                )
        out += table(("forced by", "forced to", "on human files", "on artificial files"), rows)
    wrong = forcing["forced_artificial_on_human"]
    if wrong:
        out += [
            f"**⚠ PROVENANCE-FORCED `artificial` VERDICTS ON HUMAN FILES: {len(wrong)} (MUST BE ZERO)**",
            "",
            *[f"- `{item}`" for item in wrong],
            "",
        ]
    else:
        out += ["**Provenance-forced `artificial` verdicts on human files: 0** (must be zero: it is).", ""]
    if forcing["forced_human_on_artificial"]:
        out += [
            f"Provenance-forced `human` verdicts on artificial files: {len(forcing['forced_human_on_artificial'])}:",
            "",
            *[f"- `{item}`" for item in forcing["forced_human_on_artificial"]],
            "",
        ]
    if report["perturbations"]:
        out += _perturbation_section(report, detectors)
    out += [
        "## Per source (final verdict)",
        "",
        "Source = the first two folders of the file's path. FPR: share of covered human files called "
        "artificial; TPR: share of covered artificial files called artificial.",
        "",
    ]
    group_header = ("labels", "n", "covered", "accuracy", "FPR", "TPR", "AUC", "forced")
    out += table(("source", *group_header), _group_rows(report["breakdowns"]["source"]))
    if detectors:
        out += [
            "## Per source and detector",
            "",
            "Each cell: accuracy at 0.5 on the covered files (covered / analysed); `—`: the detector covered none.",
            "",
        ]
        out += table(
            ("source", *[f"`{d}`" for d in detectors]),
            [
                [escape(name), *[_detector_cell(g["detectors"][d]) for d in detectors]]
                for name, g in report["breakdowns"]["source"].items()
            ],
        )
    out += ["## Per generator (final verdict)", "", "The manifest's `generator` column.", ""]
    out += table(("generator", *group_header), _group_rows(report["breakdowns"]["generator"]))
    out += errors_section(report["errors"])
    out += _caveats(config)
    return "\n".join(out).rstrip() + "\n"


def _align_sentence(alignment: dict[str, Any]) -> str:
    half = alignment["mode"] == "half-jpeg90"
    resize = "resized to half of each side (Lanczos, at least 1 px), then " if half else "then "
    return (
        "before the analysis every image of both classes was decoded (first frame, EXIF orientation "
        "applied, alpha flattened on white, 8-bit RGB), "
        f"{resize}re-encoded as JPEG quality 90 with 4:2:0 chroma subsampling (Pillow). The aligned "
        "JPEG is what the pipeline analysed (sniffed as JPEG) and what the perturbations start from. "
        "**Metadata does not survive the re-encode**: this run measures the pixel detectors alone, "
        "and both classes share one container, quality and chroma subsampling. "
        f"{alignment.get('images_aligned', 0)} images aligned; "
        f"{alignment.get('videos_not_aligned', 0)} video file(s) **not aligned** (left as they are, "
        "and skipped: this harness analyses images)."
    )


def _labels_cell(entry: dict[str, Any]) -> str:
    labels = entry["labels"]
    return f"{entry['n_labelled']} ({labels.get('human', 0)} / {labels.get('artificial', 0)})"


def _parts_section(report: dict[str, Any], detectors: Sequence[str]) -> list[str]:
    boot = report["bootstrap"]
    out = [
        "## Parts and families (the measuring stick)",
        "",
        f"Parts: **{CNNDETECTION_PART}** = the files under `ai/cnndetection/` and `real/cnndetection/` "
        "(GANs and AI processing of photos against dataset photos and GTA-V renders, small crops); "
        f"**{RECENT_PART}** = every other labelled file. A pooled number mixes two very different "
        "tests: read each part.",
        "",
        f"{brackets_sentence(boot)} TPR/FPR @0.5 are the shipped verdict's "
        "calls (covered files only); coverage is the share with a decided verdict.",
        "",
    ]
    rows = []
    for name, part in report["parts"].items():
        v = part[VERDICT]
        rows.append(
            [
                f"**{name}**" if name == WHOLE_SET else name,
                _labels_cell(v),
                pct(v["coverage"]),
                auc_cell(v),
                pct(v["tpr"]),
                pct(v["fpr"]),
                tpr_at_5pct_fpr_cell(v),
            ]
        )
    out += table(
        ("part", "n (human / AI)", "coverage", "AUC [95% CI]", "TPR @0.5", "FPR @0.5 (human)", "TPR @5% FPR [95% CI]"),
        rows,
    )
    if detectors:
        out += ["Each detector on each part (its own covered files):", ""]
        rows = []
        for name, part in report["parts"].items():
            for d in detectors:
                s = part["detectors"][d]
                rows.append(
                    [
                        name,
                        f"`{d}`",
                        covered_cell(s),
                        auc_cell(s),
                        pct(s["fpr"]),
                        tpr_at_5pct_fpr_cell(s),
                    ]
                )
        out += table(
            ("part", "detector", "covered", "AUC [95% CI]", "FPR @0.5", "TPR @5% FPR [95% CI]"),
            rows,
        )
    out += [
        "Families (final verdict). A family holds one class, so its own numbers are shares of its "
        "analysed files: called AI, called human, unknown (no decided verdict). *AUC vs other class*: "
        "the family's covered files against every covered file of the other class in the same part "
        "(an AI family against all the part's human files, a human family against all its AI files). "
        "*Called AI @5% FPR*: share of the family's covered files above the part's threshold at 5% "
        "FPR on all its human files: the TPR there for an AI family, where the false alarms fall for "
        "a human family. Families come from the manifest's generator and notes text "
        "(`originlens.evaluation.families`), never from a result.",
        "",
    ]
    rows = []
    for part, families in report["families"].items():
        for family, f in families.items():
            rows.append(
                [
                    part,
                    family,
                    "AI" if f["label"] == "artificial" else "human",
                    str(f["n"]),
                    *call_cells(f, f["auc_vs_other_class"]),
                ]
            )
    out += table(
        (
            "part",
            "family",
            "class",
            "n",
            "called AI",
            "called human",
            "unknown",
            "AUC vs other class",
            "called AI @5% FPR",
        ),
        rows,
    )
    if detectors:
        out += ["Each detector's AUC per family (vs the other class of the part; covered / n):", ""]
        rows = []
        for part, families in report["families"].items():
            for family, f in families.items():
                cells = []
                for d in detectors:
                    g = f["detectors"][d]
                    cells.append(f"{num(g['auc_vs_other_class'])} ({g['n_covered']}/{g['n']})")
                rows.append([part, family, *cells])
        out += table(("part", "family", *[f"`{d}`" for d in detectors]), rows)
    generators = [
        f"{family} ({part.split()[0]}): " + ", ".join(f"{escape(g)} {n}" for g, n in f["generators"].items())
        for part, families in report["families"].items()
        for family, f in families.items()
    ]
    out += ["<details><summary>Which generators are in each family</summary>", ""]
    out += [f"- {line}" for line in generators]
    out += ["", "</details>", ""]
    return out


def _perturbation_section(report: dict[str, Any], detectors: Sequence[str]) -> list[str]:
    align = str(report["config"].get("align", "none"))
    out = [
        "## Robustness to perturbations",
        "",
        "Each analysed image was perturbed (from its pixels, frame 0, with no metadata"
        + (f"; from the `{align}`-aligned JPEG" if align != "none" else "")
        + ") and analysed again. "
        "Flip rate: share of the files covered in both runs whose final classification changed. "
        "*Statistical flips* count only files whose verdict came from the pixel detectors in both runs "
        "(without `--strip-metadata`, the plain flip rate also counts provenance lost with the metadata).",
        "",
    ]
    rows = []
    for name, p in report["perturbations"].items():
        flips = p["verdict_flips"]
        s = p["summary"][VERDICT]
        rows.append(
            [
                f"{name} ({p['description']})",
                f"{flips['flips']}/{flips['compared']} ({pct(flips['flip_rate'])})",
                f"{flips['statistical_flips']}/{flips['statistical_compared']} ({pct(flips['statistical_flip_rate'])})",
                f"{len(flips['flipped_to_artificial'])} / {len(flips['flipped_to_human'])}",
                f"{pct(p['coverage_baseline'])} → {pct(p['coverage_perturbed'])} ({_signed_pct(p['coverage_change'])})",
                str(p["forcing_lost"]),
                num(s["auc"]),
                pct(s["accuracy"]),
                pct(s["fpr"]),
                pct(s["tpr_at_5pct_fpr"]),
                str(len(p["errors"])),
            ]
        )
    out += table(
        (
            "perturbation",
            "verdict flips",
            "statistical flips",
            "to AI / to human",
            "coverage",
            "forcing lost",
            "AUC",
            "accuracy",
            "FPR",
            "TPR @5% FPR",
            "errors",
        ),
        rows,
    )
    if detectors:
        out += ["Per detector on the perturbed copies (flips: the detector's own call changed).", ""]
        rows = []
        for name, p in report["perturbations"].items():
            for d in detectors:
                s = p["summary"]["detectors"][d]
                f = p["detector_flips"][d]
                rows.append(
                    [
                        name,
                        f"`{d}`",
                        covered_cell(s),
                        num(s["auc"]),
                        pct(s["accuracy"]),
                        pct(s["fpr"]),
                        f"{f['flips']}/{f['compared']} ({pct(f['flip_rate'])})",
                    ]
                )
        out += table(("perturbation", "detector", "covered", "AUC", "accuracy", "FPR", "flips"), rows)
    return out


def _caveats(config: dict[str, Any]) -> list[str]:
    strip = config["strip_metadata"]
    align = str(config.get("align", "none"))
    return [
        "## Caveats",
        "",
        "From the eval set's README (`shared/eval/README.md`):",
        "",
        "1. **Metadata in the AI files.** Every ComfyUI image carries its workflow in PNG chunks (the "
        "animated WebPs in EXIF), and the `metadata/` folder is generator chunks on purpose. A score on "
        "unstripped files measures the metadata readers as much as the pixels; "
        + (
            "this run stripped all metadata, so the scores are the pixel detectors' alone."
            if strip
            else "run `originlens eval --strip-metadata` for the pixel detectors alone."
        ),
        "2. **CNNDetection crops.** Every CNNDetection file (real and fake) is a lossless 224x224 centre crop "
        "of a JPEG project-page thumbnail, cut so the thumbnail's frame (whose colour gave the label away) "
        "is gone. Both classes went through the same processing, but they are small, twice-processed "
        "images unlike anything a user uploads.",
        "3. **Labels are about generative AI, not about cameras.** Some `artificial` files are AI "
        "processing of real photos (SAN super-resolution, SITD, DeepFakes, inpainting); some `human` "
        "files are renders: the CRN/IMLE reals are GTA-V frames, plus Gran Turismo 5 and Big Buck Bunny.",
        "4. **PNG vs JPEG confound.** Most AI files are PNG and most camera photos are JPEG, so a detector "
        "can score well by recognising the container. "
        + (
            f"This run re-encoded every image of both classes identically (`--align {align}`), which "
            "removes the container, quality and (with `half-jpeg90`) part of the size differences."
            if align != "none"
            else "Read the per-source tables, not only the pooled numbers, the `jpeg75`/`jpeg90` rows, "
            "and the `--align jpeg90`/`half-jpeg90` reports, which put every file in the same container."
        ),
        "",
        "From the harness:",
        "",
        "- Small numbers: many sources and generators have a handful of files; a percentage over 1-15 "
        "files is an anecdote, not a rate.",
        "- 0.5 is an uncalibrated threshold; AUC and TPR at a fixed FPR do not depend on it.",
        "- Provenance detectors give fixed scores (e.g. C2PA 0.99 for a valid AI assertion, 0.05 for a "
        "capture claim) and are `unknown` on most files: read their coverage before their AUC.",
        "- Videos, XML annotations and formats the service does not accept (HEIC) are skipped, exactly "
        "as the service would refuse them; unlabelled rows are never scored.",
        "- Detectors see each file under its SHA-256, as in the service, so file names cannot leak labels.",
        "- Perturbed copies carry no metadata; `half` and `crop50` re-save JPEG sources as JPEG "
        "(quality 95) and everything else as lossless PNG"
        + (" (with `--align`, every source is the aligned JPEG)." if align != "none" else "."),
        "- Intervals: a bootstrap interval shows how much the number moves with *these* files; it does "
        "not cover files unlike them (other generators, other cameras).",
        "",
    ]


def write_reports(
    report: dict[str, Any], out: str | Path, render: Callable[[dict[str, Any]], str] = render_markdown
) -> tuple[Path, Path]:
    """Write ``<out>.md`` (``render``: the image report's by default) and ``<out>.json``; returns their paths."""
    out = Path(out)
    if out.suffix in {".md", ".json"}:
        out = out.with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out.with_name(out.name + ".md"), out.with_name(out.name + ".json")
    md_path.write_text(render(report), encoding="utf-8")
    json_path.write_text(to_json(report), encoding="utf-8")
    return md_path, json_path
