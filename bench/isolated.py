"""Run one piece of background work in a fresh process, for its time and peak memory:

    python -m bench.isolated module:function '{"kwarg": …}' [PROFILE_BASENAME]  →  JSON on stdout

{"seconds", "peak_rss_mb", "result"}: peak RSS is the process's high-water mark, so it
includes Django itself (reported separately as `baseline_rss_mb`, measured right before
the work starts)."""

import importlib
import json
import os
import resource
import sys
import time


def _rss_mb(field: str = "VmRSS") -> float:
    with open(f"/proc/{os.getpid()}/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    """This process's own high-water mark (VmHWM). Not `ru_maxrss`: Linux carries the
    parent's high-water mark over a fork + exec, so after the harness generated a data set
    (hundreds of MB) in the same run, every measured child would report at least that."""
    try:
        return _rss_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings_bench")
    import django

    django.setup()
    module_name, _, function_name = argv[1].partition(":")
    kwargs = json.loads(argv[2]) if len(argv) > 2 else {}
    function = getattr(importlib.import_module(module_name), function_name)
    profile_to = argv[3] if len(argv) > 3 else ""
    profiler = None
    if profile_to:  # a call tree of the work (slower; time and memory then include the profiler)
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    baseline = _rss_mb()
    started = time.perf_counter()
    result = function(**kwargs)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(f"{profile_to}.html", "w") as handle:
            handle.write(profiler.output_html())
        with open(f"{profile_to}.txt", "w") as handle:
            handle.write(profiler.output_text(unicode=False, color=False, show_all=False))
    peak = _peak_rss_mb()
    sys.stdout.write(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(peak, 1),
                "baseline_rss_mb": round(baseline, 1),
                "result": result,
            },
            default=str,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
