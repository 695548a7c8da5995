"""The ledger's statistics (综合报表) as counters: what a record contributes, derived from it alone.

Every figure of a report is a sum over records, so the node keeps one integer per (area, period,
metric) and, for every record a block changes, adds what the new record contributes and
subtracts what the old one did (``STATS[kind](ident, old, new, refs)``). Because a record's
contribution is a pure function of the record, applying the deltas of any sequence of changes
gives exactly the counters a recount of the final records gives (tests/aid/test_stats.py checks
that property), the counters can be rebuilt from the blocks (``aidchain node reindex``), and two
nodes at one height hold the same counters.

Keys (strings; ``storage/stats.py`` stores them outside the state root):

- ``c|<area>|<period>|<metric>`` -- a counter. ``<area>`` is a 12-digit code; a record counts
  under its own area and every area above it (village, township, county, city, province), so a
  county's figure is one read. ``<period>`` is ``all``, a year ``YYYY`` or a month ``YYYY-MM``.
  Stocks (households by status, open alerts, unspent money) exist only under ``all``: they are
  "now", not "during". Flows (registered, lifted, received, paid, failed) exist under all three.
- ``i|<what>|<area>|...|<id>`` -- an open item (an unspent received allocation, an open alert)
  whose age is judged at read time against the block time of the answer; the value is its
  unspent fen (allocations) or 1 (alerts), and the key vanishes when it reaches 0.

Periods come from block time (UTC), except for entitlements, which count in their benefit
period (the ``YYYY-MM`` the cycle pays for). ``refs(kind, id)`` reads another record as at the
end of the block; a row may use it only for fields that never change once written (an
allocation's source area, a program's category, purpose and area), so the contribution still
depends on nothing that could change without this record changing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import pairwise
from typing import Any

from aid.areas import area_ancestors

Record = dict[str, Any]
Delta = tuple[str, int]
Refs = Callable[[str, str], Record | None]
Row = Callable[[str, Record | None, Record | None, Refs], list[Delta]]

ALL = "all"
# household states in which a household is a registered poor household (建档立卡, not yet out)
POOR_STATES = ("registered", "lifting")
ACTIVE_HOUSEHOLD_STATES = ("registered", "lifting", "lifted")
CLOSED_ALERT_STATES = ("resolved", "dismissed", "closed")
PAID_STATES = ("paid", "delivered")


def counter_key(area: str, period: str, metric: str) -> str:
    return f"c|{area}|{period}|{metric}"


@lru_cache(maxsize=65_536)
def ancestors(area: str) -> tuple[str, ...]:
    """``area_ancestors``, cached: a block moves many records of the same few villages."""
    return tuple(area_ancestors(area))


@lru_cache(maxsize=65_536)
def _prefixes(area: str, periods: tuple[str, ...]) -> tuple[str, ...]:
    """The counter key prefixes (``c|<area>|<period>|``) of ``area`` itself in ``periods``."""
    return tuple(counter_key(area, period, "") for period in periods)


@lru_cache(maxsize=65_536)
def _parent(area: str) -> str | None:
    above = ancestors(area)
    return above[1] if len(above) > 1 else None


def month_of(time_ms: int) -> str:
    """``YYYY-MM`` (UTC) of a block time in milliseconds."""
    return time.strftime("%Y-%m", time.gmtime(time_ms // 1000))


def periods_of_month(month: str) -> tuple[str, str, str]:
    """The periods a flow in ``month`` counts in: all time, its year, its month."""
    return (ALL, month[:4], month)


def periods_at(time_ms: int | None) -> tuple[str, ...]:
    return () if time_ms is None else periods_of_month(month_of(time_ms))


class _Out:
    """Adds one record's contributions, times ``sign`` (+1 new, -1 old), into a block's sums.

    Area contributions are summed per (area, periods, metric) in ``local`` and spread to every
    ancestor area and period once, by ``_spread``, when the block's sum is complete: a block's
    records sit in a few villages, so this spreads each village's sum instead of every record.
    The sums are the same (addition is linear); only the work moves.
    """

    __slots__ = ("local", "sign", "total")

    def __init__(self, total: dict[str, int], local: Local, sign: int) -> None:
        self.total = total
        self.local = local
        self.sign = sign

    def add(self, area: str, periods: tuple[str, ...], metric: str, value: int) -> None:
        if value == 0 or not periods:
            return
        key = (area, periods, metric)
        self.local[key] = self.local.get(key, 0) + self.sign * value

    def stock(self, area: str, metric: str, value: int = 1) -> None:
        self.add(area, (ALL,), metric, value)

    def item(self, key: str, value: int) -> None:
        if value:
            self.total[key] = self.total.get(key, 0) + self.sign * value


Local = dict[tuple[str, tuple[str, ...], str], int]


def _spread(local: Local, total: dict[str, int]) -> None:
    """Add each (area, periods, metric) sum to the counters of the area and its ancestors.

    One level at a time: the sums of a level's areas are added to their own counters and
    summed into their parents', so the villages of one township reach the township, county,
    city and province as one sum instead of each village separately (``ancestors`` is the
    chain of ``_parent``s, and integer addition does not care about the order).
    """
    level = local
    while level:
        above: Local = {}
        for (area, periods, metric), value in level.items():
            if value:
                for prefix in _prefixes(area, periods):
                    key = prefix + metric
                    total[key] = total.get(key, 0) + value
                parent = _parent(area)
                if parent is not None:
                    up = (parent, periods, metric)
                    above[up] = above.get(up, 0) + value
        level = above


Contribute = Callable[[_Out, str, Record, Refs], None]


class _Diff:
    """A row from "what does this record contribute": the new contribution minus the old.

    ``stats_delta`` calls ``into`` to sum a whole block into one dict without a list per row.
    """

    __slots__ = ("contribute",)

    def __init__(self, contribute: Contribute) -> None:
        self.contribute = contribute

    def into(
        self,
        total: dict[str, int],
        local: Local,
        ident: str,
        old: Record | None,
        new: Record | None,
        refs: Refs,
    ) -> None:
        """Add the row to ``total`` (plain counters) and ``local`` (area sums, see ``_Out``)."""
        if old is not None:
            self.contribute(_Out(total, local, -1), ident, old, refs)
        if new is not None:
            self.contribute(_Out(total, local, 1), ident, new, refs)

    def __call__(
        self, ident: str, old: Record | None, new: Record | None, refs: Refs
    ) -> list[Delta]:
        total: dict[str, int] = {}
        local: Local = {}
        self.into(total, local, ident, old, new, refs)
        _spread(local, total)
        return [(key, value) for key, value in total.items() if value]


_diff = _Diff


# --- households --------------------------------------------------------------------------------
def _household(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    village, status, size = r["village"], r["status"], int(r.get("size", 0))
    out.stock(village, f"hh/status/{status}")
    poor = status in POOR_STATES
    if poor:
        out.stock(village, "hh/poor")
        out.stock(village, "persons/poor", size)
        out.stock(village, f"hh/cause/{r.get('cause')}")
    if status in ACTIVE_HOUSEHOLD_STATES:
        if r.get("monitored") is True:
            out.stock(village, "hh/monitored")
        for label in r.get("labels", ()):
            out.stock(village, f"hh/label/{label}")
    registered = r.get("registered_ms")
    lifted_periods = periods_at(r.get("lifted_ms"))
    if registered is not None:
        out.add(village, periods_at(registered), "hh/new", 1)
    out.add(village, lifted_periods, "hh/lifted", 1)
    # exit ranking: each area above the village sees its child on the village's path (the
    # base of the rate, households ever registered, is a stock: counted under "all" only)
    for child, parent in pairwise(ancestors(village)):
        if registered is not None:
            out.item(counter_key(parent, ALL, f"rank/{child}/new"), 1)
        for period in lifted_periods:
            out.item(counter_key(parent, period, f"rank/{child}/lifted"), 1)
        if poor:
            out.item(counter_key(parent, ALL, f"rank/{child}/poor"), 1)


# --- money: funds, allocations, programs, entitlements -----------------------------------------
def _fund(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    area, amount, periods = r["area"], int(r["amount"]), periods_at(r["time_ms"])
    out.add(area, periods, "fund/n", 1)
    out.add(area, periods, "fund/fen", amount)
    out.add(area, periods, f"fund/level/{r['level']}", amount)
    out.add(area, periods, f"fund/purpose/{r['purpose']}", amount)
    out.add(area, periods, "in", amount)  # new money entering the ledger here
    out.stock(area, "unspent", amount - int(r["drawn"]))


def _allocation(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    area, amount, status = r["area"], int(r["amount"]), r["status"]
    out.stock(area, f"alloc/status/{status}")
    out.add(area, periods_at(r["issued_ms"]), "alloc/issued", amount)
    if status not in ("received", "returned"):
        return
    received_ms = int(r.get("received_ms") or r["issued_ms"])
    received = periods_at(received_ms)
    out.add(area, received, "alloc/received", amount)
    # money that came into an area's subtree from outside it: the areas above the receiving
    # one that do not also hold the source (an allocation inside a county is not new money to it)
    source = refs(r["source_kind"], r["source"])
    assert source is not None, f"allocation {ident}'s source {r['source']} is missing"
    holds_source = set(ancestors(source["area"]))
    for code in ancestors(area):
        if code not in holds_source:
            for period in received:
                out.item(counter_key(code, period, "in"), amount)
    if status == "received":
        unspent = amount - int(r["drawn"])
        out.stock(area, "unspent", unspent)
        out.item(f"i|idle|{area}|{received_ms:013d}|{ident}", unspent)


def _program(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    area, periods = r["area"], periods_at(r["created_ms"])
    out.stock(area, f"program/status/{r['status']}")
    budget = int(r["budget"])
    out.add(area, periods, "allocated", budget)
    out.add(area, periods, f"allocated/category/{r['category']}", budget)
    out.add(area, periods, f"allocated/purpose/{r['purpose']}", budget)
    out.stock(area, "program/committed", int(r["committed"]))
    out.stock(area, "program/paid", int(r["paid"]))


def _entitlement(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    village = r.get("village")
    if village is None:  # created before entitlements carried their village
        household = refs("household", r["household"])
        assert household is not None, f"entitlement {ident}'s household is missing"
        village = household["village"]
    periods = periods_of_month(r["period"])
    amount, status = int(r["amount"]), r["status"]
    out.add(village, periods, f"ent/n/{status}", 1)
    out.add(village, periods, f"ent/fen/{status}", amount)
    if status in PAID_STATES:
        program = refs("program", r["program"])
        assert program is not None, f"entitlement {ident}'s program is missing"
        out.add(village, periods, "paid/n", 1)
        out.add(village, periods, "paid", amount)
        out.add(village, periods, f"paid/category/{program['category']}", amount)
        out.add(village, periods, f"paid/purpose/{program['purpose']}", amount)
        out.add(village, periods, f"paid/program/{r['program']}", amount)
    for attempt in r.get("attempts", ()):
        outcome = attempt.get("outcome")
        if outcome in ("failed", "returned"):
            code = attempt.get("code")
            out.add(village, periods, f"{outcome}/n/{code}", 1)
            out.add(village, periods, f"{outcome}/fen/{code}", amount)


def _cycle(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    program = refs("program", r["program"])
    assert program is not None, f"cycle {ident}'s program is missing"
    out.add(program["area"], periods_of_month(r["period"]), f"cycle/status/{r['status']}", 1)


def _batch(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    program = refs("program", r["program"])
    assert program is not None, f"batch {ident}'s program is missing"
    periods = periods_at(r["time_ms"])
    out.add(program["area"], periods, f"batch/status/{r['status']}", 1)
    out.add(program["area"], periods, "batch/fen", int(r["total"]))
    out.add(program["area"], periods, "batch/paid_fen", int(r["paid_total"]))


# --- oversight (WAVE3_INTERFACES section C) ----------------------------------------------------
def _alert(out: _Out, ident: str, r: Record, refs: Refs) -> None:
    area, level, status = r["area"], r["level"], r["status"]
    created = int(r["created_time"])
    out.add(area, periods_at(created), f"alert/raised/{level}", 1)
    out.stock(area, f"alert/status/{status}")
    if status not in CLOSED_ALERT_STATES:
        out.stock(area, f"alert/open/{level}")
        deadline = int(r["deadline"])
        out.item(f"i|alert|{area}|{created:013d}|{level}|{deadline:013d}|{ident}", 1)


STATS: dict[str, Row] = {
    "household": _diff(_household),
    "fund": _diff(_fund),
    "allocation": _diff(_allocation),
    "program": _diff(_program),
    "cycle": _diff(_cycle),
    "entitlement": _diff(_entitlement),
    "batch": _diff(_batch),
    "alert": _diff(_alert),
}


def stats_delta(
    changed: Iterable[tuple[str, str]],
    before: Callable[[str, str], Record | None],
    after: Callable[[str, str], Record | None],
) -> dict[str, int]:
    """The summed deltas of every (kind, id) a block changed, zero sums dropped.

    ``before`` reads a record at the start of the block, ``after`` at its end (also the refs).
    """
    total: dict[str, int] = {}
    local: Local = {}
    for kind, ident in changed:
        row = STATS.get(kind)
        if row is None:
            continue
        if isinstance(row, _Diff):
            row.into(total, local, ident, before(kind, ident), after(kind, ident), after)
            continue
        for key, value in row(ident, before(kind, ident), after(kind, ident), after):
            total[key] = total.get(key, 0) + value
    _spread(local, total)
    return {key: value for key, value in total.items() if value}
