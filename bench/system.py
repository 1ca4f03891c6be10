"""The machine, the versions, and CPU time read from /proc (Linux)."""

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_info() -> dict:
    info: dict = {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "cores": os.cpu_count(),
        "cpu_model": "",
        "memory_mb": None,
        "loadavg": list(os.getloadavg()),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_mb"] = int(line.split()[1]) // 1024
                break
    except OSError:
        pass
    return info


def versions() -> dict:
    import django
    import gunicorn
    import psycopg
    import rest_framework
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    redis_version = None
    try:
        import redis
        from django.conf import settings

        redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server").get("redis_version")
    except Exception:  # noqa: BLE001 — a version is nice to have, never a reason to fail
        redis_version = None
    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "djangorestframework": rest_framework.VERSION,
        "psycopg": psycopg.__version__,
        "gunicorn": gunicorn.__version__,
        "postgresql": postgres,
        "redis": redis_version,
    }


def git_info(root: Path) -> dict:
    """The commit and whether the checkout has changes (read only)."""

    def run(*args: str) -> str:
        try:
            return subprocess.run(  # noqa: S603 — fixed arguments
                ["git", *args],  # noqa: S607
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": run("rev-parse", "HEAD"), "dirty": bool(run("status", "--porcelain"))}


# --- CPU time -----------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine was busy since boot (all cores, not idle or iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass
class CpuSample:
    per_pid: dict[int, float]
    machine: float


def cpu_sample(pids: list[int]) -> CpuSample:
    values = {pid: process_cpu_seconds(pid) for pid in pids}
    return CpuSample({pid: v for pid, v in values.items() if v is not None}, machine_busy_seconds())


def cpu_delta(before: CpuSample, after: CpuSample) -> float:
    """CPU seconds spent between two samples by the processes in `after`; a process that
    started in between counts from zero."""
    return sum(value - before.per_pid.get(pid, 0.0) for pid, value in after.per_pid.items())


def peak_rss_mb_of_children() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
