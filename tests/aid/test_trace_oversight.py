"""The trace (溯源) of a household lists its pairings, alerts and grievances, and never a
sensitive report (fraud, bribery, data leak)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from aid.cycles import entitlement_id
from aid.indexes import index_keys
from aid.reads import MAX_OVERSIGHT_ITEMS, SENSITIVE_GRIEVANCES_OMITTED, trace
from aid.state import Records
from rpc.methods import MAX_TRACE_OVERSIGHT, METHODS
from tests.aid.helpers import MemoryChain, sealed_to
from tests.aid.money import approved_cycle, fund_program, households
from tests.aid.oversight import (
    CADRE,
    DAY_MS,
    DISPATCHER,
    GRID,
    HASH,
    VILLAGE,
    oversight_chain,
    record,
    sweep,
    with_monitoring,
)
from tests.aid.test_monitoring import raised

SEALED = sealed_to("audit", "office")


@pytest.fixture
def chain() -> MemoryChain:
    c = oversight_chain()
    with_monitoring(c)
    return c


def file(chain: MemoryChain, **args: Any) -> str:
    chain.act(GRID, "grievance.file", **args)
    return chain.last_id("grievance")


def oversight(chain: MemoryChain, hh: str) -> dict[str, Any]:
    out = trace(Records(chain), chain, "household", hh)
    assert out["root"] == f"household/{hh}"
    return dict(out["oversight"])


def test_a_household_trace_lists_its_pairings_alerts_and_grievances(chain: MemoryChain) -> None:
    program = fund_program(chain)
    hh, other = households(chain, 2)
    approved_cycle(chain, program, [hh, other])
    ent = entitlement_id(program, "2026-11", hh)

    chain.act(DISPATCHER, "pairing.bind", household=hh, cadre=CADRE.public_hex)
    first = chain.last_id("pairing")
    chain.act(DISPATCHER, "pairing.end", pairing=first, reason="cadre moved")
    chain.act(DISPATCHER, "pairing.bind", household=hh, cadre=CADRE.public_hex)
    second = chain.last_id("pairing")
    alert = raised(chain, hh)  # yellow
    chain.time_ms += 16 * DAY_MS
    sweep(chain)  # past the yellow deadline: orange
    about_hh = file(chain, category="eligibility", links=[{"kind": "household", "id": hh}])
    about_pay = file(chain, category="not_received", links=[{"kind": "entitlement", "id": ent}])
    # another household's pairing, alert and grievance are not this one's
    chain.act(DISPATCHER, "pairing.bind", household=other, cadre=CADRE.public_hex)
    raised(chain, other)
    file(chain, category="service", links=[{"kind": "household", "id": other}])

    got = oversight(chain, hh)
    assert got["pairings"] == [
        {"id": first, "status": "ended", "created_height": record(chain, "pairing", first)["created_height"]},
        {"id": second, "status": "active", "created_height": record(chain, "pairing", second)["created_height"]},
    ]  # fmt: skip
    assert [(a["id"], a["status"], a["level"], a["overdue"]) for a in got["alerts"]] == [
        (alert, "raised", "orange", False)
    ]
    assert [(g["id"], g["category"], g["status"], g["about"]) for g in got["grievances"]] == [
        (about_hh, "eligibility", "received", f"household/{hh}"),
        (about_pay, "not_received", "received", f"entitlement/{ent}"),
    ]
    assert got["sensitive_grievances"] == SENSITIVE_GRIEVANCES_OMITTED
    assert got["truncated"] is False
    # ids, states and levels only: no personal data, no sealed content, no hashes
    keys = {k for rows in ("pairings", "alerts", "grievances") for row in got[rows] for k in row}
    assert keys <= {"id", "status", "level", "overdue", "category", "about", "created_height"}
    # the chain of custody itself is as before, and other roots carry no oversight
    assert trace(Records(chain), chain, "entitlement", ent)["oversight"] is None


def test_a_sensitive_report_never_shows_in_a_households_trace(chain: MemoryChain) -> None:
    (hh,) = households(chain, 1)
    plain = file(chain, category="service", links=[{"kind": "household", "id": hh}])
    # a fraud report about the household: sealed to the auditor, filed on the household's village
    fraud = file(chain, category="fraud", area=VILLAGE, content_sealed=SEALED)
    assert record(chain, "grievance", fraud)["sensitive"] is True
    got = oversight(chain, hh)
    assert [g["id"] for g in got["grievances"]] == [plain]
    assert got["sensitive_grievances"] == SENSITIVE_GRIEVANCES_OMITTED
    assert fraud not in repr(trace(Records(chain), chain, "household", hh))

    # and a record that claims to be sensitive while linking the household in the clear (the
    # ledger refuses to file one; an older chain could hold one) is skipped all the same
    leaked = dict(record(chain, "grievance", plain), sensitive=True, category="bribery")
    chain.state["aid/grievance/leaked0000000000000"] = leaked
    for k in index_keys("grievance", "leaked0000000000000", leaked):
        chain.index[k] = None
    assert [g["id"] for g in oversight(chain, hh)["grievances"]] == [plain]


def test_the_lists_are_bounded_and_say_so(chain: MemoryChain) -> None:
    (hh,) = households(chain, 1)
    for n in range(MAX_OVERSIGHT_ITEMS + 2):
        file(chain, category="service", links=[{"kind": "household", "id": hh}],
             content_hash=f"{n:064x}")  # fmt: skip
    got = oversight(chain, hh)
    assert len(got["grievances"]) == MAX_OVERSIGHT_ITEMS and got["truncated"] is True
    assert got["pairings"] == [] and got["alerts"] == []


def test_a_grievance_about_the_village_only_is_not_the_households(chain: MemoryChain) -> None:
    """Grievances are found by their links, not by area: one about the village is not listed."""
    (hh,) = households(chain, 1)
    file(chain, category="service", area=VILLAGE, content_hash=HASH)
    assert oversight(chain, hh)["grievances"] == []


def test_the_answer_matches_the_published_result_schema(chain: MemoryChain) -> None:
    """What ``aid_trace`` answers for a household is what rpc.discover says it answers."""
    (hh,) = households(chain, 1)
    chain.act(DISPATCHER, "pairing.bind", household=hh, cadre=CADRE.public_hex)
    raised(chain, hh)
    chain.time_ms += 16 * DAY_MS
    sweep(chain)  # escalated: the alert's history has an end_block step
    file(chain, category="service", links=[{"kind": "household", "id": hh}])
    schema = METHODS["aid_trace"].result
    assert schema is not None and MAX_TRACE_OVERSIGHT == MAX_OVERSIGHT_ITEMS
    out = json.loads(json.dumps(trace(Records(chain), chain, "household", hh)))
    Draft202012Validator(schema).validate(out)
    assert [len(out["oversight"][k]) for k in ("pairings", "alerts", "grievances")] == [1, 1, 1]
    with pytest.raises(ValidationError):
        bad = {**out["oversight"], "sensitive_grievances": 1}
        Draft202012Validator(schema).validate({**out, "oversight": bad})
