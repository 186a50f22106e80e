"""Where the shared evaluation data lives, and how tests read it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
EVAL = SHARED / "eval"
MANIFEST = EVAL / "MANIFEST.csv"
SPEC = SHARED / "spec" / "identifai-openapi-get-classification.yaml"
TRUST_LIST = SHARED / "c2pa" / "C2PA-TRUST-LIST.pem"

needs_eval = pytest.mark.skipif(
    not MANIFEST.is_file(), reason=f"shared evaluation data not found beside the repository ({SHARED})"
)

MIME_BY_EXT = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".dng": "image/tiff",  # a DNG is a TIFF container
}
"""What the media layer sniffs for each extension of the eval files."""
