"""The Compose file and the Dockerfile stay in step with the code: every ``ORIGINLENS_*``
variable they set is a real setting with a valid value, every command is a real CLI command.
(Docker itself is not available to the tests; docs/deploy.md says so.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from originlens.cli import app
from originlens.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ORIGINLENS_SERVICES = ("migrate", "api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return loaded


def _resolved(value: str) -> str:
    """``${NAME:-default}`` → default; ``${NAME:?message}`` → a stand-in value."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "stand-in-secret", value)


def test_every_originlens_variable_is_a_valid_setting(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    fields = set(Settings.model_fields)
    for name in ORIGINLENS_SERVICES:
        environment = compose["services"][name]["environment"]
        ours = {k: _resolved(str(v)) for k, v in environment.items() if k.startswith("ORIGINLENS_")}
        assert ours, name
        unknown = {k for k in ours if k.removeprefix("ORIGINLENS_").lower() not in fields}
        assert not unknown, f"{name}: not settings: {unknown}"
        for key, value in ours.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.queue_url.startswith("celery+redis://")
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        assert settings.resolved_storage_url.startswith("s3://")
        assert settings.ratelimit_url.startswith("redis://")


def test_every_service_runs_a_real_command(compose: dict[str, Any]) -> None:
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    seen = []
    for name in ORIGINLENS_SERVICES:
        command = compose["services"][name]["command"]
        text = " ".join(command) if isinstance(command, list) else command
        for words in (shlex.split(part) for part in re.split(r"&&", text)):
            if "originlens" in words:
                subcommand = words[words.index("originlens") + 1]
                assert subcommand in commands, f"{name}: originlens {subcommand} does not exist"
                seen.append(subcommand)
    assert {"migrate", "serve", "worker"} <= set(seen)
    result = CliRunner().invoke(app, ["worker", "--help"])
    assert result.exit_code == 0 and "--concurrency" in result.output


def test_the_image_installs_the_scale_out_extras_and_runs_the_api() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "'.[scale]'" in dockerfile
    assert 'CMD ["originlens", "serve"' in dockerfile
    pyproject = (REPO / "pyproject.toml").read_text()
    scale = re.search(r"^scale = \[(.*)\]$", pyproject, re.M)
    assert scale and all(part in scale.group(1) for part in ("psycopg", "celery[redis]", "boto3"))


def test_a_worker_without_a_broker_says_what_to_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORIGINLENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ORIGINLENS_QUEUE_URL", "inprocess://")
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "ORIGINLENS_QUEUE_URL=celery+redis://" in result.output
