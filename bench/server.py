"""The app under gunicorn as in production (Procfile: sync workers, access log), on a free
port on 127.0.0.1, with the bench settings."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.system import children_of


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, root: Path, log_dir: Path, workers: int = 2, env: dict | None = None):
        self.root = root
        self.log_dir = log_dir
        self.workers = workers
        self.env = {**os.environ, **(env or {}), "DJANGO_SETTINGS_MODULE": "backoffice.settings_bench"}
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Gunicorn":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn),
            "backoffice.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--access-logfile",
            str(self.log_dir / "gunicorn-access.log"),
            "--error-logfile",
            str(self.log_dir / "gunicorn-error.log"),
            "--forwarded-allow-ips",
            "*",
        ]
        self.stderr = open(self.log_dir / "gunicorn-stderr.log", "ab")  # noqa: SIM115 — closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 — our own command line
            command, cwd=self.root, env=self.env, stdout=self.stderr, stderr=self.stderr
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_dir}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:  # noqa: S310 — loopback
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s; see {self.log_dir}")

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process else []

    def pids(self) -> list[int]:
        return [self.process.pid, *self.worker_pids()] if self.process else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "stderr", None):
            self.stderr.close()

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
