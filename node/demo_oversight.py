"""The demo county's oversight story, loaded through real transactions (issue 11).

Right after the households are registered: the province's monitoring rules contract is
deployed and set for the county by two organisations; every tenth household gets its township's
cadre, half of them a first visit; some households report incomes that raise red, orange and
yellow alerts, which are assigned, verified (the red ones make their household monitored),
intervened, resolved or dismissed, and a few are left alone so they escalate; two households
have their exit criteria attested and their lifting proposed (public notice), one of them
objected to; a not-received grievance runs its course and a sensitive report is sealed to the
auditor. After the payments (a minute later in block time) the first lifting is confirmed, the
grievance closed, and more visits recorded, so at first start every report has data: visits
done and overdue, alerts at every level with at least one escalated, grievances in several
states, a lifted household and one held in notice.

The loader (node/demo.py ``DemoLoader``) provides the signing, phases and reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Protocol

from aid.demo_county import (
    ALERT_INCOMES,
    COUNTY_CODE,
    MONITORING_PARAMS,
    OversightPlan,
    oversight_plan,
)
from aid.identity import seal
from node.aidclient import SignedTx

INDICATOR_GAS = 100_000  # the monitoring contract's hooks (about 2,800 measured)
YEAR = 2026


class Loader(Protocol):
    def tx(self, who: str, action: str, args: dict[str, Any], gas: int = 0) -> SignedTx: ...

    def deploy(self, who: str, source: str, init: dict[str, Any]) -> str: ...

    async def phase(self, name: str) -> list[dict[str, Any]]: ...

    async def call(self, method: str, **params: Any) -> Any: ...

    async def list_all(self, kind: str, filters: dict[str, Any]) -> list[dict[str, Any]]: ...

    def cadre_of(self, household: str) -> str:
        """The signer name of the cadre of the household's township."""
        ...

    def account(self, name: str) -> str:
        """The account (public key hex) of a demo signer."""
        ...

    def village_of(self, household: str) -> str: ...


def note(text: str) -> str:
    """The hash of an off-chain note (the demo's notes are these fictional sentences)."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(slots=True)
class Story:
    plan: OversightPlan
    households: list[str]
    alerts: dict[str, list[str]]
    pairings: list[str]
    complaint: str | None = None
    objection: str | None = None
    report: str | None = None

    def ids(self, indexes: tuple[int, ...]) -> list[str]:
        return [self.households[i] for i in indexes]


async def start(
    loader: Loader, households: list[str], orgs: list[dict[str, Any]], source: str
) -> Story:
    plan = oversight_plan(len(households))
    story = Story(plan, households, {}, [])
    contract = loader.deploy("admin-office", source, MONITORING_PARAMS)
    rules = {"area": COUNTY_CODE, "step": "propose", "contract": contract}
    loader.tx("approver", "monitoring.rules", rules)
    for hh in story.ids(plan.paired):
        cadre = loader.account(loader.cadre_of(hh))
        bind = loader.tx("dispatcher", "pairing.bind", {"household": hh, "cadre": cadre})
        story.pairings.append(bind.new_id("pairing"))
    await loader.phase("monitoring rules proposed; cadres paired with households")
    loader.tx("fin-approver", "monitoring.rules", {"area": COUNTY_CODE, "step": "confirm"})
    _visits(loader, story, story.pairings[::2])
    await loader.phase("monitoring rules confirmed by finance; first visits")
    _indicators_and_exits(loader, story)
    await loader.phase("indicators reported (alerts raised), exit criteria attested")
    _assign(loader, story, orgs)
    await loader.phase("alerts and grievances assigned; liftings proposed")
    _verify(loader, story)
    await loader.phase("alerts verified and intervened; an objection holds a notice")
    _close(loader, story)
    await loader.phase("alerts resolved or dismissed; a grievance resolved")
    return story


def _visits(loader: Loader, story: Story, pairings: list[str]) -> None:
    for n, pairing in enumerate(pairings):
        hh = story.households[story.plan.paired[story.pairings.index(pairing)]]
        args: dict[str, Any] = {
            "pairing": pairing,
            "measure": ("policy_explained", "industry", "employment", "health")[n % 4],
            "findings_hash": note(f"visit {pairing}: the household's situation, fictional"),
            "photos": [note(f"photo {pairing} {k}") for k in range(n % 3)],
        }
        loader.tx(loader.cadre_of(hh), "visit.record", args)


def _indicators_and_exits(loader: Loader, story: Story) -> None:
    for level, indexes in story.plan.alerts.items():
        story.alerts[level] = []
        for hh in story.ids(indexes):
            args = {
                "household": hh,
                "indicator": "income_per_head_yuan",
                "value": ALERT_INCOMES[level],
                "year": YEAR,
            }
            signed = loader.tx("reviewer", "indicator.report", args, INDICATOR_GAS)
            story.alerts[level].append(signed.new_id("alert"))
    for hh in story.ids(story.plan.exiting):
        evidence = note(f"exit evidence {hh}, fictional")
        income = {"household": hh, "criterion": "income", "value": 6_000, "year": YEAR}
        loader.tx("reviewer", "exit.attest", {**income, "evidence_hash": evidence}, INDICATOR_GAS)
        for criterion, who in (
            ("housing", "grid-worker"),
            ("schooling", "reviewer"),
            ("drinking_water", "grid-worker"),
            ("medical_insurance", "civil-reviewer"),
        ):
            attest = {"household": hh, "criterion": criterion, "met": True}
            loader.tx(who, "exit.attest", {**attest, "evidence_hash": evidence})
    if story.plan.complaint is not None:
        hh = story.households[story.plan.complaint]
        args = {
            "category": "not_received",
            "links": [{"kind": "household", "id": hh}],
            "content_hash": note(f"complaint {hh}: subsidy not received, fictional"),
        }
        story.complaint = loader.tx("grid-worker", "grievance.file", args).new_id("grievance")


def _assign(loader: Loader, story: Story, orgs: list[dict[str, Any]]) -> None:
    for level, alerts in story.alerts.items():
        owners = story.ids(story.plan.alerts[level])
        # the first two yellow alerts stay unassigned: nobody acts and they escalate
        for n, (alert, hh) in enumerate(zip(alerts, owners, strict=True)):
            if level == "yellow" and n < 2:
                continue
            owner = loader.account(loader.cadre_of(hh))
            loader.tx("dispatcher", "alert.assign", {"alert": alert, "owner": owner})
    if story.complaint is not None:
        args = {"grievance": story.complaint, "handler": loader.account("handler")}
        loader.tx("dispatcher", "grievance.assign", args)
    for hh in story.ids(story.plan.exiting):
        loader.tx("approver", "household.lift", {"household": hh, "step": "propose"})
    if story.plan.report is not None:
        hh = story.households[story.plan.report]
        readers = {o["id"]: o["enc_key"] for o in orgs if o["id"] in ("audit", "office")}
        content = {
            "report": "a clerk asked for a fee to list a household (fictional)",
            "links": [{"kind": "household", "id": hh}],
        }
        report: dict[str, Any] = {
            "category": "fraud",
            "area": loader.village_of(hh),
            "content_sealed": seal(readers, content),
        }
        story.report = loader.tx("grid-worker", "grievance.file", report).new_id("grievance")


def _verify(loader: Loader, story: Story) -> None:
    for level in ("red", "orange"):
        for alert, hh in zip(story.alerts[level], story.ids(story.plan.alerts[level]), strict=True):
            cadre = loader.cadre_of(hh)
            args = {"alert": alert, "findings_hash": note(f"verified {alert}"),
                    "monitored": level == "red"}  # fmt: skip
            loader.tx(cadre, "alert.verify", args)
            if level == "red":
                args = {"alert": alert, "measure": "employment", "note_hash": note(f"job {alert}")}
                loader.tx(cadre, "alert.intervene", args)
    if len(story.plan.exiting) > 1:
        hh = story.households[story.plan.exiting[1]]
        args = {"category": "objection", "links": [{"kind": "household", "id": hh}],
                "content_hash": note(f"objection to lifting {hh}, fictional")}  # fmt: skip
        story.objection = loader.tx("grid-worker", "grievance.file", args).new_id("grievance")
    if story.complaint is not None:
        loader.tx("handler", "grievance.progress", {"grievance": story.complaint})
    if story.report is not None:
        args = {"grievance": story.report, "handler": loader.account("auditor")}
        loader.tx("auditor", "grievance.assign", args)


def _close(loader: Loader, story: Story) -> None:
    for alert in story.alerts["red"][::2]:
        loader.tx("reviewer", "alert.resolve", {"alert": alert, "reason": "a job was found"})
    for alert in story.alerts["orange"][:1]:
        args = {"alert": alert, "reason": "the income was misreported; corrected on a visit"}
        loader.tx("civil-reviewer", "alert.dismiss", args)
    if story.complaint is not None:
        args = {"grievance": story.complaint, "outcome": "rejected",
                "resolution_hash": note(f"bank evidence for {story.complaint}")}  # fmt: skip
        loader.tx("handler", "grievance.resolve", args)


async def finish(loader: Loader, story: Story) -> dict[str, int]:
    """After the payments: wait out the first yellow deadline if need be, then close up.

    Block time is the proposers' wall clock (one machine for a local cluster), so once the
    clock is past the deadline, the next block's end-of-block sweep escalates the alert.
    """
    if story.alerts.get("yellow"):
        first = await loader.call("aid_get", kind="alert", id=story.alerts["yellow"][0])
        wait_s = first["deadline"] / 1000 - time.time() + 1
        if wait_s > 0:
            await asyncio.sleep(wait_s)
    if story.plan.exiting:
        hh = story.households[story.plan.exiting[0]]
        loader.tx("fin-approver", "household.lift", {"household": hh, "step": "confirm"})
    if story.complaint is not None:
        loader.tx("grid-worker", "grievance.close", {"grievance": story.complaint})
    _visits(loader, story, story.pairings[1::2])
    await loader.phase("a lifting confirmed after its notice; a grievance closed; more visits")
    return await _count(loader, story)


async def _count(loader: Loader, story: Story) -> dict[str, int]:
    alerts = await loader.list_all("alert", {"area": COUNTY_CODE})
    exiting = [
        await loader.call("aid_get", kind="household", id=h) for h in story.ids(story.plan.exiting)
    ]
    return {
        "pairings": len(story.pairings),
        "visits": len(story.pairings),
        "alerts": len(alerts),
        "escalated": sum(1 for a in alerts if a["escalations"]),
        "grievances": len(await loader.list_all("grievance", {"area": COUNTY_CODE})),
        "lifted": sum(1 for h in exiting if h["status"] == "lifted"),
        "lifting": sum(1 for h in exiting if h["status"] == "lifting"),
    }
