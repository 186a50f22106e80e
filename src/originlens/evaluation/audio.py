"""Measure the served speech analysis on a labelled set of recordings (``originlens eval`` on an
audio manifest such as ``shared/speech/eval/MANIFEST.csv``).

Each file goes through what the worker does with an upload: sniff the type from the content,
:func:`originlens.media.audio.read_audio`, :func:`originlens.pipeline.analyse_audio` under the
file's SHA-256 (so no file name can leak the label). What is scored is the whole-recording
verdict and each audio detector's whole-recording score. ``--align mp3-64k`` re-encodes every
file of both classes as MP3 64 kbps first and analyses that MP3, so both classes share one codec.

Nothing is tuned here: the shipped model, threshold and heuristic are measured as they are.
The numbers reuse :mod:`originlens.evaluation.metrics` (AUC, TPR at a fixed FPR, bootstrap
intervals), and the summaries, counts and Markdown sections are the image report's own
(:mod:`originlens.evaluation.common`), so image and audio reports read alike.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import platform
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from originlens import __version__
from originlens.detectors.registry import DetectorRegistry
from originlens.evaluation.common import (
    VERDICT,
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
from originlens.evaluation.metrics import roc_auc
from originlens.evaluation.report import write_reports
from originlens.evaluation.runner import (
    Analysis,
    ProgressCallback,
    RowResult,
    analyse_rows,
    check_heuristic,
    describe_detectors,
    manifest_field,
    read_manifest,
    run_date,
    scored_analysis,
    skip_reason,
)
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC

AUDIO_COLUMNS = ("file", "label", "system")
"""The columns that make a manifest an audio one (``speaker_or_dataset``, ``source_repo`` are read when present)."""
LABEL_ALIASES = {"human": "human", "synthetic": "artificial", "artificial": "artificial"}
"""The speech manifests say ``synthetic``; the service says ``artificial``."""
AUDIO_ALIGN_HELP = {
    "none": "each file analysed as it is",
    "mp3-64k": "every file of both classes re-encoded as MP3 64 kbps (mono, LAME) and that MP3 analysed",
}
AUDIO_ALIGN_MODES = tuple(AUDIO_ALIGN_HELP)
FPR_POINT = 0.05


def is_audio_manifest(manifest: str | Path) -> bool:
    """A manifest with a ``system`` column and no ``generator`` column lists recordings."""
    with Path(manifest).open(newline="", encoding="utf-8") as handle:
        header = set(next(csv.reader(handle), []))
    return set(AUDIO_COLUMNS) <= header and "generator" not in header


def parse_audio_align(value: str | None) -> str:
    mode = (value or "none").strip().lower()
    if mode not in AUDIO_ALIGN_HELP:
        raise ValueError(f"unknown alignment {value!r} for recordings; choose one of {', '.join(AUDIO_ALIGN_MODES)}")
    return mode


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class AudioRow:
    file: str
    """As written in the manifest: relative to the manifest's folder."""
    label: str
    """``human``, ``artificial`` (the manifest's ``synthetic``), or what the manifest said when
    it is neither (then the row is skipped)."""
    system: str
    path: Path
    dataset: str = ""
    """The manifest's ``speaker_or_dataset``."""
    source_repo: str = ""

    @property
    def labelled(self) -> bool:
        return self.label in ("human", "artificial")

    @property
    def source(self) -> str:
        """Where the clip comes from: its source repository, else its first two folders."""
        return self.source_repo or "/".join(Path(self.file).parts[:2])


def load_audio_manifest(manifest: str | Path, limit: int | None = None) -> list[AudioRow]:
    """Read an audio ``MANIFEST.csv`` (``file,label,system,speaker_or_dataset,source_repo,...``)."""

    def row(file: str, label: str, path: Path, record: dict[str, str]) -> AudioRow:
        return AudioRow(
            file=file,
            label=LABEL_ALIASES.get(label, label),
            system=manifest_field(record, "system"),
            path=path,
            dataset=manifest_field(record, "speaker_or_dataset"),
            source_repo=manifest_field(record, "source_repo"),
        )

    return read_manifest(manifest, AUDIO_COLUMNS, row, limit, what="audio manifest")


# --------------------------------------------------------------------------- analysis


@dataclass
class AudioFileResult(RowResult[AudioRow]):
    duration_s: float | None = None
    speech_seconds: float | None = None
    analysis: Analysis | None = None


@dataclass
class AudioEvaluationRun:
    config: dict[str, Any]
    files: list[AudioFileResult]
    detectors: list[dict[str, Any]]


def mp3_64k(data: bytes) -> bytes:
    """The recording re-encoded as the MP3 a phone or a messaging app would send: mono, 64 kbps."""
    from originlens.audio.features import SAMPLE_RATE, encode_audio
    from originlens.media.audio import read_audio

    return encode_audio(read_audio(data).samples, "mp3", sample_rate=SAMPLE_RATE, bitrate=64_000)


def analyse_recording(
    registry: DetectorRegistry, data: bytes, heuristic: str, max_seconds: float = 3600.0
) -> tuple[str, float, float | None, Analysis]:
    """What the worker does with one stored recording: (MIME type, duration, speech seconds, analysis).

    Raises :class:`originlens.media.audio.AudioError` (a sentence) when it cannot be decoded.
    """
    from originlens.media.audio import SNIFF_BYTES, AudioError, AudioLimits, read_audio, sniff_audio_type
    from originlens.pipeline import analyse_audio

    mime = sniff_audio_type(data[:SNIFF_BYTES])
    if mime is None:
        raise AudioError("not an audio format the service reads")
    decoded = read_audio(data, mime, AudioLimits(max_duration_s=max_seconds))
    outcome = analyse_audio(registry, decoded, mime, name=hashlib.sha256(data).hexdigest())
    analysis = scored_analysis(mime, outcome.results, outcome.verdict(heuristic))
    return mime, outcome.duration_s, outcome.speech_seconds, analysis


def _analyse_row(registry: DetectorRegistry, row: AudioRow, *, heuristic: str, align: str) -> AudioFileResult:
    if not row.labelled:
        return AudioFileResult(row, "skipped", reason=skip_reason(row))
    try:
        data = row.path.read_bytes()
    except OSError as exc:
        return AudioFileResult(row, "error", reason=f"cannot read the file: {exc.strerror or exc}")
    from originlens.media.audio import AudioError

    try:
        if align == "mp3-64k":
            data = mp3_64k(data)
        mime, duration, speech, analysis = analyse_recording(registry, data, heuristic)
    except AudioError as exc:
        return AudioFileResult(row, "error", reason=f"the recording could not be analysed: {exc}")
    except Exception as exc:  # one bad file must not end a long run
        return AudioFileResult(row, "error", reason=f"the analysis failed: {type(exc).__name__}: {exc}")
    return AudioFileResult(
        row, "analysed", mime_type=mime, duration_s=duration, speech_seconds=speech, analysis=analysis
    )


def audio_detectors(registry: DetectorRegistry) -> list[dict[str, Any]]:
    return describe_detectors(registry, lambda d: "audio" in d.modalities)


def run_audio_evaluation(
    manifest: str | Path,
    *,
    registry: DetectorRegistry | None = None,
    heuristic: str = DEFAULT_HEURISTIC,
    align: str = "none",
    limit: int | None = None,
    progress: Callable[[int], ProgressCallback] | None = None,
) -> AudioEvaluationRun:
    """Analyse every row of an audio ``manifest``; ``registry`` defaults to the service's own."""
    check_heuristic(heuristic)
    align = parse_audio_align(align)
    if registry is None:
        from originlens.container import build_registry
        from originlens.settings import Settings

        registry = build_registry(Settings())
    analyse = functools.partial(_analyse_row, registry, heuristic=heuristic, align=align)
    files, elapsed = analyse_rows(load_audio_manifest(manifest, limit), analyse, progress)
    import av

    config = {
        "manifest": str(manifest),
        "media": "audio",
        "date": run_date(),
        "originlens_version": __version__,
        "heuristic": heuristic,
        "align": align,
        "align_description": AUDIO_ALIGN_HELP[align],
        "limit": limit,
        "rows": len(files),
        "elapsed_s": round(elapsed, 2),
        "python": platform.python_version(),
        "pyav": av.__version__,
    }
    return AudioEvaluationRun(config=config, files=files, detectors=audio_detectors(registry))


# --------------------------------------------------------------------------- numbers

Pair = tuple[AudioFileResult, Analysis | None]


def _group_entry(members: Sequence[Pair], everyone: Sequence[Pair], scorer: str) -> dict[str, Any]:
    """One group (a system, a dataset, a source): its own calls, and its AUC against the other
    class. A one-class group (a synthesis system) is paired with every covered file of the other
    class in the whole set; a two-class group (a source) is measured on its own files."""
    points = [score_of(a, scorer) for _, a in members]
    labels = {r.row.label for r, _ in members}
    if len(labels) == 1:
        (label,) = labels
        others = [pair for pair in everyone if pair[0].row.label != label]
        auc = roc_auc(*covered_scores([*members, *others], scorer))
    else:
        label = "both"
        auc = roc_auc(*covered_scores(members, scorer))
    return {
        "label": label,
        "labels": label_counts(members),
        **call_shares(points),
        "auc": auc,
        "called_artificial_at_5pct_fpr": share_above(points, human_threshold(everyone, scorer, FPR_POINT)),
    }


def _groups(pairs: Sequence[Pair], key: Callable[[AudioRow], str], scorers: Sequence[str]) -> dict[str, Any]:
    grouped: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        grouped[key(pair[0].row) or "(none)"].append(pair)
    ordered = sorted(grouped, key=lambda name: (grouped[name][0][0].row.label != "human", name.lower()))
    return {name: {scorer: _group_entry(grouped[name], pairs, scorer) for scorer in scorers} for name in ordered}


def _unknown_reasons(pairs: Sequence[Pair], scorer: str) -> dict[str, int]:
    """Why the scorer said ``unknown``: the part of each reason before its colon ("no speech found")."""
    reasons: Counter[str] = Counter()
    for _, analysis in pairs:
        detector = analysis.detectors.get(scorer) if analysis else None
        if detector is not None and detector.unknown:
            reasons[(detector.reason or "no reason given").split(":")[0]] += 1
    return dict(reasons.most_common())


def _file_json(result: AudioFileResult) -> dict[str, Any]:
    analysis = result.analysis
    return {
        "file": result.row.file,
        "label": result.row.label or None,
        "system": result.row.system or None,
        "dataset": result.row.dataset or None,
        "source": result.row.source,
        "status": result.status,
        "reason": result.reason,
        "mime_type": result.mime_type,
        "duration_s": result.duration_s,
        "speech_seconds": result.speech_seconds,
        "detectors": None if analysis is None else detectors_json(analysis.detectors),
        "verdict": verdict_json(analysis.verdict if analysis else None),
    }


def build_audio_report(run: AudioEvaluationRun) -> dict[str, Any]:
    """Every number of an audio evaluation, JSON-ready (:func:`render_audio_markdown` only formats it)."""
    detectors = detector_names(run.detectors, (r.analysis for r in run.files))
    scorers = [VERDICT, *detectors]
    analysed = [r for r in run.files if r.status == "analysed"]
    pairs: list[Pair] = [(r, r.analysis) for r in analysed]
    durations = [r.duration_s for r in analysed if r.duration_s is not None]
    return {
        "config": {**run.config, "detectors": run.detectors},
        "counts": {
            **row_counts(run.files),
            "forced": dict(
                sorted(
                    Counter(
                        f"{a.verdict.forced_by} -> {a.verdict.classification} on {r.row.label}"
                        for r, a in pairs
                        if a is not None and a.verdict is not None and a.verdict.forced_by
                    ).items()
                )
            ),
            "seconds_analysed": round(sum(durations), 2),
            "shortest_s": min(durations) if durations else None,
            "longest_s": max(durations) if durations else None,
        },
        "summary": {scorer: summary_with_intervals(pairs, scorer) for scorer in scorers},
        "unknown_reasons": {d: _unknown_reasons(pairs, d) for d in detectors},
        "bootstrap": bootstrap_method(),
        "breakdowns": {
            "system": _groups(pairs, lambda row: row.system, scorers),
            "source": _groups(pairs, lambda row: row.source, scorers),
            "dataset": _groups(pairs, lambda row: row.dataset, scorers),
        },
        "errors": error_list(run.files),
        "files": [_file_json(r) for r in run.files],
    }


# --------------------------------------------------------------------------- Markdown


def _scorer_name(scorer: str, heuristic: str) -> str:
    return f"**final verdict** ({heuristic})" if scorer == VERDICT else f"`{scorer}`"


def _group_table(title: str, groups: dict[str, Any], scorer: str) -> list[str]:
    rows = []
    for name, entry in groups.items():
        g = entry[scorer]
        labels = ", ".join(f"{k} {v}" for k, v in g["labels"].items())
        rows.append(
            [escape(name), labels, f"{g['n_covered']}/{g['n']} ({pct(g['coverage'])})", *call_cells(g, g["auc"])]
        )
    header = (title, "labels", "covered", "called AI", "called human", "unknown", "AUC", "called AI @5% FPR")
    return table(header, rows)


def render_audio_markdown(report: dict[str, Any]) -> str:
    config, counts, summary = report["config"], report["counts"], report["summary"]
    heuristic = config["heuristic"]
    scorers = list(summary)
    align = config["align"]
    out = [
        "# originlens evaluation: speech",
        "",
        "<!-- Generated by `originlens eval` on an audio manifest (see docs/evaluating.md); do not edit "
        "by hand, regenerate with `scripts/eval_audio`. -->",
        "",
        f"What the service would answer for every labelled recording of `{config['manifest']}`, run "
        "in-process through `read_audio` and `analyse_audio` exactly as the worker runs an upload "
        "(whole-recording verdict; the 5 s chunks are not scored here). Nothing was tuned on this set.",
        "",
    ]
    if align != "none":
        out += [f"**Aligned (`--align {align}`)**: {config['align_description']}.", ""]
    out += run_configuration(
        config, [("alignment", f"`{align}`: {config['align_description']}")], library=("PyAV", "pyav")
    )
    skipped = skipped_reasons(counts)
    span = (
        ""
        if counts["shortest_s"] is None
        else f" Recordings last {counts['shortest_s']:g} to {counts['longest_s']:g} s "
        f"({counts['seconds_analysed'] / 60:.1f} min in all)."
    )
    out += [
        "## Summary",
        "",
        f"{counts['rows']} manifest rows: **{counts['analysed']} labelled recordings analysed** "
        f"({counts['analysed_human']} human, {counts['analysed_artificial']} synthetic), "
        f"{counts['skipped']} skipped ({skipped}), {counts['errors']} errors.{span} "
        + (
            "Verdicts forced by provenance: " + ", ".join(f"{k} ({n})" for k, n in counts["forced"].items()) + "."
            if counts["forced"]
            else "No verdict was forced by provenance."
        ),
        "",
        "Every metric is computed on the files the scorer *covered* (did not answer `unknown`, e.g. "
        '"no speech found"); coverage is the share of the analysed recordings it covered. A file is '
        "called artificial when its score is above 0.5: the shipped threshold, since the speech model "
        "maps its own threshold to 0.5. The verdict's score is its confidence when it says artificial "
        "and 1 - confidence when it says human. " + brackets_sentence(report["bootstrap"]),
        "",
    ]
    rows = []
    for scorer in scorers:
        s = summary[scorer]
        rows.append(
            [
                _scorer_name(scorer, heuristic),
                covered_cell(s),
                f"{s['n_human']} / {s['n_artificial']}",
                auc_cell(s),
                pct(s["accuracy"]),
                pct(s["tpr"]),
                pct(s["fpr"]),
                tpr_at_5pct_fpr_cell(s),
                pct(s["tpr_at_1pct_fpr"]),
            ]
        )
    out += table(
        (
            "scorer",
            "covered / labelled",
            "human / AI (covered)",
            "AUC [95% CI]",
            "accuracy @0.5",
            "TPR @0.5",
            "FPR @0.5 (human)",
            "TPR @5% FPR [95% CI]",
            "TPR @1% FPR",
        ),
        rows,
    )
    out += tpr_at_fpr_note(summary[VERDICT]["n_human"])
    reasons = {d: r for d, r in report["unknown_reasons"].items() if r}
    if reasons:
        out += ["Why a detector said `unknown`:", ""]
        out += table(
            ("detector", "reason", "files"),
            [(f"`{d}`", escape(k), n) for d, r in reasons.items() for k, n in r.items()],
        )
    breakdowns = report["breakdowns"]
    out += [
        "## Per system (final verdict)",
        "",
        "The manifest's `system` column (`human: <dataset>` for recordings). A system holds one "
        "class, so its own numbers are shares of its analysed files; *AUC*: its covered files against "
        "every covered file of the other class; *called AI @5% FPR*: share of its covered files above "
        "the threshold at 5% FPR on all human files (the TPR there for a synthesis system, where the "
        "false alarms fall for a human dataset). A percentage over 2-6 files is an anecdote, not a rate.",
        "",
    ]
    out += _group_table("system", breakdowns["system"], VERDICT)
    out += [
        "## Per source (final verdict)",
        "",
        "The manifest's `source_repo`: each demo page puts recordings and synthesised versions of the "
        "same sentences side by side, so a source's AUC is measured on its own two classes.",
        "",
    ]
    out += _group_table("source", breakdowns["source"], VERDICT)
    for detector in scorers[1:]:
        if not summary[detector]["n_covered"]:
            why = "; ".join(f"{k} ({n})" for k, n in report["unknown_reasons"].get(detector, {}).items())
            out += [f"`{detector}` judged none of the recordings" + (f": {escape(why)}." if why else "."), ""]
            continue
        same = all(entry[detector] == entry[VERDICT] for groups in breakdowns.values() for entry in groups.values())
        if same:  # the only voting model: its tables would repeat the verdict's
            out += [f"`{detector}` alone gives the verdict's numbers in every group above (it decides alone).", ""]
            continue
        out += [f"## Per source and per system: `{detector}` alone", ""]
        out += _group_table("source", breakdowns["source"], detector)
        out += _group_table("system", breakdowns["system"], detector)
    out += ["## Per dataset or speaker (final verdict)", "", "The manifest's `speaker_or_dataset` column.", ""]
    out += _group_table("dataset", breakdowns["dataset"], VERDICT)
    out += errors_section(report["errors"])
    out += _caveats(counts, align)
    return "\n".join(out).rstrip() + "\n"


def _caveats(counts: dict[str, Any], align: str) -> list[str]:
    longest = counts["longest_s"]
    short = (
        [
            f"- **Short recordings.** The longest recording here lasts {longest:g} s; users are told to "
            "send at least 10 s of speech. A verdict on a few seconds is harder than on a 10 s upload, "
            "and `too little speech` answers are expected on the shortest ones."
        ]
        if longest is not None and longest < 10
        else []
    )
    codec = (
        "Every file was re-encoded as MP3 64 kbps before the analysis, both classes alike: the codec "
        "cannot tell them apart here."
        if align != "none"
        else "Files were analysed as they are; a codec that differs between the classes would be "
        "measured too, which the `mp3-64k` report (both classes re-encoded alike) rules out."
    )
    return [
        "## Caveats",
        "",
        *short,
        f"- **Codec.** {codec}",
        f"- **Small numbers.** {counts['analysed_human']} human and {counts['analysed_artificial']} "
        "synthetic recordings; many systems have 2-6 files: read the intervals, not the third digit.",
        "- **0.5 is the shipped threshold**, not one chosen on this set; AUC and TPR at a fixed FPR do "
        "not depend on it.",
        "- From the speech set's README (`shared/speech/README.md`): train and eval are split **by "
        "source repository** (no demo page contributes to both), but some systems appear in both "
        "splits from different pages, so this measures new pages and speakers more than new systems; "
        "most synthetic clips re-say a human clip's sentence, often in the same voice.",
        "- Detectors see each file under its SHA-256, as in the service, so file names cannot leak labels.",
        "",
    ]


def write_audio_reports(report: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write ``<out>.md`` and ``<out>.json``; returns their paths."""
    return write_reports(report, out, render_audio_markdown)
