"""aid.reports over counters built by aid.stats: idle funds by age, alerts by level and age,
incidence with a genesis population, the exit ranking, and refused areas and periods."""

from __future__ import annotations

import bisect
from typing import Any

import pytest

from aid.errors import BadArgs, UnknownArea
from aid.genesis import genesis_records
from aid.reports import raw_stats, report
from aid.stats import stats_delta
from tests.aid.helpers import genesis_doc

COUNTY = "530102000000"
T1, T2 = "530102001000", "530102002000"
V1, V2, V3 = "530102001001", "530102001002", "530102002001"
DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class View:
    """A StatsView over in-memory records: counters recounted with aid.stats."""

    def __init__(self, records: dict[tuple[str, str], dict[str, Any]], now_ms: int) -> None:
        self.records = records
        self.now_ms = now_ms
        counters = stats_delta(list(records), lambda k, i: None, lambda k, i: records.get((k, i)))
        self.keys = sorted(counters)
        self.counters = counters

    def get(self, key: str) -> Any | None:
        _, kind, ident = key.split("/", 2)
        return self.records.get((kind, ident))

    def stats_scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, int]]:
        start = bisect.bisect_right(self.keys, after) if after else 0
        start = max(start, bisect.bisect_left(self.keys, prefix))
        out = []
        for key in self.keys[start:]:
            if not key.startswith(prefix) or len(out) >= limit:
                break
            out.append((key, self.counters[key]))
        return out

    def head(self) -> tuple[int, int]:
        return 7, self.now_ms


def hh(village: str, status: str, registered: int, lifted: int | None = None) -> dict[str, Any]:
    record = {"village": village, "status": status, "size": 4, "labels": [], "cause": "illness",
              "registered_ms": registered}  # fmt: skip
    if lifted is not None:
        record["lifted_ms"] = lifted
    return record


def world(now_ms: int) -> View:
    records: dict[tuple[str, str], dict[str, Any]] = {
        ("fund", "f1"): {"area": COUNTY, "amount": 10_000, "drawn": 9_000, "time_ms": T0,
                         "level": "central", "purpose": "living"},
        ("allocation", "old"): {"area": T1, "source": "f1", "source_kind": "fund",
                                "status": "received", "amount": 5_000, "drawn": 1_000,
                                "issued_ms": T0, "received_ms": T0 + DAY_MS},
        ("allocation", "new"): {"area": V3, "source": "f1", "source_kind": "fund",
                                "status": "received", "amount": 4_000, "drawn": 0,
                                "issued_ms": T0, "received_ms": now_ms - DAY_MS},
        ("allocation", "spent"): {"area": T2, "source": "f1", "source_kind": "fund",
                                  "status": "received", "amount": 0, "drawn": 0,
                                  "issued_ms": T0, "received_ms": T0},
        ("area", COUNTY): {"name": "青山县", "population": 200},
        ("area", T1): {"name": "一镇"},
        ("area", T2): {"name": "二镇"},
        ("household", "a"): hh(V1, "lifted", T0, T0 + 40 * DAY_MS),
        ("household", "b"): hh(V2, "registered", T0),
        ("household", "c"): hh(V3, "lifted", T0, T0 + 45 * DAY_MS),
        ("household", "d"): hh(V3, "lifted", T0, T0 + 50 * DAY_MS),
        ("alert", "y"): {"area": V1, "level": "yellow", "status": "raised",
                         "created_time": now_ms - 2 * DAY_MS, "deadline": now_ms + DAY_MS},
        ("alert", "r"): {"area": V3, "level": "red", "status": "assigned",
                         "created_time": now_ms - 40 * DAY_MS, "deadline": now_ms - DAY_MS},
        ("alert", "done"): {"area": V3, "level": "red", "status": "resolved",
                            "created_time": T0, "deadline": T0},
    }  # fmt: skip
    return View(records, now_ms)


NOW = T0 + 400 * DAY_MS


def test_idle_funds_are_received_unspent_allocations_older_than_the_limit() -> None:
    got = report(world(NOW), "idle_funds", COUNTY, None, idle_age_s=365 * 86_400)
    assert [a["allocation"] for a in got["allocations"]] == ["old"]
    assert got["allocations"][0]["unspent"] == 4_000
    assert got["allocations"][0]["age_s"] == 399 * 86_400
    assert got["idle_fen"] == 4_000 and got["unspent_fen"] == 8_000
    assert (got["height"], got["time"]) == (7, NOW)
    township = report(world(NOW), "idle_funds", T2, None, idle_age_s=1)
    # with a 1 s limit the one received yesterday is idle too; the fully drawn one never is
    assert [a["allocation"] for a in township["allocations"]] == ["new"]
    younger = report(world(T0 + 30 * DAY_MS), "idle_funds", COUNTY, None, idle_age_s=365 * 86_400)
    assert younger["allocations"] == []


def test_alerts_by_level_age_and_deadline() -> None:
    got = report(world(NOW), "alerts", COUNTY, None, idle_age_s=1)
    assert got["open_by_level"] == {"red": 1, "yellow": 1}
    assert got["open_by_level_and_age"]["yellow"]["under_7d"] == 1
    assert got["open_by_level_and_age"]["red"]["under_90d"] == 1
    assert got["overdue_by_level"] == {"red": 1}
    assert got["by_status"] == {"assigned": 1, "raised": 1, "resolved": 1}
    assert report(world(NOW), "alerts", T2, None, idle_age_s=1)["open_by_level"] == {"red": 1}


def test_incidence_uses_the_genesis_population_when_listed() -> None:
    county = report(world(NOW), "incidence", COUNTY, None, idle_age_s=1)
    assert (county["poor_persons"], county["population"], county["incidence"]) == (4, 200, 0.02)
    township = report(world(NOW), "incidence", T1, None, idle_age_s=1)
    assert township["population"] is None and township["incidence"] is None


def test_exit_ranking_ranks_the_children_by_their_exit_rate() -> None:
    got = report(world(NOW), "exit_ranking", COUNTY, "2026-02", idle_age_s=1)
    rows = [(r["rank"], r["area"], r["name"], r["lifted"], r["exit_rate"]) for r in got["areas"]]
    assert rows == [(1, T2, "二镇", 2, 1.0), (2, T1, "一镇", 1, 0.5)]


def test_funds_received_counts_new_money_once_per_area() -> None:
    county = report(world(NOW), "funds", COUNTY, None, idle_age_s=1)
    assert county["received"] == 10_000  # the fund; allocations inside the county are not new
    assert county["unspent"] == 1_000 + 4_000 + 4_000
    assert report(world(NOW), "funds", T1, None, idle_age_s=1)["received"] == 5_000


def test_areas_periods_and_kinds_are_checked() -> None:
    view = world(NOW)
    with pytest.raises(BadArgs, match="period"):
        report(view, "funds", COUNTY, "2026-13", idle_age_s=1)
    with pytest.raises(UnknownArea):
        report(view, "funds", "5301", None, idle_age_s=1)
    with pytest.raises(UnknownArea, match="530102009000 is not in this chain's area tree"):
        report(view, "funds", "530102009000", None, idle_age_s=1)  # not in the genesis tree
    with pytest.raises(UnknownArea, match="530102009000"):
        raw_stats(view, "530102009000", None)
    with pytest.raises(BadArgs, match="report kind"):
        report(view, "gossip", COUNTY, None, idle_age_s=1)
    raw = raw_stats(view, COUNTY, "2026")
    assert raw["counters"]["hh/new"] == 4 and raw["period"] == "2026"


def test_genesis_areas_may_carry_a_population() -> None:
    doc = genesis_doc()
    doc["areas"][0]["population"] = 123_456
    code = doc["areas"][0]["code"]
    assert genesis_records(doc)[f"aid/area/{code}"]["population"] == 123_456
    doc["areas"][0]["population"] = 0
    with pytest.raises(BadArgs, match="population"):
        genesis_records(doc)
    doc["areas"][0]["population"] = 5
    doc["areas"][0]["households"] = 5
    with pytest.raises(BadArgs, match="population"):
        genesis_records(doc)
