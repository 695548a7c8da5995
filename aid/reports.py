"""Reports (综合报表) derived at read time from the counters of ``aid.stats``.

Every figure here is either a counter (a sum over records, see aid/stats.py) or a ratio of two
counters, or -- for idle funds and alert ages -- a pass over the open items judged against the
block time of the answer. Nothing here reads a record except the few named ones (programs by id
for their names, an area's optional population), so a county report costs a handful of prefix
scans whatever the number of households (docs/oversight.md "Statistics and reports").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from aid.areas import area_prefix, require_in_tree
from aid.errors import BadArgs
from aid.state import record_key
from aid.stats import ALL, POOR_STATES, counter_key

REPORT_KINDS = (
    "overview",
    "funds",
    "payments_failed",
    "support_share",
    "incidence",
    "exit_ranking",
    "idle_funds",
    "alerts",
)
MAX_COUNTERS = 20_000  # counters one area-period may hold before a report says "truncated"
MAX_ITEMS = 10_000  # open items (idle allocations, open alerts) one report walks
SCAN_PAGE = 1_000
ALERT_AGE_BUCKETS_S = (7 * 86_400, 30 * 86_400, 90 * 86_400)  # <7 d, 7-30 d, 30-90 d, >90 d
_PERIOD = re.compile(r"\A(all|\d{4}|\d{4}-(0[1-9]|1[0-2]))\Z")


class StatsView(Protocol):
    """A read view at one block (``storage.chainstore.StoreView``)."""

    def get(self, key: str) -> Any | None: ...

    def stats_scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, int]]: ...

    def head(self) -> tuple[int, int]: ...


def check_period(period: str | None) -> str:
    if period is None:
        return ALL
    if not isinstance(period, str) or _PERIOD.match(period) is None:
        raise BadArgs('period must be "all", a year YYYY or a month YYYY-MM')
    return period


def check_area(view: StatsView, area: str) -> str:
    """``area`` if the chain's tree lists it; UnknownArea (a ledger refusal) otherwise."""
    return require_in_tree(lambda kind, ident: view.get(record_key(kind, ident)), area)


def _scan_all(view: StatsView, prefix: str, cap: int) -> tuple[list[tuple[str, int]], bool]:
    """Up to ``cap`` entries under ``prefix`` in pages, and whether there were more."""
    out: list[tuple[str, int]] = []
    after: str | None = None
    while True:
        want = min(SCAN_PAGE, cap + 1 - len(out))
        rows = view.stats_scan(prefix, after, want)
        out.extend(rows)
        if len(out) > cap:
            return out[:cap], True
        if len(rows) < want:
            return out, False
        after = rows[-1][0]


def counters(view: StatsView, area: str, period: str) -> tuple[dict[str, int], bool]:
    """Every counter of one area and period: {metric: value}, and whether the cap cut it."""
    prefix = counter_key(area, period, "")
    rows, truncated = _scan_all(view, prefix, MAX_COUNTERS)
    return {key[len(prefix) :]: value for key, value in rows}, truncated


def _group(values: dict[str, int], prefix: str) -> dict[str, int]:
    """{rest: value} of the metrics ``<prefix><rest>`` (one level, no further slash)."""
    return {
        key[len(prefix) :]: value
        for key, value in sorted(values.items())
        if key.startswith(prefix) and "/" not in key[len(prefix) :]
    }


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 6)


def _shares(values: dict[str, int]) -> dict[str, dict[str, Any]]:
    total = sum(values.values())
    return {k: {"fen": v, "share": _ratio(v, total)} for k, v in values.items()}


class Reporter:
    """The reports of one area and period, as of the view's block."""

    def __init__(self, view: StatsView, area: str, period: str | None) -> None:
        self.view = view
        self.area = check_area(view, area)
        self.period = check_period(period)
        self.height, self.time_ms = view.head()
        self.flow, cut_flow = counters(view, self.area, self.period)
        if self.period == ALL:
            self.stock, cut_stock = self.flow, False
        else:
            self.stock, cut_stock = counters(view, self.area, ALL)
        self.truncated = cut_flow or cut_stock

    def frame(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "kind": kind,
            "area": self.area,
            "period": self.period,
            "height": self.height,
            "time": self.time_ms,
            "truncated": self.truncated or bool(body.pop("_truncated", False)),
            **body,
        }

    # --- the reports -------------------------------------------------------------------------
    def households(self) -> dict[str, Any]:
        s, f = self.stock, self.flow
        return {
            "poor": s.get("hh/poor", 0),
            "poor_persons": s.get("persons/poor", 0),
            "monitored": s.get("hh/monitored", 0),
            "by_status": _group(s, "hh/status/"),
            "by_label": _group(s, "hh/label/"),
            "by_cause": _group(s, "hh/cause/"),
            "new": f.get("hh/new", 0),
            "lifted": f.get("hh/lifted", 0),
        }

    def funds(self) -> dict[str, Any]:
        s, f = self.stock, self.flow
        received, allocated, paid = f.get("in", 0), f.get("allocated", 0), f.get("paid", 0)
        return {
            "received": received,
            "funds_by_level": _group(f, "fund/level/"),
            "funds_by_purpose": _group(f, "fund/purpose/"),
            "allocations_issued": f.get("alloc/issued", 0),
            "allocations_received": f.get("alloc/received", 0),
            "allocated": allocated,
            "allocated_by_category": _group(f, "allocated/category/"),
            "allocated_by_purpose": _group(f, "allocated/purpose/"),
            "paid": paid,
            "paid_count": f.get("paid/n", 0),
            "spend_rate": _ratio(paid, received),
            "budget_execution": _ratio(paid, allocated),
            "unspent": s.get("unspent", 0),
            "programs_committed": s.get("program/committed", 0),
            "programs_paid": s.get("program/paid", 0),
        }

    def payments_failed(self) -> dict[str, Any]:
        f = self.flow
        out: dict[str, Any] = {}
        for outcome in ("failed", "returned"):
            counts, fen = _group(f, f"{outcome}/n/"), _group(f, f"{outcome}/fen/")
            out[outcome] = {
                code: {"count": counts[code], "fen": fen.get(code, 0)} for code in sorted(counts)
            }
            out[f"{outcome}_count"] = sum(counts.values())
            out[f"{outcome}_fen"] = sum(fen.values())
        return out

    def support_share(self, program_name: Callable[[str], str | None]) -> dict[str, Any]:
        f = self.flow
        programs = _shares(_group(f, "paid/program/"))
        for ident, row in programs.items():
            row["name"] = program_name(ident)
        return {
            "paid": f.get("paid", 0),
            "by_purpose": _shares(_group(f, "paid/purpose/")),
            "by_category": _shares(_group(f, "paid/category/")),
            "by_program": programs,
            "allocated_by_purpose": _shares(_group(f, "allocated/purpose/")),
        }

    def incidence(self, population: int | None) -> dict[str, Any]:
        persons = self.stock.get("persons/poor", 0)
        return {
            "poor_households": self.stock.get("hh/poor", 0),
            "poor_persons": persons,
            "population": population,
            "incidence": None if not population else _ratio(persons, population),
            "poor_states": list(POOR_STATES),
        }

    def exit_ranking(self, area_name: Callable[[str], str | None]) -> dict[str, Any]:
        new = _rank(self.stock, "new")  # ever registered: the base of the rate
        lifted = _rank(self.flow, "lifted")
        poor = _rank(self.stock, "poor")
        rows: list[dict[str, Any]] = [
            {
                "area": child,
                "name": area_name(child),
                "registered_ever": new.get(child, 0),
                "lifted": lifted.get(child, 0),
                "poor": poor.get(child, 0),
                "exit_rate": _ratio(lifted.get(child, 0), new.get(child, 0)),
            }
            for child in sorted(set(new) | set(lifted) | set(poor))
        ]
        rows.sort(key=lambda r: (-(r["exit_rate"] or 0.0), -r["lifted"], r["area"]))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        return {"areas": rows}

    def idle_funds(self, idle_age_s: int) -> dict[str, Any]:
        rows, truncated = _scan_all(self.view, f"i|idle|{area_prefix(self.area)}", MAX_ITEMS)
        cutoff = self.time_ms - idle_age_s * 1000
        items = []
        for key, unspent in rows:
            _, _, area, received, ident = key.split("|")
            if int(received) <= cutoff:
                items.append(
                    {
                        "allocation": ident,
                        "area": area,
                        "received_ms": int(received),
                        "age_s": (self.time_ms - int(received)) // 1000,
                        "unspent": unspent,
                    }
                )
        items.sort(key=lambda r: (r["received_ms"], r["allocation"]))
        return {
            "age_limit_s": idle_age_s,
            "count": len(items),
            "idle_fen": sum(r["unspent"] for r in items),
            "unspent_fen": sum(value for _, value in rows),
            "allocations": items,
            "_truncated": truncated,
        }

    def alerts(self) -> dict[str, Any]:
        rows, truncated = _scan_all(self.view, f"i|alert|{area_prefix(self.area)}", MAX_ITEMS)
        labels = [f"under_{b // 86_400}d" for b in ALERT_AGE_BUCKETS_S]
        labels.append(f"over_{ALERT_AGE_BUCKETS_S[-1] // 86_400}d")
        by_age: dict[str, dict[str, int]] = {}
        overdue: dict[str, int] = {}
        for key, _ in rows:
            _, _, _, created, level, deadline, _ident = key.split("|")
            age_s = (self.time_ms - int(created)) // 1000
            bucket = next(
                (i for i, b in enumerate(ALERT_AGE_BUCKETS_S) if age_s < b),
                len(ALERT_AGE_BUCKETS_S),
            )
            cell = by_age.setdefault(level, dict.fromkeys(labels, 0))
            cell[labels[bucket]] += 1
            if int(deadline) < self.time_ms:
                overdue[level] = overdue.get(level, 0) + 1
        return {
            "open_by_level": _group(self.stock, "alert/open/"),
            "open_by_level_and_age": dict(sorted(by_age.items())),
            "overdue_by_level": dict(sorted(overdue.items())),
            "raised_by_level": _group(self.flow, "alert/raised/"),
            "by_status": _group(self.stock, "alert/status/"),
            "_truncated": truncated,
        }


def _rank(values: dict[str, int], what: str) -> dict[str, int]:
    out = {}
    for key, value in values.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == "rank" and parts[2] == what:
            out[parts[1]] = value
    return out


def report(
    view: StatsView,
    kind: str,
    area: str,
    period: str | None,
    *,
    idle_age_s: int,
) -> dict[str, Any]:
    """One report (``REPORT_KINDS``) of ``area`` in ``period``, as of the view's block."""
    if kind not in REPORT_KINDS:
        raise BadArgs(f"report kind must be one of {', '.join(REPORT_KINDS)}")
    r = Reporter(view, area, period)

    def record(kind_: str, ident: str) -> dict[str, Any] | None:
        value = view.get(f"aid/{kind_}/{ident}")
        return value if isinstance(value, dict) else None

    def name(kind_: str) -> Callable[[str], str | None]:
        return lambda ident: (record(kind_, ident) or {}).get("name")

    if kind == "overview":
        body = {
            "households": r.households(),
            "funds": r.funds(),
            "payments": r.payments_failed(),
            "alerts_open": _group(r.stock, "alert/open/"),
        }
    elif kind == "funds":
        body = r.funds()
    elif kind == "payments_failed":
        body = r.payments_failed()
    elif kind == "support_share":
        body = r.support_share(name("program"))
    elif kind == "incidence":
        population = (record("area", r.area) or {}).get("population")
        body = r.incidence(population if isinstance(population, int) else None)
    elif kind == "exit_ranking":
        body = r.exit_ranking(name("area"))
    elif kind == "idle_funds":
        body = r.idle_funds(idle_age_s)
    else:
        body = r.alerts()
    return r.frame(kind, body)


def raw_stats(view: StatsView, area: str, period: str | None) -> dict[str, Any]:
    """Every counter of an area and period, as stored (``aid_stats``)."""
    r = Reporter(view, area, period)
    return r.frame("stats", {"counters": dict(sorted(r.flow.items()))})
