"""Real processes for the fault tests: a private Redis, Celery workers, gunicorn and a
private PostgreSQL cluster. Every one is started by the test that needs it, on its own
port, and stopped by the same test — the shared PostgreSQL (5432) and Redis (6379) that
other tests use are never touched.

Each class stops only the processes it started (by their id or process group)."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PYTHON = Path(sys.executable)
BIN = PYTHON.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def children_of(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return sorted(found)


def _stop(process: subprocess.Popen | None, *, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- Redis -------------------------------------------------------------------------------


class PrivateRedis:
    """redis-server on a free port, no persistence: stop() and start() again simulate an
    outage of the broker and cache."""

    def __init__(self, log_dir: Path):
        if not shutil.which("redis-server"):
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        log = open(self.log_dir / f"redis-{self.port}.log", "ab")  # noqa: SIM115 — owned by the process
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        wait_for(self.ping, timeout=10, what=f"redis on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


# --- Celery ------------------------------------------------------------------------------


class CeleryWorker:
    """`celery -A backoffice worker` on the test database and a private broker, with the
    settings of tests/reliability/support/worker_settings.py (production's acks_late and
    reject-on-worker-lost, a visibility timeout of a few seconds)."""

    def __init__(self, *, name: str, database_url: str, broker_url: str, log_dir: Path, pool: str = "solo"):
        self.name = name
        self.pool = pool
        self.log_path = log_dir / f"worker-{name}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.support.worker_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "CeleryWorker":
        log = open(self.log_path, "ab")  # noqa: SIM115 — owned by the process
        command = [
            str(BIN / "celery"),
            "-A",
            "backoffice",
            "worker",
            "--pool",
            self.pool,
            "--concurrency",
            "1",
            "--queues",
            "default,documents,carriers",
            "--hostname",
            f"{self.name}@reliability",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(lambda: self._ready(), timeout=60, interval=0.3, what=f"worker {self.name} ready ({self.log_path})")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited: {self.log()[-3000:]}")
        return " ready." in self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pool_children(self) -> list[int]:
        return children_of(self.process.pid)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): nothing is acknowledged,
        nothing is cleaned up — a machine or container that dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        _stop(self.process)


# --- gunicorn ----------------------------------------------------------------------------


class Gunicorn:
    """The app under gunicorn as in production (sync workers), settings
    tests/reliability/support/served_settings.py (production's, plain HTTP on loopback)."""

    def __init__(self, *, database_url: str, redis_url: str, log_dir: Path, workers: int = 2, env: dict | None = None):
        self.port = free_port()
        self.workers = workers
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.reliability.support.served_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "Gunicorn":
        log = open(self.log_dir / f"gunicorn-{self.port}.log", "ab")  # noqa: SIM115 — owned by the process
        command = [
            str(BIN / "gunicorn"),
            "backoffice.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "60",
            "--error-logfile",
            "-",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

        def up():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}; see {self.log_dir}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    return response.status in (200, 503) and len(children_of(self.process.pid)) >= self.workers
            except urllib.error.HTTPError as exc:
                return exc.code == 503
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return False

        wait_for(up, timeout=timeout, interval=0.3, what="gunicorn to answer /healthz")
        return self

    def stop(self) -> None:
        _stop(self.process, timeout=30)


# --- PostgreSQL --------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of our own on a free port (never the shared one on 5432), so a
    test may restart it. Created with initdb in a fresh temporary directory (outside
    pytest's, which only root may enter), run as the `postgres` system user when the test
    runs as root; destroy() removes it."""

    def __init__(self):
        self.bindir = self._bindir()
        if self.bindir is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.base_dir: Path | None = None
        self.data_dir: Path | None = None
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:
            import pwd

            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres system user to run a private cluster")
            self.run_as = "postgres"

    @staticmethod
    def _bindir() -> Path | None:
        candidates = (
            sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
            if Path("/usr/lib/postgresql").exists()
            else []
        )
        for directory in [*candidates, *(Path(p) for p in os.environ.get("PATH", "").split(os.pathsep))]:
            if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
                return directory
        return None

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}")
        return result

    @property
    def server_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        return f"{self.server_url}/{database}"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    def create(self) -> "PrivatePostgres":
        import tempfile

        self.base_dir = Path(tempfile.mkdtemp(prefix="bo-reliability-pg-"))
        self.data_dir = self.base_dir / "data"
        self.data_dir.mkdir()
        if self.run_as:
            shutil.chown(self.base_dir, user=self.run_as)
            shutil.chown(self.data_dir, user=self.run_as)
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.data_dir}'\n"
                # fsync off is safe for a process crash (the OS keeps the pages) and fast;
                # synchronous_commit stays on: a commit is acknowledged only once its WAL is
                # written, so a crash of the server loses no acknowledged order
                "fsync = off\nmax_connections = 50\n"
            )
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        """Stop (dropping every connection) and start again."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "-l", str(self.log_file), "restart")

    def psql(self, database: str, sql: str) -> str:
        result = self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-Atc", sql
        )
        return result.stdout.strip()

    def createdb(self, database: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database)

    def destroy(self) -> None:
        if self.base_dir is None:
            return
        self.stop(mode="immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)
