"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, on a
free port of 127.0.0.1, stopped and removed afterwards. Real PostgreSQL, nothing mocked.

The binaries come from PATH, /usr/local/bin or Debian's /usr/lib/postgresql/*/bin
(``.ci/run`` installs the ``postgresql`` package when none is found). PostgreSQL refuses to run
as root, so under root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_binaries() -> Path | None:
    candidates = [
        shutil.which("initdb"),
        "/usr/local/bin/initdb",
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and (Path(candidate).parent / "pg_ctl").is_file():
            return Path(candidate).parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields a SQLAlchemy URL (``postgresql+psycopg://...``) to an empty database."""
    bin_dir = find_binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries not found (initdb, pg_ctl)")
    root = Path(tempfile.mkdtemp(prefix="originlens-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = root / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
