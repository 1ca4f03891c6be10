"""results.json and the table printed at the end of a run."""

import json
import sys
from pathlib import Path

from bench.registry import Measurement


def evaluate_targets(results: dict, measurements: list[Measurement]) -> list[dict]:
    rows = []
    for m in measurements:
        for target in m.targets:
            rows += target.evaluate(results)
    return rows


def merge_with_previous(results: dict, out_dir: Path, measured: list[str]) -> dict:
    """For a run of some measurements (--only): the latest results at this scale with this
    run's figures laid over them, so results.json keeps every figure; `run.measured_at`
    says when each was measured."""
    scale = results.get("run", {}).get("scale")
    path = out_dir / f"results-scale-{scale:g}.json"
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return results
    merged = {**previous}
    for key, value in results.items():
        if key != "run":
            merged[key] = value
    measured_at = dict(previous.get("run", {}).get("measured_at") or {})
    for name in measured:
        measured_at[name] = results["run"].get("started_at")
    merged["run"] = {**results["run"], "measured_at": measured_at, "merged_onto": previous.get("run", {}).get("run_id")}
    return merged


def write_results(results: dict, out_dir: Path) -> Path:
    """var/bench/results.json (the latest run) and results-scale-<x>.json (the latest run
    at that scale, for comparing query counts across data sizes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False, default=str)
    path = out_dir / "results.json"
    path.write_text(text + "\n")
    scale = results.get("run", {}).get("scale")
    if scale is not None:
        (out_dir / f"results-scale-{scale:g}.json").write_text(text + "\n")
    return path


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)), line]
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(out)


def render(results: dict) -> str:
    run, machine, dataset = results.get("run", {}), results.get("machine", {}), results.get("dataset", {})
    versions = results.get("versions", {})
    parts = [
        f"backoffice benchmark — profile {run.get('profile')}, scale {run.get('scale')}, {run.get('seconds', 0):.0f} s",
        f"machine: {machine.get('cpu_model')} × {machine.get('cores')} cores, {machine.get('memory_mb')} MB; "
        f"load average at start {machine.get('loadavg')} (other work on the machine shares these cores)",
        "versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    if dataset:
        state = "generated" if dataset.get("generated") else "reused"
        extra = f" in {dataset.get('generation_seconds')} s" if dataset.get("generated") else ""
        parts.append(
            f"data set: {state}{extra} — {dataset.get('database')}: "
            + ", ".join(f"{k} {_fmt(v)}" for k, v in (dataset.get("counts") or {}).items())
        )
        report = dataset.get("report") or {}
        if dataset.get("generated") and report.get("tables"):
            rows = [[t, _fmt(v["rows"]), _fmt(v["copy_seconds"])] for t, v in report["tables"].items()]
            parts.append(_table(rows, ["table", "rows", "COPY s"]))
            skipped = {k: v["skipped"] for k, v in report.get("steps", {}).items() if "skipped" in v}
            if skipped:
                parts.append("generator steps skipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))

    intake = results.get("intake") or {}
    if intake and "skipped" not in intake and "error" not in intake:
        parts.append(
            _table(
                [
                    [
                        "order intake (3 lines)",
                        _fmt(intake.get("orders_per_s")),
                        _fmt(intake.get("p50_ms")),
                        _fmt(intake.get("p95_ms")),
                        _fmt(intake.get("p99_ms")),
                        _fmt(intake.get("errors")),
                        _fmt(intake.get("core_seconds_per_order")),
                    ],
                    [
                        "ceiling (bare DRF insert)",
                        _fmt(intake.get("ceiling_per_s")),
                        _fmt(intake.get("ceiling_p50_ms")),
                        _fmt(intake.get("ceiling_p95_ms")),
                        _fmt(intake.get("ceiling_p99_ms")),
                        _fmt(intake.get("ceiling_errors")),
                        _fmt(intake.get("ceiling_core_seconds_per_request")),
                    ],
                ],
                [
                    "HTTP, gunicorn 2 workers, 8 clients",
                    "per s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "errors",
                    "core-s / req",
                ],
            )
        )
        parts.append(f"intake / ceiling = {_fmt(intake.get('ratio'))}")
    qpo = results.get("queries_per_order")
    if qpo and "skipped" not in qpo and "error" not in qpo:
        parts.append("queries per order: " + ", ".join(f"{k} lines → {v}" for k, v in qpo.items()))
    targets = results.get("targets") or []
    target_of = {t["figure"]: t["status"] for t in targets}
    reads = results.get("reads") or {}
    if reads and "skipped" not in reads and "error" not in reads:
        rows = []
        for name, r in reads.items():
            if not isinstance(r, dict):
                continue
            if "p95_ms" not in r:
                rows.append([name, "-", "-", "-", "-", "-", str(r.get("skipped") or r.get("error"))[:90]])
                continue
            other = r.get("queries_other_scales") or {}
            rows.append(
                [
                    name,
                    _fmt(r.get("p50_ms")),
                    _fmt(r.get("p95_ms")),
                    _fmt(r.get("queries")),
                    ", ".join(f"{k}: {v}" for k, v in other.items()) or "-",
                    target_of.get(f"reads.{name}.p95_ms", "-").upper(),
                    r.get("error", ""),
                ]
            )
        header = ["read (server time, in process)", "p50 ms", "p95 ms", "queries", "at other scales", "p95", ""]
        parts.append(_table(rows, header))
    for name in ("tracking_poll", "bank_statement"):
        r = results.get(name)
        if not isinstance(r, dict):
            continue
        if "skipped" in r:
            parts.append(f"{name}: skipped — {r['skipped']}")
        elif "error" in r:
            parts.append(f"{name}: error — {r['error']}")
        else:
            figures = ", ".join(
                f"{k} {_fmt(v)}"
                for k, v in r.items()
                if k not in ("seconds", "peak_rss_mb", "service") and isinstance(v, (int, float, str))
            )
            parts.append(f"{name}: {_fmt(r.get('seconds'))} s, peak {_fmt(r.get('peak_rss_mb'))} MB — {figures}")
    for name, r in results.items():
        if isinstance(r, dict) and "error" in r and name not in ("tracking_poll", "bank_statement"):
            parts.append(f"{name}: error — {r['error']}")
    if targets:
        rows = [
            [t["figure"], t["target"], _fmt(t["measured"]), t["status"].upper()]
            for t in targets
            if not t["figure"].startswith("reads.")
        ]
        for kind in ("p95_ms", "queries_constant", "queries_scale_independent"):
            group = [t for t in targets if t["figure"].startswith("reads.") and t["figure"].endswith("." + kind)]
            if group:
                counts: dict[str, int] = {}
                for t in group:
                    counts[t["status"]] = counts.get(t["status"], 0) + 1
                summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                rows.append([f"reads.*.{kind}", group[0]["target"], f"{len(group)} reads", summary.upper()])
        parts.append(_table(rows, ["target", "wanted", "measured", ""]))
    return "\n\n".join(parts) + "\n"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
