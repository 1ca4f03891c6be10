"""The measurement registry.

A measurement is a function in a module of bench/measurements/, registered with
`@measurement(name, title=…, targets=[…])`. It receives the `BenchContext` and returns a
dict of figures, stored in results.json under `name`. It raises `Skip("why")` when what it
measures does not exist (yet): the results then say `{"skipped": "why"}`, never a number.

A `Target` names a figure by its dotted path in the results (a `*` matches every key at
that level, e.g. `reads.*.p95_ms`), a comparison and a value; the harness marks each as
pass or miss after the run.
"""

import fnmatch
import operator
from collections.abc import Callable
from dataclasses import dataclass, field


class Skip(Exception):
    """What this measures is not there (yet)."""


OPERATORS: dict[str, Callable] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    path: str
    op: str
    value: object
    label: str
    full_scale_only: bool = False  # stated for the default data set; a smaller one says nothing

    def evaluate(self, results: dict) -> list[dict]:
        """One row per figure the path matches: pass, miss, unknown (no figure), or
        n/a (a target for the full data set, measured on a smaller one)."""
        rows = []
        full = (results.get("run", {}).get("scale") or 0) >= 1
        for path, measured in _resolve(results, self.path.split(".")):
            if measured is None:
                status = "unknown"
            elif self.full_scale_only and not full:
                status = "n/a"
            else:
                status = "pass" if OPERATORS[self.op](measured, self.value) else "miss"
            rows.append(
                {
                    "figure": path,
                    "target": f"{self.op} {self.value}",
                    "measured": measured,
                    "status": status,
                    "label": self.label,
                }
            )
        return rows


def _resolve(node, parts: list[str], prefix: str = ""):
    if not parts:
        yield prefix, node
        return
    if not isinstance(node, dict) or "skipped" in node or "error" in node:
        yield prefix + "." + ".".join(parts) if prefix else ".".join(parts), None
        return
    head, rest = parts[0], parts[1:]
    keys = [k for k in node if fnmatch.fnmatchcase(k, head)] if "*" in head else [head]
    for key in keys:
        if key in node:
            yield from _resolve(node[key], rest, f"{prefix}.{key}" if prefix else key)
        else:
            yield (f"{prefix}.{key}" if prefix else key), None


@dataclass
class Measurement:
    name: str
    title: str
    func: Callable
    order: int
    targets: tuple[Target, ...] = field(default_factory=tuple)
    needs_dataset: bool = True


MEASUREMENTS: dict[str, Measurement] = {}


def measurement(name: str, *, title: str, order: int = 100, targets=(), needs_dataset: bool = True):
    def register(func: Callable) -> Callable:
        if name in MEASUREMENTS:
            raise ValueError(f"measurement {name!r} registered twice")
        MEASUREMENTS[name] = Measurement(name, title, func, order, tuple(targets), needs_dataset)
        return func

    return register


def ordered() -> list[Measurement]:
    return sorted(MEASUREMENTS.values(), key=lambda m: (m.order, m.name))
