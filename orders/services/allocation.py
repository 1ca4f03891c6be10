"""Split an order over locations by stock and storage capability.

Rules, in order:
1. a line only goes to a location that handles its storage kind and has it available;
2. prefer ONE location that can ship everything;
3. otherwise the fewest locations that together ship the most;
4. ties go to the better location: lower priority number, cut-off not yet passed today,
   later cut-off;
5. a line may be split over locations; what no location has becomes a backorder.

`plan_allocation` is pure (no database): the caller passes the stock rows it has locked.
"""

import datetime
import itertools
from collections import defaultdict
from dataclasses import dataclass

# Beyond this many candidate locations an exhaustive search of subsets is not worth it:
# the planner falls back to a greedy cover (largest contribution first).
MAX_EXHAUSTIVE_LOCATIONS = 8


@dataclass(frozen=True)
class LineNeed:
    key: int  # the order line's position
    product_id: int
    storage_kind: str
    quantity: int


@dataclass(frozen=True)
class StockOption:
    stock_id: int
    product_id: int
    location_id: int
    available: int
    storage_kinds: tuple[str, ...]
    priority: int
    cutoff: datetime.time


@dataclass(frozen=True)
class PlannedAllocation:
    key: int
    product_id: int
    location_id: int
    stock_id: int
    quantity: int


@dataclass
class AllocationPlan:
    allocations: list[PlannedAllocation]
    backorders: dict[int, int]  # line key → quantity not allocatable now

    @property
    def location_ids(self) -> list[int]:
        return sorted({a.location_id for a in self.allocations})

    @property
    def has_backorder(self) -> bool:
        return any(self.backorders.values())


def _location_rank(option: StockOption, now: datetime.time) -> tuple:
    cutoff_passed = now >= option.cutoff
    return (option.priority, cutoff_passed, -(option.cutoff.hour * 60 + option.cutoff.minute), option.location_id)


def _assign(needs: list[LineNeed], options_by_line: dict[int, list[StockOption]], locations: tuple[int, ...]):
    """Greedy assignment of each line within a set of locations (best-ranked first)."""
    used: dict[int, int] = defaultdict(int)  # stock_id → taken
    allocations: list[PlannedAllocation] = []
    allocated = 0
    allowed = set(locations)
    order = {loc: i for i, loc in enumerate(locations)}
    for need in needs:
        remaining = need.quantity
        for option in sorted(
            (o for o in options_by_line[need.key] if o.location_id in allowed), key=lambda o: order[o.location_id]
        ):
            if remaining == 0:
                break
            take = min(remaining, option.available - used[option.stock_id])
            if take <= 0:
                continue
            used[option.stock_id] += take
            remaining -= take
            allocated += take
            allocations.append(PlannedAllocation(need.key, need.product_id, option.location_id, option.stock_id, take))
    return allocated, allocations


def plan_allocation(needs: list[LineNeed], options: list[StockOption], *, now: datetime.time) -> AllocationPlan:
    options_by_line: dict[int, list[StockOption]] = {}
    for need in needs:
        options_by_line[need.key] = [
            o
            for o in options
            if o.product_id == need.product_id and need.storage_kind in o.storage_kinds and o.available > 0
        ]
    ranked: dict[int, tuple] = {}
    for line_options in options_by_line.values():
        for option in line_options:
            ranked.setdefault(option.location_id, _location_rank(option, now))
    locations = sorted(ranked, key=lambda loc: ranked[loc])

    best_allocated, best_allocations = _assign(needs, options_by_line, tuple(locations))
    if len(locations) > MAX_EXHAUSTIVE_LOCATIONS:
        chosen = _greedy_cover(needs, options_by_line, locations, best_allocated)
        best_allocations = _assign(needs, options_by_line, chosen)[1]
    else:
        # the smallest set of locations that ships as much as all of them together;
        # among equal sets, the best-ranked (combinations come in rank order)
        for size in range(1, len(locations) + 1):
            found = None
            for combo in itertools.combinations(locations, size):
                allocated, allocations = _assign(needs, options_by_line, combo)
                if allocated == best_allocated:
                    found = allocations
                    break
            if found is not None:
                best_allocations = found
                break

    allocated_per_line: dict[int, int] = defaultdict(int)
    for allocation in best_allocations:
        allocated_per_line[allocation.key] += allocation.quantity
    backorders = {
        n.key: n.quantity - allocated_per_line[n.key] for n in needs if n.quantity > allocated_per_line[n.key]
    }
    return AllocationPlan(allocations=best_allocations, backorders=backorders)


def _greedy_cover(needs, options_by_line, locations, target) -> tuple[int, ...]:
    chosen: list[int] = []
    allocated = 0
    while allocated < target:
        best = max(
            (loc for loc in locations if loc not in chosen),
            key=lambda loc: _assign(needs, options_by_line, (*chosen, loc))[0],
        )
        chosen.append(best)
        allocated = _assign(needs, options_by_line, tuple(chosen))[0]
    return tuple(chosen)
