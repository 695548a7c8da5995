"""Scenario 9 (return to poverty) on a real 4-node cluster, through the transaction path.

The province's monitoring rules are a contract (deployed by an ordinary deploy tx, set for the
county by the office and confirmed by finance). An income drop and a large medical bill raise
alerts at the levels the contract gives; an alert left past its deadline escalates at the end of
a block with no one sending anything; the owner's verification makes the household monitored;
a targeted program whose rules contract checks ``monitored`` then entitles that household and
skips the other. Every node agrees on every receipt and on the state root, and answers the
assessment read.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from aid.cycles import entitlement_id
from aid.identity import gb11643_check_digit, person_commitment, seal
from chain.crypto import KeyPair
from contracts import runtime
from tests.integration.aid_genesis import COUNTY, TOWNSHIP, VILLAGE, add_aid_genesis
from tests.integration.harness import LocalCluster, aidchain
from tests.integration.ledger_helpers import (
    Ledger,
    approvals,
    new_id,
    on_every_node,
    propose,
    same_head,
)
from tests.integration.test_subscriptions import Subscriber

pytestmark = pytest.mark.integration

SYSTEM = Path(runtime.__file__).parent / "system"
MONITORING_INIT = {
    "lines": {"2026": 8800},
    "near_line_pct": 110,
    "red_income_pct": 60,
    "orange_medical_pct": 30,
    "red_medical_pct": 60,
}
DEADLINE_S = 4  # every alert level's deadline: an untouched alert escalates within the test
POLICY = {
    "notice_period_s": 2,
    "alert_deadline_yellow_s": DEADLINE_S,
    "alert_deadline_orange_s": DEADLINE_S,
    "alert_deadline_red_s": DEADLINE_S,
    "visit_cadence_s": 2,
}
GAS = 2_000_000
HASH = "ab" * 32


async def test_return_to_poverty_alert_escalation_monitoring_and_targeting(
    new_cluster: Any,
) -> None:
    cluster: LocalCluster = new_cluster()
    setup = add_aid_genesis(cluster, POLICY)
    await cluster.start_all()
    ledger = Ledger(cluster)
    names = ("maker", "vrev", "trev", "approver", "finappr", "alloc", "handler", "rev", "civil",
             "dispatcher", "cadre")  # fmt: skip
    keys = {name: KeyPair.generate() for name in names}
    wanted = [
        ("maker", "village_registrar", VILLAGE, "village"),
        ("vrev", "village_registrar", TOWNSHIP, "village"),
        ("trev", "reviewer", TOWNSHIP, "office"),
        ("approver", "approver", COUNTY, "office"),
        ("finappr", "approver", COUNTY, "fin"),
        ("alloc", "allocator", COUNTY, "fin"),
        ("handler", "handler", COUNTY, "office"),
        ("rev", "reviewer", COUNTY, "office"),
        ("civil", "reviewer", COUNTY, "civil"),
        ("dispatcher", "dispatcher", COUNTY, "office"),
        ("cadre", "cadre", TOWNSHIP, "office"),
    ]
    proposes = [propose(ledger, setup, keys[n], r, a, o) for n, r, a, o in wanted]
    await ledger.run(*proposes)
    proposals = [new_id(t, "proposal") for t in proposes]
    await ledger.run(*approvals(ledger, setup, proposals, "office"))
    await ledger.run(*approvals(ledger, setup, proposals, "audit"))

    # the province's rules: contracts deployed, the county pointed at the monitoring one
    deployer = cluster.accounts[7]
    monitor_tx, targeted_tx = (
        ledger.signed(deployer, "deploy", {"source": (SYSTEM / f).read_text(), "init": i,
                                            "gas": 5_000_000})
        for f, i in (("monitoring_rules.py", MONITORING_INIT),
                     ("rules_monitored_support.py", {"per_member_fen": 20_000}))
    )  # fmt: skip
    monitor, targeted = (r["address"] for r in await ledger.run(monitor_tx, targeted_tx))
    await ledger.run(
        ledger.sign(
            keys["approver"], "monitoring.rules", area=COUNTY, step="propose", contract=monitor
        )
    )
    await ledger.run(ledger.sign(keys["finappr"], "monitoring.rules", area=COUNTY, step="confirm"))

    # two registered households, both above the line
    households = []
    for n in range(2):
        apply = ledger.sign(
            keys["maker"],
            "household.apply",
            village=VILLAGE,
            members=[person_commitment(setup.registry_key, _id(n))],
            size=1,
            cause="illness",
            income_per_head_yuan=12_000,
            sealed=seal({"office": setup.enc_public["office"]}, {"name": f"fictional {n}"}),
        )
        households.append(new_id(apply, "household"))
        await ledger.run(apply)
    dropped, sick = households
    await ledger.run(*(ledger.sign(keys["vrev"], "household.review", household=h,
                                   stage="village") for h in households))  # fmt: skip
    await asyncio.sleep(POLICY["notice_period_s"] + 1)
    for stage, who in (("township", "trev"), ("county", "approver")):
        await ledger.run(*(ledger.sign(keys[who], "household.review", household=h,
                                       stage=stage) for h in households))  # fmt: skip

    # an income drop (orange) and a large medical bill (red), judged by the contract
    income = ledger.sign(keys["rev"], "indicator.report", gas=GAS, household=dropped,
                         indicator="income_per_head_yuan", value=8000, year=2026)  # fmt: skip
    bill = ledger.sign(keys["civil"], "indicator.report", gas=GAS, household=sick,
                       indicator="medical_expense_yuan", value=9000, year=2026)  # fmt: skip
    no_gas = ledger.sign(keys["rev"], "indicator.report", household=sick,
                         indicator="job_loss", value=1, year=2026)  # fmt: skip
    receipts = await ledger.run(income, bill, no_gas, ok=False)
    assert [r["ok"] for r in receipts] == [True, True, False]
    assert receipts[2]["error_type"] == "rule_failed"
    alert_a, alert_b = (r["events"][0]["alert"] for r in receipts[:2])
    assert [r["events"][0]["level"] for r in receipts[:2]] == ["orange", "red"]

    # alert B is handled; alert A is left alone past its deadline
    await ledger.run(ledger.sign(keys["dispatcher"], "alert.assign", alert=alert_b,
                                 owner=keys["cadre"].public_hex))  # fmt: skip
    async with Subscriber(cluster.url(1)) as ws:
        live = await ws.subscribe("events", filter={"kind": "alert", "area": COUNTY})
        await asyncio.sleep(DEADLINE_S + 1)
        # any block sweeps the deadline queue: this one carries B's verification (monitored)
        await ledger.run(ledger.sign(keys["cadre"], "alert.verify", alert=alert_b,
                                     findings_hash=HASH, monitored=True))  # fmt: skip
        # B's verification and the sweep's escalations (B, red, is overdue by now too): the
        # sweep's come after the block's transactions, with no transaction of their own
        seen = [await ws.next(live)]
        while seen[-1]["source"] != "end_block" or seen[-1]["event"].get("alert") != alert_a:
            seen.append(await ws.next(live))
        escalated = seen[-1]
        assert escalated["tx_hash"] is None and escalated["tx_index"] is None
        assert escalated["action"] == "end_block" and escalated["height"] >= seen[0]["height"]
        assert escalated["event"]["name"] == "alert_escalated"
        assert (escalated["event"]["from"], escalated["event"]["to"]) == ("orange", "red")
        assert escalated["event"]["household"] == dropped
        # a client that reconnects from that height gets the very same notifications
        replay = await ws.subscribe(
            "events", filter={"kind": "alert", "area": COUNTY}, from_height=seen[0]["height"]
        )
        assert [await ws.next(replay) for _ in seen] == seen
    await same_head(cluster)
    for a in await on_every_node(cluster, "aid_get", kind="alert", id=alert_a):
        assert a["level"] == "red" and [e["to"] for e in a["escalations"]] == ["red"]
        assert a["status"] == "raised"
    history = await cluster.call(1, "aid_history", kind="alert", id=alert_a)
    assert [h["action"] for h in history["items"]] == ["indicator.report", "end_block"]
    for hh in await on_every_node(cluster, "aid_get", kind="household", id=sick):
        assert hh["monitored"] is True and hh["status"] == "registered"

    # a targeted program whose rules check `monitored`: the sick household only
    fund_tx = ledger.sign(keys["alloc"], "fund.receive", doc_no="Qing-Cai (2026) 9 (fictional)",
                          level="county", year=2026, purpose="living", amount=1_000_000,
                          area=COUNTY)  # fmt: skip
    issue = ledger.sign(keys["alloc"], "allocation.issue", source=new_id(fund_tx, "fund"),
                        area=COUNTY, amount=500_000)  # fmt: skip
    allocation = new_id(issue, "allocation")
    receive = ledger.sign(keys["alloc"], "allocation.receive", allocation=allocation)
    create = ledger.sign(keys["handler"], "program.create", name="Targeted support (fictional)",
                         purpose="living", category="cash", area=COUNTY,
                         start_period="2026-01", end_period="2026-12",
                         per_household_cap=100_000, rules=targeted,
                         funding=[[allocation, 500_000]],
                         targets=[{"metric": "households_paid", "target": 1}])  # fmt: skip
    program = new_id(create, "program")
    await ledger.run(fund_tx, issue, receive)  # one sender: ordered
    await ledger.run(create)
    await ledger.run(ledger.sign(keys["finappr"], "program.status", program=program,
                                 move="activate"))  # fmt: skip
    cycle_tx = ledger.sign(keys["handler"], "cycle.create", program=program, period="2026-11")
    cycle = new_id(cycle_tx, "cycle")
    add = ledger.sign(keys["handler"], "cycle.add", gas=GAS, cycle=cycle, households=households)
    _, added = await ledger.run(cycle_tx, add)
    event = added["events"][-1]
    assert event["added"] == 1 and event["total"] == 20_000
    assert event["skipped"] == [[dropped, "the household is not under return-to-poverty "
                                          "monitoring"]]  # fmt: skip
    ent = await cluster.call(2, "aid_get", kind="entitlement",
                             id=entitlement_id(program, "2026-11", sick))  # fmt: skip
    assert ent["amount"] == 20_000

    # pairing and the assessment read, identical on every node at one height
    await ledger.run(ledger.sign(keys["dispatcher"], "pairing.bind", household=dropped,
                                 cadre=keys["cadre"].public_hex))  # fmt: skip
    await asyncio.sleep(POLICY["visit_cadence_s"] + 1)
    await ledger.run(ledger.sign(keys["cadre"], "alert.intervene", alert=alert_b,
                                 measure="health", note_hash=HASH))  # fmt: skip
    await same_head(cluster)
    overdue = await on_every_node(cluster, "aid_assess", area=COUNTY, report="overdue_visits")
    assert all([p["household"] for p in o["items"]] == [dropped] for o in overdue)
    reports = await on_every_node(cluster, "aid_assess", area=COUNTY, period="2026")
    assert all(r == reports[0] for r in reports)
    owners = {row["account"]: row for row in reports[0]["alert_owners"]}
    assert owners["unassigned"]["overdue_now"] == 1
    cli = aidchain("aid", "assess", COUNTY, "--period", "2026", "--rpc", cluster.url(3))
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["programs"][0]["targets"][0]["actual"] == 0
    cli = aidchain("aid", "assess", COUNTY, "--rpc", cluster.url(3))
    assert cli.returncode != 0 and "--period" in cli.stderr


def _id(n: int) -> str:
    first17 = f"53010219800101{400 + n:03d}"
    return first17 + gb11643_check_digit(first17)
