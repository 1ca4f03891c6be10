"""Run N attempts at the same moment on real threads, each with its own PostgreSQL
connection, and collect what each one got.

    outcomes = at_once(20, lambda i: client(i).post(URL, body, format="json"))
    assert outcomes.errors == []
    assert sorted(outcomes.statuses()) == [200] * 19 + [201]

A barrier releases all threads together, so the attempts really overlap in the
database (the tests that use this are `transaction=True`: every thread sees only
committed data, as separate web workers would). Every thread closes its connection
when done, so the test database can be flushed afterwards.
"""

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connections


@dataclass
class Outcome:
    index: int
    value: Any = None
    error: BaseException | None = None
    trace: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> int | None:
        """The HTTP status when the attempt returned a response."""
        return getattr(self.value, "status_code", None)


@dataclass
class Outcomes:
    items: list[Outcome] = field(default_factory=list)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def values(self) -> list:
        return [o.value for o in self.items if o.ok]

    @property
    def errors(self) -> list[BaseException]:
        return [o.error for o in self.items if not o.ok]

    def statuses(self) -> list[int | None]:
        return [o.status for o in self.items]

    def errors_of(self, *kinds: type[BaseException]) -> list[BaseException]:
        return [e for e in self.errors if isinstance(e, kinds)]

    def unexpected(self, *expected: type[BaseException]) -> list[str]:
        """Tracebacks of the errors that are not of an expected (typed) kind."""
        return [o.trace for o in self.items if not o.ok and not isinstance(o.error, expected)]

    def server_errors(self) -> list[tuple[int, bytes]]:
        """Responses with a 5xx status (never acceptable as the answer to a loser)."""
        return [(o.status, getattr(o.value, "content", b"")[:500]) for o in self.items if o.status and o.status >= 500]


def at_once(count: int, attempt: Callable[[int], Any], *, timeout: float = 120) -> Outcomes:
    """Call `attempt(i)` for i in range(count), each on its own thread, all released at
    the same moment. Exceptions are collected, not raised."""
    barrier = threading.Barrier(count)
    outcomes = [Outcome(index=i) for i in range(count)]

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[i].value = attempt(i)
        except BaseException as exc:  # noqa: BLE001 — every outcome is reported to the test
            outcomes[i].error = exc
            outcomes[i].trace = traceback.format_exc()
        finally:
            close_old_connections()
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,), name=f"at-once-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"threads still running after {timeout} s (a deadlock?): {stuck}"
    return Outcomes(outcomes)
