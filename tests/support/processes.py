"""originlens commands in their own processes, as an operator runs them: ``serve`` (an API
process) and ``worker`` (a Celery worker), so tests can kill them with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.shared_data import REPO


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OriginlensProcess:
    """``python -m originlens.cli <command>`` with ``ORIGINLENS_*`` settings from ``env``."""

    def __init__(self, command: str, log_path: Path, **env: str) -> None:
        self.command = command
        self.port = _free_port()
        self.log_path = log_path
        # this checkout's code first (the environment may have another checkout installed), then the tests
        path = os.pathsep.join((str(REPO / "src"), str(REPO)))
        self.env = {**os.environ, "PYTHONPATH": path, "ORIGINLENS_RATELIMIT_ENABLED": "false", **env}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, wait: bool = True) -> OriginlensProcess:
        level = "info" if self.command == "worker" else "warning"  # a worker says "ready" at info
        args = [sys.executable, "-m", "originlens.cli", self.command, "--log-level", level]
        if self.command == "serve":
            args += ["--port", str(self.port)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        if wait and self.command == "serve":
            self._wait_healthy()
        elif wait and self.command == "worker":
            self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until Celery reports the worker connected and consuming."""
        deadline = time.time() + 60
        while " ready." not in self.log():
            assert self.proc is not None and self.proc.poll() is None, self.log()
            if time.time() > deadline:
                raise AssertionError(f"worker did not get ready:\n{self.log()}")
            time.sleep(0.1)

    def _wait_healthy(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"{self.command} did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, no acknowledgement, like a machine losing power."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
