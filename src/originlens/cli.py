"""``originlens``: run the service and manage accounts from the shell."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from originlens.errors import FieldValidationError, OriginlensError
from originlens.services import keys as keys_service
from originlens.services import users as users_service
from originlens.settings import Settings
from originlens.store.db import make_engine, make_session_factory, migrate, unit_of_work
from originlens.store.models import User
from originlens.verdicts.heuristics import DEFAULT_HEURISTIC
from originlens.web.params import ID_MAX

app = typer.Typer(help="originlens: is this image made by a person or by generative AI?", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
models_app = typer.Typer(help="The detection models this installation knows.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")

CLASSIFY_EPILOG = (
    "Exit status: 0 every input was analysed and none was judged artificial; "
    "1 at least one input was judged artificial (even if others failed); "
    "2 some input could not be analysed (missing, unreadable, unsupported, network) and none was artificial, "
    "or the command line was wrong. See docs/cli.md."
)


def _sessions(settings: Settings) -> sessionmaker[Session]:
    migrate(settings.resolved_database_url)
    return make_session_factory(make_engine(settings.resolved_database_url))


def _find(session: Session, id_or_email: str) -> User:
    if id_or_email.isdigit():
        user = session.get(User, int(id_or_email)) if int(id_or_email) <= ID_MAX else None
    else:
        user = users_service.find_by_email(session, id_or_email)
    if user is None:
        typer.echo(f"No user {id_or_email}.", err=True)
        raise typer.Exit(1)
    return user


@contextmanager
def _refusals_as_messages() -> Iterator[None]:
    """A refused command (a taken or malformed e-mail, ...) prints the service's sentence and exits 1."""
    try:
        yield
    except OriginlensError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None


def bootstrap_first_user(settings: Settings) -> str | None:
    """On an empty database, create an operator account and return its key (shown once)."""
    sessions = _sessions(settings)
    try:
        with unit_of_work(sessions) as session:
            if session.scalar(select(func.count()).select_from(User)):
                return None
            user = users_service.create_user(
                session,
                users_service.UserFields(
                    name="Operator", email="operator@localhost", heuristic=settings.default_heuristic, is_partner=True
                ),
                accept_terms=True,
            )
            return keys_service.create_key(session, user, settings.resolved_secret_key())
    except (IntegrityError, FieldValidationError):  # another API process starting at the same moment created it
        return None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    log_level: str = "info",
) -> None:
    """Migrate the database, create a first API key if there is no user yet, and serve the API."""
    import uvicorn

    from originlens.api.app import create_app

    settings = Settings().serving_at(host, port)
    key = bootstrap_first_user(settings)
    base = settings.public_url
    typer.echo(f"originlens on {base} (data in {settings.data_dir.resolve()})")
    if key:
        typer.echo("\nFirst start: created the operator account. Its API key, shown only now:\n")
        typer.echo(f"    {key}\n")
        typer.echo("Try it:")
        typer.echo(
            f"    curl -H 'X-Api-Key: {key}' -H 'Accept: application/json' "
            f"-F image=@photo.jpg {base}/api/classification"
        )
        typer.echo(f"    curl -H 'X-Api-Key: {key}' {base}/api/classification/<identifier>\n")
    else:
        typer.echo("Create a key with: originlens keys create <user id or email>")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs at once in this process (threads).")] = 1,
    log_level: str = "info",
) -> None:
    """Run analysis jobs from the broker (``ORIGINLENS_QUEUE_URL=celery+redis://...``).

    Start as many as the machines allow; each also recovers abandoned jobs and sends webhooks.
    """
    import logging

    from originlens.container import Container

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    try:
        container = Container.build(settings)
        container.run_worker(concurrency, loglevel=log_level.upper())
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command("migrate")
def migrate_command() -> None:
    """Apply database migrations."""
    settings = Settings()
    migrate(settings.resolved_database_url)
    typer.echo("database is up to date")


@users_app.command("create")
def users_create(
    email: str,
    name: Annotated[str, typer.Option()] = "",
    heuristic: Annotated[str, typer.Option()] = DEFAULT_HEURISTIC,
    partner: Annotated[bool, typer.Option("--partner/--no-partner", help="May manage its own users.")] = False,
    readonly: bool = False,
    balance: Annotated[float | None, typer.Option(help="Credits; unlimited when omitted.")] = None,
    require_terms: Annotated[bool, typer.Option(help="Make the user accept the terms first.")] = False,
) -> None:
    """Create a user and print its first API key."""
    settings = Settings()
    with _refusals_as_messages(), unit_of_work(_sessions(settings)) as session:
        user = users_service.create_user(
            session,
            users_service.UserFields(
                name=name or email.split("@")[0],
                email=email,
                heuristic=heuristic,
                readonly=readonly,
                balance=balance,
                is_partner=partner,
            ),
            accept_terms=not require_terms,
        )
        key = keys_service.create_key(session, user, settings.resolved_secret_key())
        typer.echo(f"user {user.id} <{user.email}> created")
        typer.echo(f"API key (shown only now): {key}")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    with unit_of_work(_sessions(Settings())) as session:
        for user in session.scalars(select(User).order_by(User.id)):
            flags = [f for f, on in (("partner", user.is_partner), ("readonly", user.readonly)) if on]
            balance = "unlimited" if user.balance is None else f"{user.balance:g}"
            typer.echo(f"{user.id}\t{user.email}\t{user.name}\t{user.heuristic}\tcredits={balance}\t{','.join(flags)}")


@users_app.command("delete")
def users_delete(user: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    """Delete a user and all its classifications and stored files."""
    settings = Settings()
    with unit_of_work(_sessions(settings)) as session:
        row = _find(session, user)
        if not yes:
            typer.confirm(f"Delete user {row.id} <{row.email}> and all its data?", abort=True)
        from originlens.container import make_blob_store

        users_service.delete_user(session, row, make_blob_store(settings.resolved_storage_url))
        typer.echo(f"user {row.id} deleted")


@users_app.command("set-password")
def users_set_password(user: str) -> None:
    """Print a one-time link (valid 72 h) with which the user sets a dashboard password."""
    from originlens.services import passwords

    settings = Settings()
    key = bootstrap_first_user(settings)  # before the first ``serve`` too: the operator exists from here on
    if key:
        typer.echo(
            f"First use: created the operator account (operator@localhost). Its API key, shown only now:\n\n    {key}\n"
        )
    with unit_of_work(_sessions(settings)) as session:
        link = passwords.issue_password_link(session, _find(session, user), settings.public_url)
        typer.echo(f"Open this link to set the password (once, within 72 hours):\n\n    {link}\n")


@keys_app.command("create")
def keys_create(
    user: str,
    readonly: Annotated[bool, typer.Option("--readonly", help="A key that can only read (GET).")] = False,
) -> None:
    """Add an API key to a user (existing keys keep working)."""
    settings = Settings()
    with unit_of_work(_sessions(settings)) as session:
        key = keys_service.create_key(session, _find(session, user), settings.resolved_secret_key(), readonly=readonly)
        kind = "Read-only API key" if readonly else "API key"
        typer.echo(f"{kind} (shown only now): {key}")


@keys_app.command("rotate")
def keys_rotate(user: str) -> None:
    """Revoke every key of a user and issue a new one."""
    settings = Settings()
    with unit_of_work(_sessions(settings)) as session:
        key = keys_service.rotate_keys(session, _find(session, user), settings.resolved_secret_key())
        typer.echo(f"All earlier keys revoked. New API key (shown only now): {key}")


@app.command("eval")
def eval_command(
    manifest: Annotated[
        Path,
        typer.Argument(
            help="MANIFEST.csv (file,label,generator,... for images; file,label,system,... for recordings); "
            "paths relative to it."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Writes OUT.md and OUT.json.")] = Path("docs/evaluation"),
    strip_metadata: Annotated[
        bool, typer.Option("--strip-metadata", help="Analyse a metadata-free lossless PNG of the pixels instead.")
    ] = False,
    perturb: Annotated[
        str, typer.Option(help="Comma-separated: jpeg75, jpeg90, half, crop50. Re-runs on perturbed copies.")
    ] = "",
    align: Annotated[
        str,
        typer.Option(
            help="none, jpeg90 or half-jpeg90: re-encode every image of both classes identically before the "
            "analysis (JPEG quality 90, half-jpeg90 also halves each side); removes all metadata. "
            "Recordings: none or mp3-64k (every file of both classes re-encoded as MP3 64 kbps)."
        ),
    ] = "none",
    heuristic: Annotated[str, typer.Option(help="The verdict heuristic to score.")] = DEFAULT_HEURISTIC,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N manifest rows.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
) -> None:
    """Measure the detectors and the verdict on a labelled set; write a Markdown and a JSON report."""
    from originlens.evaluation import build_report, parse_perturbations, run_evaluation, write_reports
    from originlens.evaluation.perturbations import parse_align
    from originlens.evaluation.runner import terminal_progress
    from originlens.verdicts.heuristics import HEURISTICS

    if heuristic not in HEURISTICS:
        raise typer.BadParameter(f"choose one of {', '.join(HEURISTICS)}", param_hint="--heuristic")
    if not manifest.is_file():
        raise typer.BadParameter(f"{manifest} is not a file", param_hint="MANIFEST")
    from originlens.evaluation.audio import is_audio_manifest

    if is_audio_manifest(manifest):
        _eval_audio(manifest, out, align, heuristic, limit, progress, strip_metadata=strip_metadata, perturb=perturb)
        return
    try:
        perturbations = parse_perturbations(perturb)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--perturb") from None
    try:
        align = parse_align(align)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--align") from None
    with terminal_progress(progress) as bar:
        run = run_evaluation(
            manifest,
            heuristic=heuristic,
            strip_metadata=strip_metadata,
            perturbations=perturbations,
            limit=limit,
            progress=bar,
            align=align,
        )
    report = build_report(run)
    md_path, json_path = write_reports(report, out)
    verdict, counts = report["summary"]["verdict"], report["counts"]
    wrong = report["forcing"]["forced_artificial_on_human"]
    auc = "n/a" if verdict["auc"] is None else f"{verdict['auc']:.3f}"
    coverage = "n/a" if verdict["coverage"] is None else f"{100 * verdict['coverage']:.1f}%"
    typer.echo(
        f"{counts['analysed']} images analysed, {counts['skipped']} skipped, {counts['errors']} errors "
        f"in {run.config['elapsed_s']} s; verdict coverage {coverage}, AUC {auc}, "
        f"provenance-forced artificial on human files: {len(wrong)}"
    )
    for name, part in report["parts"].items():
        v = part["verdict"]
        typer.echo(
            f"  {name}: n {v['n_labelled']}, AUC {_with_interval(v['auc'], v['auc_ci'], '.3f')}, "
            f"TPR @5% FPR {_with_interval(v['tpr_at_5pct_fpr'], v['tpr_at_5pct_fpr_ci'], '.1%')}"
        )
    typer.echo(f"wrote {md_path} and {json_path}")


def _eval_audio(
    manifest: Path,
    out: Path,
    align: str,
    heuristic: str,
    limit: int | None,
    progress: bool,
    *,
    strip_metadata: bool,
    perturb: str,
) -> None:
    """``originlens eval`` on recordings: the speech verdict of each file, plain or re-encoded as MP3."""
    from originlens.evaluation.audio import (
        build_audio_report,
        parse_audio_align,
        run_audio_evaluation,
        write_audio_reports,
    )
    from originlens.evaluation.runner import terminal_progress

    if strip_metadata:
        raise typer.BadParameter(
            "recordings are analysed as they are: no --strip-metadata", param_hint="--strip-metadata"
        )
    if perturb.strip():
        raise typer.BadParameter(
            "the perturbations are image edits; recordings take --align mp3-64k", param_hint="--perturb"
        )
    try:
        align = parse_audio_align(align)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--align") from None
    with terminal_progress(progress) as bar:
        run = run_audio_evaluation(manifest, heuristic=heuristic, align=align, limit=limit, progress=bar)
    report = build_audio_report(run)
    md_path, json_path = write_audio_reports(report, out)
    counts = report["counts"]
    typer.echo(
        f"{counts['analysed']} recordings analysed, {counts['skipped']} skipped, {counts['errors']} errors "
        f"in {run.config['elapsed_s']} s"
    )
    for scorer, s in report["summary"].items():
        coverage = "n/a" if s["coverage"] is None else f"{100 * s['coverage']:.1f}%"
        typer.echo(
            f"  {scorer}: coverage {coverage}, AUC {_with_interval(s['auc'], s['auc_ci'], '.3f')}, "
            f"TPR @5% FPR {_with_interval(s['tpr_at_5pct_fpr'], s['tpr_at_5pct_fpr_ci'], '.1%')}, "
            f"FPR @0.5 {'n/a' if s['fpr'] is None else format(s['fpr'], '.1%')}"
        )
    typer.echo(f"wrote {md_path} and {json_path}")


def _with_interval(value: float | None, interval: dict[str, float] | None, spec: str) -> str:
    if value is None:
        return "n/a"
    text = format(value, spec)
    return f"{text} [{format(interval['low'], spec)}, {format(interval['high'], spec)}]" if interval else text


@app.command(epilog=CLASSIFY_EPILOG)
def classify(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="Files, folders (walked recursively; only images and videos are kept), globs (quoted ones too) "
            "or http(s) URLs.",
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            envvar="ORIGINLENS_URL",
            help="Send the files to this originlens server instead of analysing them here.",
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="ORIGINLENS_API_KEY", help="API key for --server.")
    ] = None,
    heuristic: Annotated[
        str | None,
        typer.Option(help="Verdict heuristic. Default: ORIGINLENS_DEFAULT_HEURISTIC here, the user's with --server."),
    ] = None,
    tampering: Annotated[bool, typer.Option("--tampering", help="Also look for non-AI manipulation.")] = False,
    nsfw: Annotated[bool, typer.Option("--nsfw", help="Also judge whether the image is NSFW.")] = False,
    morphing: Annotated[bool, typer.Option("--morphing", help="Also look for morphed or swapped faces.")] = False,
    heatmap: Annotated[
        bool, typer.Option("--heatmap", help="Ask the server for a heatmap (--server only: the server stores it).")
    ] = False,
    frames: Annotated[int, typer.Option(help="Video frames to analyse: 5, 10 or 30.")] = 5,
    key_frames: Annotated[
        str | None,
        typer.Option(
            "--key-frames",
            metavar="METHOD",
            help="Videos: pick key frames (iframes, flow or color) instead of evenly spaced ones.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array, one object per input.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr (terminals, batches only).")
    ] = True,
    timeout: Annotated[float, typer.Option(min=1, help="--server: seconds to wait for each result.")] = 300.0,
) -> None:
    """Tell whether images and videos were made by a person or by generative AI.

    Runs the detectors in this process (no server, no database) unless --server is given.
    """
    from originlens.commands.classify import ClassifyOptions, LocalClassifier, ServerClassifier, exit_status
    from originlens.commands.inputs import collect_inputs
    from originlens.commands.output import progress_bar, render_csv, render_json, render_table, stdout_console
    from originlens.services.videos import FRAME_CHOICES, KEY_FRAME_METHODS
    from originlens.verdicts.heuristics import HEURISTICS

    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="--csv")
    if heuristic is not None and heuristic not in HEURISTICS:
        raise typer.BadParameter(f"choose one of {', '.join(HEURISTICS)}", param_hint="--heuristic")
    if frames not in FRAME_CHOICES:
        raise typer.BadParameter(f"choose one of {', '.join(map(str, FRAME_CHOICES))}", param_hint="--frames")
    if key_frames is not None and key_frames not in KEY_FRAME_METHODS:
        raise typer.BadParameter(f"choose one of {', '.join(KEY_FRAME_METHODS)}", param_hint="--key-frames")
    if heatmap and not server:
        raise typer.BadParameter("heatmaps are made and stored by a server: add --server", param_hint="--heatmap")
    if server and not api_key:
        raise typer.BadParameter("--server needs --api-key (or ORIGINLENS_API_KEY)", param_hint="--api-key")
    options = ClassifyOptions(
        heuristic=heuristic,
        asked=tuple(name for name, on in (("with_tampering", tampering), ("with_nsfw", nsfw),
                                          ("with_morphing", morphing)) if on),
        heatmap=heatmap,
        frames=frames,
        key_frames_method=key_frames,
    )  # fmt: skip
    inputs = collect_inputs(paths)
    classifier = (
        ServerClassifier(options, server, str(api_key), timeout_s=timeout) if server else LocalClassifier(options)
    )
    with progress_bar(len(inputs), progress) as advance:
        rows = classifier.classify_all(inputs, advance)
    if as_json:
        typer.echo(render_json(rows))
    elif as_csv:
        typer.echo(render_csv(rows), nl=False)
    else:
        render_table(rows, stdout_console())
    raise typer.Exit(exit_status(rows))


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array, one object per model.")] = False,
) -> None:
    """Every model this installation knows (enabled or not), its licence, quality and weights' size.

    Nothing is loaded: sizes are read from the weight files on disk.
    """
    import json

    from originlens.commands.models import list_models, render_models
    from originlens.commands.output import stdout_console

    infos = list_models()
    if as_json:
        typer.echo(json.dumps([info.to_json() for info in infos], indent=2))
    else:
        render_models(infos, stdout_console())


if __name__ == "__main__":
    app()
