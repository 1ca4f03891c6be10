"""Profiles of what misses its target: py-spy against the gunicorn workers (the real
server), pyinstrument in process (a readable call tree), EXPLAIN ANALYZE of the slowest SQL
statement. Files go to var/bench/profiles/; the results carry a short summary."""

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT_PREFIXES = ("core/", "orders/", "catalog/", "inventory/", "customers/", "payments/", "carriers/", "bench/")


def summarise_collapsed(path: Path, top: int = 15) -> dict:
    """Self and inclusive sample shares per frame from py-spy's raw (collapsed) output."""
    self_counts: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if frames:
            self_counts[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return {"samples": 0}

    def share(counter, only_project=False):
        rows = [
            (frame, count)
            for frame, count in counter.most_common()
            if not only_project or any(p in frame for p in PROJECT_PREFIXES)
        ]
        return [{"frame": frame, "share": round(count / total, 3)} for frame, count in rows[:top]]

    return {
        "samples": total,
        "top_self": share(self_counts),
        "top_inclusive_project": share(inclusive, only_project=True),
    }


def pyspy_during(ctx, server, action, *, name: str, rate: int = 250) -> dict:
    """Record the gunicorn master and its workers with py-spy while `action()` runs."""
    py_spy = Path(sys.executable).parent / "py-spy"
    out = ctx.path("profiles", f"{name}-pyspy.txt")
    svg = ctx.path("profiles", f"{name}-pyspy.svg")
    command = [
        str(py_spy),
        "record",
        "--pid",
        str(server.process.pid),
        "--subprocesses",
        "--rate",
        str(rate),
        "--nonblocking",
    ]
    raw = subprocess.Popen(  # noqa: S603 — our own tool
        [*command, "--format", "raw", "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    flame = subprocess.Popen(  # noqa: S603
        [*command, "--format", "flamegraph", "--output", str(svg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    try:
        action()
    finally:
        for proc in (raw, flame):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGINT)
        for proc in (raw, flame):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    if not out.exists():
        error = raw.stderr.read().decode(errors="replace")[-500:] if raw.stderr else ""
        return {"error": f"py-spy wrote nothing: {error}"}
    summary = summarise_collapsed(out)
    summary["files"] = [str(out.relative_to(ctx.out_dir)), str(svg.relative_to(ctx.out_dir))]
    return summary


def pyinstrument_calls(ctx, call, *, name: str, repeat: int = 3) -> dict:
    """Profile `call()` run `repeat` times in process; HTML and text under profiles/."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(repeat):
        call()
    profiler.stop()
    html = ctx.path("profiles", f"{name}.html")
    text = ctx.path("profiles", f"{name}.txt")
    html.write_text(profiler.output_html())
    rendered = profiler.output_text(unicode=False, color=False, show_all=False)
    text.write_text(rendered)
    lines = [line for line in rendered.splitlines() if line.strip()][:40]
    return {"files": [str(html.relative_to(ctx.out_dir)), str(text.relative_to(ctx.out_dir))], "top": lines}


def explain_slowest(ctx, captured: list[dict], *, name: str) -> dict | None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement of a request."""
    from django.db import connection

    selects = [q for q in captured if q["sql"].lstrip().upper().startswith("SELECT")]
    if not selects:
        return None
    slowest = max(selects, key=lambda q: float(q.get("time") or 0))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    path = ctx.path("profiles", f"{name}-explain.txt")
    path.write_text(slowest["sql"] + "\n\n" + plan + "\n")
    return {
        "sql_ms": round(float(slowest.get("time") or 0) * 1000, 1),
        "sql": slowest["sql"][:600],
        "plan_top": plan.splitlines()[:12],
        "file": str(path.relative_to(ctx.out_dir)),
    }
