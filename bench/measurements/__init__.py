"""The measurements: one module each, registered with `@measurement` (bench.registry).
A new measurement is a new module listed here."""

from bench.measurements import (  # noqa: F401 — importing registers them
    bank_statement,
    intake,
    queries_per_order,
    reads,
    tracking_poll,
)
