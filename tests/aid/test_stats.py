"""aid.stats: the counters a record contributes, and that deltas over any history equal a recount."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aid.stats import STATS, _spread, ancestors, counter_key, month_of, stats_delta

COUNTY = "530102000000"
TOWNSHIP = "530102001000"
VILLAGES = ("530102001001", "530102001002", "530102002001")
JAN_2026 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
MONTH_MS = 31 * 86_400_000

# stable referenced records (the only fields rows may read through refs never change)
REFS: dict[tuple[str, str], dict[str, Any]] = {
    ("fund", "f1"): {"area": COUNTY},
    ("allocation", "a0"): {"area": COUNTY},
    ("program", "p1"): {"area": COUNTY, "category": "cash", "purpose": "living"},
    ("program", "p2"): {"area": TOWNSHIP, "category": "in_kind", "purpose": "industry"},
    ("household", "h1"): {"village": VILLAGES[0]},
}


def refs(kind: str, ident: str) -> dict[str, Any] | None:
    return REFS.get((kind, ident))


def recount(records: dict[tuple[str, str], dict[str, Any]]) -> dict[str, int]:
    return stats_delta(
        list(records), lambda k, i: None, lambda k, i: records.get((k, i)) or refs(k, i)
    )


times = st.integers(JAN_2026, JAN_2026 + 24 * MONTH_MS)

households = st.builds(
    lambda village, status, size, monitored, labels, reg, lifted: {
        "village": village,
        "status": status,
        "size": size,
        "cause": "illness",
        "labels": labels,
        **({"monitored": True} if monitored else {}),
        **({"registered_ms": reg} if reg else {}),
        **({"lifted_ms": lifted} if lifted else {}),
    },
    st.sampled_from(VILLAGES),
    st.sampled_from(("applied", "notice", "registered", "lifting", "lifted", "removed")),
    st.integers(1, 8),
    st.booleans(),
    st.lists(st.sampled_from(("dibao", "wubao")), unique=True),
    st.one_of(st.none(), times),
    st.one_of(st.none(), times),
)
funds = st.builds(
    lambda amount, drawn, t: {
        "area": COUNTY,
        "amount": amount,
        "drawn": min(drawn, amount),
        "time_ms": t,
        "level": "central",
        "purpose": "living",
    },
    st.integers(1, 10**9),
    st.integers(0, 10**9),
    times,
)
allocations = st.builds(
    lambda area, source, status, amount, drawn, issued, delay: {
        "area": area,
        "source": source,
        "source_kind": "fund" if source == "f1" else "allocation",
        "status": status,
        "amount": amount,
        "drawn": min(drawn, amount),
        "issued_ms": issued,
        **({"received_ms": issued + delay} if status != "issued" else {}),
    },
    st.sampled_from((COUNTY, TOWNSHIP, VILLAGES[0])),
    st.sampled_from(("f1", "a0")),
    st.sampled_from(("issued", "received", "returned")),
    st.integers(1, 10**9),
    st.integers(0, 10**9),
    times,
    st.integers(0, 10**8),
)
programs = st.builds(
    lambda budget, committed, paid, status, t: {
        "area": COUNTY,
        "category": "cash",
        "purpose": "living",
        "budget": budget,
        "committed": min(committed, budget),
        "paid": min(paid, committed, budget),
        "status": status,
        "created_ms": t,
    },
    st.integers(1, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.sampled_from(("draft", "active", "closed")),
    times,
)
attempts = st.lists(
    st.fixed_dictionaries(
        {
            "outcome": st.sampled_from(("failed", "returned", "paid", None)),
            "code": st.sampled_from(("account_closed", "name_mismatch")),
        }
    ),
    max_size=3,
)
entitlements = st.builds(
    lambda program, village, period, amount, status, tries: {
        "program": program,
        "household": "h1",
        "period": period,
        "amount": amount,
        "status": status,
        "attempts": tries,
        **({"village": village} if village else {}),
    },
    st.sampled_from(("p1", "p2")),
    st.one_of(st.none(), st.sampled_from(VILLAGES)),
    st.sampled_from(("2026-01", "2026-02", "2027-03")),
    st.integers(1, 10**7),
    st.sampled_from(("pending", "batched", "paid", "failed", "returned", "reissued", "delivered")),
    attempts,
)
alerts = st.builds(
    lambda village, level, status, created: {
        "area": village,
        "level": level,
        "status": status,
        "created_time": created,
        "deadline": created + 86_400_000,
        "owner": "o",
    },
    st.sampled_from(VILLAGES),
    st.sampled_from(("yellow", "orange", "red")),
    st.sampled_from(("raised", "assigned", "verified", "resolved", "dismissed")),
    times,
)
cycles = st.builds(
    lambda program, period, status: {"program": program, "period": period, "status": status},
    st.sampled_from(("p1", "p2")),
    st.sampled_from(("2026-01", "2026-02")),
    st.sampled_from(("draft", "approved", "paying")),
)
batches = st.builds(
    lambda total, paid, status, t: {
        "program": "p1",
        "total": total,
        "paid_total": min(paid, total),
        "status": status,
        "time_ms": t,
    },
    st.integers(1, 10**8),
    st.integers(0, 10**8),
    st.sampled_from(("sent", "settled")),
    times,
)

RECORDS = {
    "household": households,
    "fund": funds,
    "allocation": allocations,
    "program": programs,
    "entitlement": entitlements,
    "alert": alerts,
    "cycle": cycles,
    "batch": batches,
}
step = st.one_of(
    *(
        st.tuples(st.just(kind), st.sampled_from(("x1", "x2", "x3")), st.one_of(st.none(), strat))
        for kind, strat in RECORDS.items()
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(step, max_size=6), max_size=12))
def test_applied_deltas_over_any_history_equal_a_recount(blocks: list[list[Any]]) -> None:
    """Blocks of record writes (None deletes); each block's deltas summed onto the counters."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    counters: dict[str, int] = {}
    for block in blocks:
        after = dict(state)
        for kind, ident, record in block:
            if record is None:
                after.pop((kind, ident), None)
            else:
                after[(kind, ident)] = record
        changed = list(dict.fromkeys((kind, ident) for kind, ident, _ in block))
        delta = stats_delta(
            changed,
            lambda k, i, s=state: s.get((k, i)),  # type: ignore[misc]
            lambda k, i, a=after: a.get((k, i)) or refs(k, i),  # type: ignore[misc]
        )
        for key, value in delta.items():
            counters[key] = counters.get(key, 0) + value
            assert counters[key] >= 0, key
            if counters[key] == 0:
                del counters[key]
        state = after
    assert counters == recount(state)


AREAS = (*VILLAGES, "530102002002", "530103001001", TOWNSHIP, COUNTY, "530000000000")
PERIODS = (
    ("all",),
    ("all", "2026", "2026-01"),
    ("all", "2026", "2026-02"),
    ("all", "2027", "2027-03"),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from(AREAS), st.sampled_from(PERIODS), st.sampled_from(("m", "n/x"))),
        st.integers(-5, 5),
        max_size=20,
    )
)
def test_spreading_level_by_level_adds_each_sum_to_every_area_above(
    local: dict[tuple[str, tuple[str, ...], str], int],
) -> None:
    """``_spread`` passes sums up the tree one level at a time; the counters must be exactly
    each (area, periods, metric) sum added under the area, every ancestor and every period."""
    expected: dict[str, int] = {"x": 7}
    for (area, periods, metric), value in local.items():
        for code in ancestors(area):
            for period in periods:
                key = counter_key(code, period, metric)
                expected[key] = expected.get(key, 0) + value
    total = {"x": 7}  # a plain counter already in the block's sums stays as it is
    _spread(local, total)
    assert {k: v for k, v in total.items() if v} == {k: v for k, v in expected.items() if v}


def test_a_fund_counts_in_its_area_and_every_area_above() -> None:
    fund = {
        "area": COUNTY,
        "amount": 500,
        "drawn": 200,
        "time_ms": JAN_2026,
        "level": "central",
        "purpose": "living",
    }
    got = dict(STATS["fund"]("f9", None, fund, refs))
    for area in (COUNTY, "530100000000", "530000000000"):
        assert got[counter_key(area, "all", "in")] == 500
        assert got[counter_key(area, "2026", "fund/level/central")] == 500
        assert got[counter_key(area, "2026-01", "fund/fen")] == 500
        assert got[counter_key(area, "all", "unspent")] == 300
    assert counter_key(COUNTY, "2026", "unspent") not in got  # a stock has no period
    assert counter_key(TOWNSHIP, "all", "in") not in got


def test_an_allocation_inside_a_county_is_new_money_only_below_the_county() -> None:
    alloc = {
        "area": TOWNSHIP,
        "source": "a0",
        "source_kind": "allocation",
        "status": "received",
        "amount": 1000,
        "drawn": 400,
        "issued_ms": JAN_2026,
        "received_ms": JAN_2026 + 5,
    }
    got = dict(STATS["allocation"]("a7", None, alloc, refs))
    assert got[counter_key(TOWNSHIP, "all", "in")] == 1000
    assert counter_key(COUNTY, "all", "in") not in got  # the county already held it
    assert got[counter_key(COUNTY, "all", "alloc/received")] == 1000
    assert got[counter_key(TOWNSHIP, "all", "unspent")] == 600
    assert got[f"i|idle|{TOWNSHIP}|{JAN_2026 + 5:013d}|a7"] == 600
    spent = dict(alloc, drawn=1000)
    moved = dict(STATS["allocation"]("a7", alloc, spent, refs))
    assert moved[f"i|idle|{TOWNSHIP}|{JAN_2026 + 5:013d}|a7"] == -600  # fully spent: not idle


def test_paid_entitlement_counts_by_benefit_period_village_program_category() -> None:
    ent = {
        "program": "p1",
        "household": "h1",
        "village": VILLAGES[1],
        "period": "2026-02",
        "amount": 6000,
        "status": "paid",
        "attempts": [{"outcome": "failed", "code": "account_closed"}, {"outcome": "paid"}],
    }
    got = dict(STATS["entitlement"]("e1", None, ent, refs))
    for period in ("all", "2026", "2026-02"):
        assert got[counter_key(VILLAGES[1], period, "paid")] == 6000
        assert got[counter_key(COUNTY, period, "paid/category/cash")] == 6000
        assert got[counter_key(TOWNSHIP, period, "paid/purpose/living")] == 6000
        assert got[counter_key(COUNTY, period, "paid/program/p1")] == 6000
        assert got[counter_key(COUNTY, period, "failed/n/account_closed")] == 1
    returned = dict(
        ent,
        status="returned",
        attempts=[*ent["attempts"][:1], {"outcome": "returned", "code": "account_closed"}],
    )
    back = dict(STATS["entitlement"]("e1", ent, returned, refs))
    assert back[counter_key(COUNTY, "all", "paid")] == -6000
    assert back[counter_key(COUNTY, "all", "returned/n/account_closed")] == 1


def test_household_flows_and_the_exit_ranking_entries() -> None:
    hh = {
        "village": VILLAGES[0],
        "status": "lifted",
        "size": 3,
        "labels": [],
        "registered_ms": JAN_2026,
        "lifted_ms": JAN_2026 + MONTH_MS * 13,
    }
    got = dict(STATS["household"]("h1", None, hh, refs))
    lifted_month = month_of(JAN_2026 + MONTH_MS * 13)
    assert got[counter_key(COUNTY, "2026-01", "hh/new")] == 1
    assert got[counter_key(COUNTY, lifted_month, "hh/lifted")] == 1
    assert counter_key(COUNTY, "2026", "hh/lifted") not in got  # lifted in 2027
    assert got[counter_key(COUNTY, "all", f"rank/{TOWNSHIP}/lifted")] == 1
    assert got[counter_key(TOWNSHIP, "all", f"rank/{VILLAGES[0]}/new")] == 1
    assert counter_key(COUNTY, "all", "hh/poor") not in got  # lifted is out of poverty
    assert got[counter_key(COUNTY, "all", "hh/status/lifted")] == 1


def test_an_open_alert_is_an_aged_item_until_closed() -> None:
    alert = {
        "area": VILLAGES[0],
        "level": "red",
        "status": "raised",
        "created_time": JAN_2026,
        "deadline": JAN_2026 + 10,
        "owner": "o",
    }
    item = f"i|alert|{VILLAGES[0]}|{JAN_2026:013d}|red|{JAN_2026 + 10:013d}|al"
    assert dict(STATS["alert"]("al", None, alert, refs))[item] == 1
    closed = dict(alert, status="resolved")
    got = dict(STATS["alert"]("al", alert, closed, refs))
    assert got[item] == -1
    assert got[counter_key(COUNTY, "all", "alert/open/red")] == -1
    assert counter_key(COUNTY, "2026-01", "alert/raised/red") not in got  # raised once, still
