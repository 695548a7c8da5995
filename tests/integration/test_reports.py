"""Every report figure of the demo county, recomputed by summing the ledger's records, is equal;
and the idle-funds scenario (domain.md scenario 11) on real nodes.

The recount below is written from the figures' definitions (docs/oversight.md "Statistics and
reports") over records read with ``aid_list``/``aid_get`` only; it shares no code with
``aid.stats``/``aid.reports``, so a counter the node got wrong shows up as a difference.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from aid.demo_county import COUNTY_CODE
from aid.reports import ALERT_AGE_BUCKETS_S
from tests.integration.harness import LocalCluster, aidchain
from tests.integration.test_demo import shorten_notice

pytestmark = pytest.mark.integration

HOUSEHOLDS = 40
IDLE_AGE_S = 6
POOR = ("registered", "lifting")
ACTIVE = ("registered", "lifting", "lifted")
CLOSED_ALERTS = ("resolved", "dismissed", "closed")
KINDS = (
    "overview",
    "funds",
    "payments_failed",
    "support_share",
    "incidence",
    "exit_ranking",
    "alerts",
)


def set_policy(cluster: LocalCluster, **policy: int) -> None:
    path = cluster.info.root / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["aid"]["policy"].update(policy)
    path.write_text(json.dumps(genesis, indent=2))


async def list_all(cluster: LocalCluster, kind: str, filters: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": kind, "filters": filters, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = await cluster.call(1, "aid_list", **params)
        out += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return out


async def read_ledger(cluster: LocalCluster) -> dict[str, list[dict[str, Any]]]:
    ledger = {
        "household": await list_all(cluster, "household", {"area": COUNTY_CODE}),
        "fund": await list_all(cluster, "fund", {}),
        "allocation": await list_all(cluster, "allocation", {}),
        "program": await list_all(cluster, "program", {}),
        "alert": await list_all(cluster, "alert", {"area": COUNTY_CODE}),
    }
    ledger["entitlement"] = [
        e
        for p in ledger["program"]
        for e in await list_all(cluster, "entitlement", {"program": p["id"]})
    ]
    return ledger


# --- the recount: definitions applied to records ------------------------------------------------
def significant(code: str) -> str:
    for end in (2, 4, 6, 9, 12):
        if set(code[end:]) <= {"0"}:
            return code[:end]
    return code


def inside(outer: str, inner: str) -> bool:
    return inner.startswith(significant(outer))


def month(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m", time.gmtime(ms // 1000))


def in_period(when: str | None, period: str) -> bool:
    return when is not None and (period == "all" or when.startswith(period))


def ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 6)


def count_by(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def sum_by(pairs: list[tuple[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, v in pairs:
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in sorted(out.items()) if v}


def shares(values: dict[str, int]) -> dict[str, dict[str, Any]]:
    total = sum(values.values())
    return {k: {"fen": v, "share": ratio(v, total)} for k, v in values.items()}


class Recount:
    def __init__(self, ledger: dict[str, list[dict[str, Any]]], area: str, period: str) -> None:
        self.area, self.period = area, period
        self.l = ledger
        self.by_id = {(k, r["id"]): r for k, rows in ledger.items() for r in rows}
        self.hh = [h for h in ledger["household"] if inside(area, h["village"])]
        self.ents = [e for e in ledger["entitlement"] if inside(area, e["village"])]
        self.period_ents = [e for e in self.ents if in_period(e["period"], period)]

    def open_alerts(self) -> list[dict[str, Any]]:
        return [
            a
            for a in self.l["alert"]
            if inside(self.area, a["area"]) and a["status"] not in CLOSED_ALERTS
        ]

    def alerts_open(self) -> dict[str, int]:
        return count_by([a["level"] for a in self.open_alerts()])

    def alerts(self, now_ms: int) -> dict[str, Any]:
        """Alerts by level, age (days since raised, at the report's block time) and deadline."""
        mine = [a for a in self.l["alert"] if inside(self.area, a["area"])]
        labels = [f"under_{b // 86_400}d" for b in ALERT_AGE_BUCKETS_S]
        labels.append(f"over_{ALERT_AGE_BUCKETS_S[-1] // 86_400}d")
        by_age: dict[str, dict[str, int]] = {}
        for a in self.open_alerts():
            age_s = (now_ms - a["created_time"]) // 1000
            bucket = sum(1 for b in ALERT_AGE_BUCKETS_S if age_s >= b)
            by_age.setdefault(a["level"], dict.fromkeys(labels, 0))[labels[bucket]] += 1
        overdue = [a["level"] for a in self.open_alerts() if a["deadline"] < now_ms]
        raised = [a["level"] for a in mine if in_period(month(a["created_time"]), self.period)]
        return {
            "open_by_level": self.alerts_open(),
            "open_by_level_and_age": dict(sorted(by_age.items())),
            "overdue_by_level": count_by(overdue),
            "raised_by_level": count_by(raised),
            "by_status": count_by([a["status"] for a in mine]),
        }

    def area_of_source(self, a: dict[str, Any]) -> str:
        return str(self.by_id[(a["source_kind"], a["source"])]["area"])

    def households(self) -> dict[str, Any]:
        poor = [h for h in self.hh if h["status"] in POOR]
        active = [h for h in self.hh if h["status"] in ACTIVE]
        return {
            "poor": len(poor),
            "poor_persons": sum(h["size"] for h in poor),
            "monitored": sum(1 for h in active if h["status"] == "monitored" or h.get("monitored")),
            "by_status": count_by([h["status"] for h in self.hh]),
            "by_label": count_by([lbl for h in active for lbl in h["labels"]]),
            "by_cause": count_by([h["cause"] for h in poor]),
            "new": sum(1 for h in self.hh if in_period(month(h.get("registered_ms")), self.period)),
            "lifted": sum(1 for h in self.hh if in_period(month(h.get("lifted_ms")), self.period)),
        }

    def funds(self) -> dict[str, Any]:
        p, a = self.period, self.area
        funds = [
            f for f in self.l["fund"] if inside(a, f["area"]) and in_period(month(f["time_ms"]), p)
        ]
        allocs = [x for x in self.l["allocation"] if inside(a, x["area"])]
        received_allocs = [
            x for x in allocs
            if x["status"] in ("received", "returned") and in_period(month(x["received_ms"]), p)
        ]  # fmt: skip
        received = sum(f["amount"] for f in funds) + sum(
            x["amount"] for x in received_allocs if not inside(a, self.area_of_source(x))
        )
        programs = [
            g
            for g in self.l["program"]
            if inside(a, g["area"]) and in_period(month(g["created_ms"]), p)
        ]
        allocated = sum(g["budget"] for g in programs)
        paid_ents = [e for e in self.period_ents if e["status"] in ("paid", "delivered")]
        paid = sum(e["amount"] for e in paid_ents)
        all_funds = [f for f in self.l["fund"] if inside(a, f["area"])]
        all_programs = [g for g in self.l["program"] if inside(a, g["area"])]
        return {
            "received": received,
            "funds_by_level": sum_by([(f["level"], f["amount"]) for f in funds]),
            "funds_by_purpose": sum_by([(f["purpose"], f["amount"]) for f in funds]),
            "allocations_issued": sum(
                x["amount"] for x in allocs if in_period(month(x["issued_ms"]), p)
            ),
            "allocations_received": sum(x["amount"] for x in received_allocs),
            "allocated": allocated,
            "allocated_by_category": sum_by([(g["category"], g["budget"]) for g in programs]),
            "allocated_by_purpose": sum_by([(g["purpose"], g["budget"]) for g in programs]),
            "paid": paid,
            "paid_count": len(paid_ents),
            "spend_rate": ratio(paid, received),
            "budget_execution": ratio(paid, allocated),
            "unspent": sum(f["amount"] - f["drawn"] for f in all_funds)
            + sum(x["amount"] - x["drawn"] for x in allocs if x["status"] == "received"),
            "programs_committed": sum(g["committed"] for g in all_programs),
            "programs_paid": sum(g["paid"] for g in all_programs),
        }

    def payments_failed(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for outcome in ("failed", "returned"):
            rows = [
                (t["code"], e["amount"])
                for e in self.period_ents
                for t in e["attempts"]
                if t.get("outcome") == outcome
            ]
            counts = count_by([code for code, _ in rows])
            fen = sum_by(rows)
            out[outcome] = {c: {"count": counts[c], "fen": fen.get(c, 0)} for c in counts}
            out[f"{outcome}_count"] = len(rows)
            out[f"{outcome}_fen"] = sum(v for _, v in rows)
        return out

    def support_share(self) -> dict[str, Any]:
        paid = [e for e in self.period_ents if e["status"] in ("paid", "delivered")]
        prog = {g["id"]: g for g in self.l["program"]}
        by_program = shares(sum_by([(e["program"], e["amount"]) for e in paid]))
        for ident, row in by_program.items():
            row["name"] = prog[ident]["name"]
        return {
            "paid": sum(e["amount"] for e in paid),
            "by_purpose": shares(
                sum_by([(prog[e["program"]]["purpose"], e["amount"]) for e in paid])
            ),
            "by_category": shares(
                sum_by([(prog[e["program"]]["category"], e["amount"]) for e in paid])
            ),
            "by_program": by_program,
            "allocated_by_purpose": shares(self.funds()["allocated_by_purpose"]),
        }

    def incidence(self) -> dict[str, Any]:
        h = self.households()
        return {
            "poor_households": h["poor"],
            "poor_persons": h["poor_persons"],
            "population": None,  # the demo genesis lists no populations
            "incidence": None,
            "poor_states": list(POOR),
        }

    def exit_ranking(self, names: dict[str, str]) -> dict[str, Any]:
        level_end = len(significant(self.area))
        child_end = {2: 4, 4: 6, 6: 9, 9: 12}.get(level_end)
        rows = []
        if child_end is not None:
            children = sorted({h["village"][:child_end].ljust(12, "0") for h in self.hh})
            for child in children:
                mine = [h for h in self.hh if inside(child, h["village"])]
                new = sum(1 for h in mine if h.get("registered_ms") is not None)
                lifted = sum(1 for h in mine if in_period(month(h.get("lifted_ms")), self.period))
                poor = sum(1 for h in mine if h["status"] in POOR)
                if new or lifted or poor:
                    rows.append({"area": child, "name": names.get(child), "registered_ever": new,
                                 "lifted": lifted, "poor": poor, "exit_rate": ratio(lifted, new)})  # fmt: skip
        rows.sort(key=lambda r: (-(r["exit_rate"] or 0.0), -r["lifted"], r["area"]))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        return {"areas": rows}


def body(report: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in report.items()
        if k not in ("kind", "area", "period", "height", "time", "truncated")
    }


async def area_names(cluster: LocalCluster, codes: list[str]) -> dict[str, str]:
    genesis = json.loads((cluster.info.root / "genesis.json").read_text())
    return {a["code"]: a["name"] for a in genesis["aid"]["areas"] if a["code"] in codes}


async def test_every_report_figure_equals_the_sum_over_the_ledger(new_cluster: Any) -> None:
    cluster: LocalCluster = new_cluster()
    shorten_notice(cluster)  # and the alert deadlines the demo waits out
    set_policy(cluster, idle_fund_age_s=IDLE_AGE_S)
    await cluster.start_all()
    load = aidchain(
        "demo", "load", "--dir", str(cluster.info.root), "--households", str(HOUSEHOLDS),
        timeout=600,
    )  # fmt: skip
    assert load.returncode == 0, load.stderr
    summary = json.loads(load.stdout)

    # the demo is committed; nothing moves while we read (no more transactions are sent)
    ledger = await read_ledger(cluster)
    assert len(ledger["household"]) == HOUSEHOLDS
    villages = sorted({h["village"] for h in ledger["household"]})
    townships = sorted({v[:9] + "000" for v in villages})
    areas = [COUNTY_CODE, *townships, *villages[:4]]
    names = await area_names(cluster, townships + villages)
    now_month = month(max(h["registered_ms"] for h in ledger["household"]))
    assert now_month is not None
    periods = ["all", now_month[:4], now_month, "2026", "2026-01", "2026-03"]

    checked = 0
    county_all = None
    for area in areas:
        for period in dict.fromkeys(periods):
            recount = Recount(ledger, area, period)
            expected = {
                "overview": {
                    "households": recount.households(),
                    "funds": recount.funds(),
                    "payments": recount.payments_failed(),
                    "alerts_open": recount.alerts_open(),
                },
                "funds": recount.funds(),
                "payments_failed": recount.payments_failed(),
                "support_share": recount.support_share(),
                "incidence": recount.incidence(),
                "exit_ranking": recount.exit_ranking(names),
            }
            for kind in KINDS:
                got = await cluster.call(2, "aid_report", kind=kind, area=area, period=period)
                if kind == "alerts":  # ages are judged at the answer's own block time
                    expected[kind] = recount.alerts(got["time"])
                assert got["truncated"] is False
                assert body(got) == expected[kind], (kind, area, period)
                checked += 1
            if (area, period) == (COUNTY_CODE, "all"):
                county_all = expected
    assert checked == len(areas) * len(dict.fromkeys(periods)) * len(KINDS)

    # the figures are not vacuous: the demo's money and households are in the county's report
    assert county_all is not None
    # the demo lifts one household (no longer poor) and holds another's lifting notice
    assert county_all["overview"]["households"]["poor"] == HOUSEHOLDS - summary["lifted"]
    assert sum(county_all["alerts"]["by_status"].values()) == summary["alerts"] > 0
    cash = county_all["support_share"]["by_category"]["cash"]["fen"]
    assert cash == summary["paid_fen"] > 0  # the demo's summary counts the bank's payments
    assert county_all["funds"]["paid"] > cash  # and the seedlings delivery in kind
    assert county_all["payments_failed"]["failed_count"] == summary["failed"] >= 1
    assert len(county_all["support_share"]["by_program"]) == 3

    # every node answers the same figures at the same height
    answers = [
        await cluster.call(i, "aid_report", kind="overview", area=COUNTY_CODE) for i in range(4)
    ]
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1
    raw = await cluster.call(0, "aid_stats", area=COUNTY_CODE, period="all")
    assert raw["height"] == answers[0]["height"]
    assert raw["counters"]["paid/category/cash"] == summary["paid_fen"]

    # the clerk's CLI prints the same report; a malformed period or area is refused with a reason
    cli = aidchain("aid", "report", "overview", "--area", COUNTY_CODE, "--rpc", cluster.url(0))
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == answers[0]
    flat = aidchain(
        "aid", "report", "funds", "--area", COUNTY_CODE, "--flat", "--rpc", cluster.url(0)
    )
    assert f"paid\t{county_all['funds']['paid']}" in flat.stdout.splitlines()
    for bad in (["--period", "2026-13"], ["--area", "5301"]):
        args = ["--area", COUNTY_CODE, *bad] if bad[0] == "--period" else bad
        refused = aidchain("aid", "report", "funds", *args, "--rpc", cluster.url(0))
        assert refused.returncode == 1
        assert "bad_args" in refused.stderr or "unknown_area" in refused.stderr

    await idle_funds_scenario(cluster, ledger, townships[0])


async def idle_funds_scenario(
    cluster: LocalCluster, ledger: dict[str, list[dict[str, Any]]], township: str
) -> None:
    """Scenario 11: an allocation received and left unspent past the age limit is reported idle;
    returning it clears it. (The demo's own allocations are fully drawn by its programs.)"""
    keys = cluster.info.root / "aid" / "demo"
    fund = ledger["fund"][0]

    def aid(action: str, **args: Any) -> dict[str, Any]:
        argv = [f"--arg={k}={json.dumps(v)}" for k, v in args.items()]
        done = aidchain(
            "aid", action, "--key", str(keys / "allocator.key"), *argv, "--rpc", cluster.url(0),
            "--wait",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    idle_id = aid("allocation.issue", source=fund["id"], area=township, amount=1_234_500)["id"]
    aid("allocation.receive", allocation=idle_id)
    fresh = await cluster.call(1, "aid_report", kind="idle_funds", area=COUNTY_CODE)
    assert fresh["age_limit_s"] == IDLE_AGE_S
    assert idle_id not in [a["allocation"] for a in fresh["allocations"]]  # just received
    assert fresh["unspent_fen"] >= 1_234_500

    await asyncio.sleep(IDLE_AGE_S + 1)
    aid("allocation.issue", source=fund["id"], area=township, amount=100)  # a block: time moves
    report = await cluster.call(1, "aid_report", kind="idle_funds", area=township)
    rows = [a for a in report["allocations"] if a["allocation"] == idle_id]
    assert rows and rows[0]["unspent"] == 1_234_500 and rows[0]["area"] == township
    assert rows[0]["age_s"] >= IDLE_AGE_S
    record = await cluster.call(1, "aid_get", kind="allocation", id=idle_id)
    assert record["received_ms"] == rows[0]["received_ms"]
    assert report["time"] - record["received_ms"] >= IDLE_AGE_S * 1000
    # the same answer from the county and from another node
    county = await cluster.call(3, "aid_report", kind="idle_funds", area=COUNTY_CODE)
    assert idle_id in [a["allocation"] for a in county["allocations"]]

    aid("allocation.return", allocation=idle_id, reason="unused")
    after = await cluster.call(1, "aid_report", kind="idle_funds", area=township)
    assert idle_id not in [a["allocation"] for a in after["allocations"]]
