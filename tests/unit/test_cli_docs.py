"""Every ``sh`` example in docs/cli.md runs, with the exit status the docs state.

Each block runs with ``bash -e -o pipefail -c`` in one scratch folder holding the sample files the
docs name, with the venv's ``originlens`` first on ``PATH``. Blocks that use ``ORIGINLENS_URL``
get a real server (the ``server`` fixture) and an API key; the others get no ``ORIGINLENS_*``
variable but a private data directory, so nothing reaches the developer's own settings.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from originlens.audio.features import encode_audio
from tests.conftest import image_bytes, make_user
from tests.support.clips import _pattern, write_clip
from tests.support.recordings import speech, tone, write_mp3
from tests.support.shared_data import REPO
from tests.support.speech import SPEECH_EVAL
from tests.unit.test_cli_classify import HUMAN_PHOTO, ai_png, plain_png

DOC = REPO / "docs" / "cli.md"
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXIT = re.compile(r"^# exit status: (\d+)\s*$", re.MULTILINE)


def sh_blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def expected_status(block: str) -> int:
    found = EXIT.findall(block)
    return int(found[-1]) if found else 0


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files docs/cli.md names, in a scratch folder."""
    root = tmp_path_factory.mktemp("cli-docs")
    if HUMAN_PHOTO.is_file():
        shutil.copyfile(HUMAN_PHOTO, root / "photo.jpg")
    else:
        (root / "photo.jpg").write_bytes(image_bytes("JPEG", (320, 240), seed=3))
    ai_png(root / "generated.png")
    (root / "broken.png").write_bytes((root / "generated.png").read_bytes()[:60])
    write_clip(root / "clip.mp4", [_pattern(t, t // 25 % 2) for t in range(50)])
    if SPEECH_EVAL.is_dir():
        write_mp3(root / "interview.mp3", speech("human", 12.0))
    (root / "tone.wav").write_bytes(encode_audio(tone(6.0), "wav"))
    photos = root / "photos"
    (photos / "2024").mkdir(parents=True)
    plain_png(photos / "beach.png")
    (photos / "notes.txt").write_text("shopping list")
    ai_png(photos / "2024" / "generated.png")
    return root


def test_the_docs_have_examples_for_every_command() -> None:
    text = "\n".join(sh_blocks())
    for command in ("classify", "models list", "migrate", "users create", "users list", "users delete",
                    "keys create", "keys rotate", "eval", "--server", "--json", "--csv"):  # fmt: skip
        assert command in text, command
    assert any(expected_status(b) == 1 for b in sh_blocks()) and any(expected_status(b) == 2 for b in sh_blocks())


@pytest.mark.parametrize("index", range(len(sh_blocks())))
def test_example_runs_with_the_documented_exit_status(
    index: int, samples: Path, request: pytest.FixtureRequest
) -> None:
    block = sh_blocks()[index]
    if "interview.mp3" in block and not (samples / "interview.mp3").is_file():
        pytest.skip(f"the shared speech eval set is not beside the repository ({SPEECH_EVAL})")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORIGINLENS_")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", ORIGINLENS_DATA_DIR=str(samples / "data"))
    if "ORIGINLENS_URL" in block:
        server = request.getfixturevalue("server")
        _, key = make_user(server)
        env.update(ORIGINLENS_URL=server.base_url, ORIGINLENS_API_KEY=key)
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        cwd=samples,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == expected_status(block), report
    assert "Traceback" not in done.stderr, report  # a crash must not pass for a documented status
