"""``import originlens.client`` needs httpx and pydantic only: no server stack comes with it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "starlette", "sqlalchemy", "numpy", "PIL", "onnxruntime", "av", "uvicorn", "cv2")


def test_importing_the_client_loads_no_server_module() -> None:
    code = (
        "import sys, originlens.client, originlens.client.webhooks\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"heavy modules imported: {done.stdout}"
