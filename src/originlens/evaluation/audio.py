"""Measure the served speech analysis on a labelled set of recordings (``originlens eval`` on an
audio manifest such as ``shared/speech/eval/MANIFEST.csv``).

Each file goes through what the worker does with an upload: sniff the type from the content,
:func:`originlens.media.audio.read_audio`, :func:`originlens.pipeline.analyse_audio` under the
file's SHA-256 (so no file name can leak the label). What is scored is the whole-recording
verdict and each audio detector's whole-recording score. ``--align mp3-64k`` re-encodes every
file of both classes as MP3 64 kbps first and analyses that MP3, so both classes share one codec.

Nothing is tuned here: the shipped model, threshold and heuristic are measured as they are.
The numbers reuse :mod:`originlens.evaluation.metrics` (AUC, TPR at a fixed FPR, bootstrap
intervals) and the report's Markdown helpers, so image and audio reports read alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from originlens import __version__
from originlens.detectors.registry import DetectorRegistry
from originlens.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    binary_summary,
    bootstrap_intervals,
    roc_auc,
    threshold_at_fpr,
)
from originlens.evaluation.report import _ci, _escape, _num, _pct, _table
from originlens.evaluation.runner import Analysis, DetectorScore, ProgressCallback, _artificial_score, _verdict_record
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC, HEURISTICS

AUDIO_COLUMNS = ("file", "label", "system")
"""The columns that make a manifest an audio one (``speaker_or_dataset``, ``source_repo`` are read when present)."""
LABEL_ALIASES = {"human": "human", "synthetic": "artificial", "artificial": "artificial"}
"""The speech manifests say ``synthetic``; the service says ``artificial``."""
AUDIO_ALIGN_HELP = {
    "none": "each file analysed as it is",
    "mp3-64k": "every file of both classes re-encoded as MP3 64 kbps (mono, LAME) and that MP3 analysed",
}
AUDIO_ALIGN_MODES = tuple(AUDIO_ALIGN_HELP)
VERDICT = "verdict"
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
    manifest = Path(manifest)
    root = manifest.resolve().parent
    with manifest.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(AUDIO_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{manifest}: the audio manifest lacks the column(s) {', '.join(sorted(missing))}")
        rows = []
        for record in reader:
            file = (record.get("file") or "").strip()
            if not file:
                continue
            label = (record.get("label") or "").strip().lower()
            rows.append(
                AudioRow(
                    file=file,
                    label=LABEL_ALIASES.get(label, label),
                    system=(record.get("system") or "").strip(),
                    path=root / file,
                    dataset=(record.get("speaker_or_dataset") or "").strip(),
                    source_repo=(record.get("source_repo") or "").strip(),
                )
            )
            if limit is not None and len(rows) >= limit:
                break
    return rows


# --------------------------------------------------------------------------- analysis


@dataclass
class AudioFileResult:
    row: AudioRow
    status: str
    """``analysed``, ``skipped`` or ``error``."""
    reason: str | None = None
    mime_type: str | None = None
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
    detectors = {}
    for result in outcome.results:
        details = result.get("classification_details") or {}
        detectors[result["model"]] = DetectorScore(
            model=result["model"],
            kind=str(result.get("kind", "statistical")),
            artificial=_artificial_score(result),
            unknown=bool(result.get("unknown", False)),
            reason=str(details["reason"]) if details.get("reason") else None,
        )
    analysis = Analysis(mime_type=mime, detectors=detectors, verdict=_verdict_record(outcome.verdict(heuristic)))
    return mime, outcome.duration_s, outcome.speech_seconds, analysis


def _analyse_row(registry: DetectorRegistry, row: AudioRow, heuristic: str, align: str) -> AudioFileResult:
    if not row.labelled:
        reason = "no label (do not score)" if not row.label else f"unknown label {row.label!r}"
        return AudioFileResult(row, "skipped", reason=reason)
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
    return [
        {"name": d.name, "version": d.version, "kind": d.kind, "obsolete": d.obsolete, "relevance": d.relevance}
        for d in registry
        if "audio" in d.modalities
    ]


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
    if heuristic not in HEURISTICS:
        raise ValueError(f"unknown heuristic {heuristic!r}; choose one of {', '.join(HEURISTICS)}")
    align = parse_audio_align(align)
    if registry is None:
        from originlens.container import build_registry
        from originlens.settings import Settings

        registry = build_registry(Settings())
    rows = load_audio_manifest(manifest, limit)
    started = time.perf_counter()
    step = progress(len(rows)) if progress else None
    files = []
    for row in rows:
        files.append(_analyse_row(registry, row, heuristic, align))
        if step:
            step(row.file)
    import av

    config = {
        "manifest": str(manifest),
        "media": "audio",
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "originlens_version": __version__,
        "heuristic": heuristic,
        "align": align,
        "align_description": AUDIO_ALIGN_HELP[align],
        "limit": limit,
        "rows": len(rows),
        "elapsed_s": round(time.perf_counter() - started, 2),
        "python": platform.python_version(),
        "pyav": av.__version__,
    }
    return AudioEvaluationRun(config=config, files=files, detectors=audio_detectors(registry))


# --------------------------------------------------------------------------- numbers

Pair = tuple[AudioFileResult, Analysis | None]


def _point(analysis: Analysis | None, scorer: str) -> float | None:
    """The artificial score ``scorer`` gave, or ``None`` when it did not judge."""
    if analysis is None:
        return None
    if scorer == VERDICT:
        verdict = analysis.verdict
        return verdict.score if verdict is not None and not verdict.unknown else None
    detector = analysis.detectors.get(scorer)
    return None if detector is None or detector.unknown else detector.artificial


def _covered(pairs: Sequence[Pair], scorer: str) -> tuple[list[float], list[int]]:
    scores, labels = [], []
    for result, analysis in pairs:
        score = _point(analysis, scorer)
        if score is not None:
            scores.append(score)
            labels.append(1 if result.row.label == "artificial" else 0)
    return scores, labels


def _headline(pairs: Sequence[Pair], scorer: str) -> dict[str, Any]:
    """Every number of one scorer on a set of files, with bootstrap intervals on the covered ones."""
    scores, labels = _covered(pairs, scorer)
    summary = binary_summary(scores, labels, n_total=len(pairs))
    intervals = bootstrap_intervals(scores, labels, max_fpr=FPR_POINT)
    summary["auc_ci"] = intervals["auc"]
    summary["tpr_at_5pct_fpr_ci"] = intervals["tpr_at_fpr"]
    summary["labels"] = dict(sorted(Counter(r.row.label for r, _ in pairs).items()))
    return summary


def _group_entry(members: Sequence[Pair], everyone: Sequence[Pair], scorer: str) -> dict[str, Any]:
    """One group (a system, a dataset, a source): its own calls, and its AUC against the other
    class. A one-class group (a synthesis system) is paired with every covered file of the other
    class in the whole set; a two-class group (a source) is measured on its own files."""
    points = [_point(a, scorer) for _, a in members]
    covered = [p for p in points if p is not None]
    n = len(members)
    labels = {r.row.label for r, _ in members}
    if len(labels) == 1:
        (label,) = labels
        others = [pair for pair in everyone if pair[0].row.label != label]
        auc = roc_auc(*_covered([*members, *others], scorer))
    else:
        label = "both"
        auc = roc_auc(*_covered(members, scorer))
    human_scores = [s for s, y in zip(*_covered(everyone, scorer), strict=True) if y == 0]
    threshold = threshold_at_fpr(human_scores, FPR_POINT)
    return {
        "label": label,
        "labels": dict(sorted(Counter(r.row.label for r, _ in members).items())),
        "n": n,
        "n_covered": len(covered),
        "coverage": len(covered) / n if n else None,
        "called_artificial": sum(1 for p in covered if p > 0.5) / n if n else None,
        "called_human": sum(1 for p in covered if p <= 0.5) / n if n else None,
        "unknown": (n - len(covered)) / n if n else None,
        "auc": auc,
        "called_artificial_at_5pct_fpr": None
        if threshold is None or not covered
        else sum(1 for p in covered if p > threshold) / len(covered),
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
    verdict = analysis.verdict if analysis else None
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
        "detectors": None
        if analysis is None
        else {
            name: {"score": d.artificial, "unknown": d.unknown, **({"reason": d.reason} if d.reason else {})}
            for name, d in analysis.detectors.items()
        },
        "verdict": None
        if verdict is None
        else {
            "classification": verdict.classification,
            "confidence": verdict.confidence,
            "score": verdict.score,
            "unknown": verdict.unknown,
            "evidence": verdict.evidence,
        },
    }


def build_audio_report(run: AudioEvaluationRun) -> dict[str, Any]:
    """Every number of an audio evaluation, JSON-ready (:func:`render_audio_markdown` only formats it)."""
    detectors = [d["name"] for d in run.detectors]
    for result in run.files:
        for name in result.analysis.detectors if result.analysis else ():
            if name not in detectors:
                detectors.append(name)
    scorers = [VERDICT, *detectors]
    analysed = [r for r in run.files if r.status == "analysed"]
    pairs: list[Pair] = [(r, r.analysis) for r in analysed]
    skipped = Counter(r.reason or "" for r in run.files if r.status == "skipped")
    durations = [r.duration_s for r in analysed if r.duration_s is not None]
    return {
        "config": {**run.config, "detectors": run.detectors},
        "counts": {
            "rows": len(run.files),
            "analysed": len(analysed),
            "analysed_human": sum(1 for r in analysed if r.row.label == "human"),
            "analysed_artificial": sum(1 for r in analysed if r.row.label == "artificial"),
            "skipped": sum(skipped.values()),
            "skipped_by_reason": dict(sorted(skipped.items())),
            "errors": sum(1 for r in run.files if r.status == "error"),
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
        "summary": {scorer: _headline(pairs, scorer) for scorer in scorers},
        "unknown_reasons": {d: _unknown_reasons(pairs, d) for d in detectors},
        "bootstrap": {
            "method": "percentile method, resampling within each label",
            "level": 0.95,
            "n_resamples": BOOTSTRAP_RESAMPLES,
            "seed": BOOTSTRAP_SEED,
        },
        "breakdowns": {
            "system": _groups(pairs, lambda row: row.system, scorers),
            "source": _groups(pairs, lambda row: row.source, scorers),
            "dataset": _groups(pairs, lambda row: row.dataset, scorers),
        },
        "errors": [{"file": r.row.file, "reason": r.reason} for r in run.files if r.status == "error"],
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
            [
                _escape(name),
                labels,
                f"{g['n_covered']}/{g['n']} ({_pct(g['coverage'])})",
                _pct(g["called_artificial"]),
                _pct(g["called_human"]),
                _pct(g["unknown"]),
                _num(g["auc"]),
                _pct(g["called_artificial_at_5pct_fpr"]),
            ]
        )
    header = (title, "labels", "covered", "called AI", "called human", "unknown", "AUC", "called AI @5% FPR")
    return _table(header, rows)


def render_audio_markdown(report: dict[str, Any]) -> str:
    config, counts, summary = report["config"], report["counts"], report["summary"]
    heuristic = config["heuristic"]
    scorers = list(summary)
    align = config["align"]
    boot = report["bootstrap"]
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
    out += ["## Run configuration", ""]
    out += _table(
        ("setting", "value"),
        [
            ("date (UTC)", config["date"]),
            ("originlens", config["originlens_version"]),
            ("manifest", f"`{config['manifest']}`"),
            ("heuristic", heuristic),
            ("alignment", f"`{align}`: {config['align_description']}"),
            ("limit", config["limit"] if config["limit"] is not None else "none (every row)"),
            ("run time", f"{config['elapsed_s']} s"),
            ("python / PyAV", f"{config['python']} / {config['pyav']}"),
        ],
    )
    out += _table(
        ("detector", "version", "kind", "obsolete", "relevance"),
        [
            (f"`{d['name']}`", f"`{d['version']}`", d["kind"], "yes" if d["obsolete"] else "no", d["relevance"])
            for d in config["detectors"]
        ]
        or [("(none)", "", "", "", "")],
    )
    skipped = "; ".join(f"{reason}: {n}" for reason, n in counts["skipped_by_reason"].items()) or "none"
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
        "and 1 - confidence when it says human. "
        f"Brackets: {round(100 * boot['level'])}% bootstrap interval ({boot['method']}; "
        f"{boot['n_resamples']} resamples, seed {boot['seed']}) over the covered files.",
        "",
    ]
    rows = []
    for scorer in scorers:
        s = summary[scorer]
        rows.append(
            [
                _scorer_name(scorer, heuristic),
                f"{s['n_covered']}/{s['n_labelled']} ({_pct(s['coverage'])})",
                f"{s['n_human']} / {s['n_artificial']}",
                _ci(s["auc"], s["auc_ci"], _num),
                _pct(s["accuracy"]),
                _pct(s["tpr"]),
                _pct(s["fpr"]),
                _ci(s["tpr_at_5pct_fpr"], s["tpr_at_5pct_fpr_ci"], _pct),
                _pct(s["tpr_at_1pct_fpr"]),
            ]
        )
    out += _table(
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
    n_human = summary[VERDICT]["n_human"]
    out += [
        "TPR @1%/5% FPR: the threshold is the lowest one that calls at most 1%/5% of the covered human "
        "files artificial, taken from the human scores; with fewer than 100 (20) covered human files "
        f"that means no false positive at all (the final verdict covers {n_human} human files).",
        "",
    ]
    reasons = {d: r for d, r in report["unknown_reasons"].items() if r}
    if reasons:
        out += ["Why a detector said `unknown`:", ""]
        out += _table(
            ("detector", "reason", "files"),
            [(f"`{d}`", _escape(k), n) for d, r in reasons.items() for k, n in r.items()],
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
            out += [f"`{detector}` judged none of the recordings" + (f": {_escape(why)}." if why else "."), ""]
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
    if report["errors"]:
        out += ["## Errors", ""]
        out += [f"- `{e['file']}`: {_escape(e['reason'] or '')}" for e in report["errors"]]
        out += [""]
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
    from originlens.evaluation.report import to_json

    out = Path(out)
    if out.suffix in {".md", ".json"}:
        out = out.with_suffix("")
    out.parent.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out.with_name(out.name + ".md"), out.with_name(out.name + ".json")
    md_path.write_text(render_audio_markdown(report), encoding="utf-8")
    json_path.write_text(to_json(report), encoding="utf-8")
    return md_path, json_path
