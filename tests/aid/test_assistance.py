"""Pairings and visits: who may bind and record, append-only records, due dates by label."""

from __future__ import annotations

from typing import Any

import pytest

from aid.assessment import overdue_pairings
from aid.errors import AlreadyExists, BadArgs, UnknownEntity, WrongArea, WrongRole, WrongState
from aid.policy import DAY_S
from aid.reads import list_entities
from aid.state import Records
from tests.aid.helpers import CIVIL, MemoryChain, sealed_to
from tests.aid.oversight import (
    CADRE,
    COUNTY,
    DAY_MS,
    DISPATCHER,
    FAR_CADRE,
    GRID,
    HANDLER,
    HASH,
    VILLAGE,
    VILLAGE_CADRE,
    history_actions,
    household,
    oversight_chain,
    record,
)


@pytest.fixture
def chain() -> MemoryChain:
    return oversight_chain()


def bind(chain: MemoryChain, hh: str, cadre: Any = CADRE, signer: Any = DISPATCHER) -> str:
    chain.act(signer, "pairing.bind", household=hh, cadre=cadre.public_hex)
    return chain.last_id("pairing")


def visit(chain: MemoryChain, pairing: str, signer: Any = CADRE, **over: Any) -> str:
    args = {"pairing": pairing, "measure": "industry", "findings_hash": HASH, **over}
    chain.act(signer, "visit.record", **args)
    return chain.last_id("visit")


def test_a_pairing_has_the_common_fields_and_a_due_date(chain: MemoryChain) -> None:
    hh = household(chain)
    pairing = bind(chain, hh)
    p = record(chain, "pairing", pairing)
    assert p["area"] == VILLAGE and p["status"] == "active"
    assert p["created_time"] == chain.time_ms and p["created_height"] == chain.height - 1
    assert p["cadre"] == CADRE.public_hex and p["cadre_org"] == "office" and p["org"] == "office"
    assert p["next_due_ms"] == chain.time_ms + 30 * DAY_MS  # the default cadence
    assert Records(chain).need("hpair", hh) == {"pairing": pairing}


def test_a_handler_may_bind_and_a_village_cadre_may_be_paired(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain), cadre=VILLAGE_CADRE, signer=HANDLER)
    assert record(chain, "pairing", pairing)["cadre_org"] == "village"


@pytest.mark.parametrize(
    ("signer", "cadre", "error", "message"),
    [
        (CADRE, CADRE, WrongRole, "dispatcher of a poverty_office"),
        (CIVIL, CADRE, WrongRole, "dispatcher of a poverty_office"),
        (DISPATCHER, GRID, WrongRole, "not a cadre"),
        (DISPATCHER, FAR_CADRE, WrongArea, "does not include area"),
    ],
)
def test_binding_refusals_change_nothing(
    chain: MemoryChain, signer: Any, cadre: Any, error: type[Exception], message: str
) -> None:
    hh = household(chain)
    before = dict(chain.state)
    with pytest.raises(error, match=message):
        bind(chain, hh, cadre=cadre, signer=signer)
    assert chain.state == before


def test_one_active_pairing_per_household_until_it_ends(chain: MemoryChain) -> None:
    hh = household(chain)
    first = bind(chain, hh)
    with pytest.raises(AlreadyExists, match=first):
        bind(chain, hh, cadre=VILLAGE_CADRE)
    with pytest.raises(BadArgs, match="reason"):
        chain.act(DISPATCHER, "pairing.end", pairing=first)
    with pytest.raises(WrongRole):
        chain.act(CADRE, "pairing.end", pairing=first, reason="moved")
    chain.act(DISPATCHER, "pairing.end", pairing=first, reason="cadre rotated")
    assert record(chain, "pairing", first)["status"] == "ended"
    with pytest.raises(WrongState, match="ended"):
        chain.act(DISPATCHER, "pairing.end", pairing=first, reason="again")
    second = bind(chain, hh, cadre=VILLAGE_CADRE)
    assert Records(chain).need("hpair", hh) == {"pairing": second}


def test_unregistered_households_are_not_paired(chain: MemoryChain) -> None:
    from tests.aid.helpers import apply, ids, valid_id

    hh = apply(chain, ids(valid_id("53010219700101399")))
    with pytest.raises(WrongState, match="applied"):
        bind(chain, hh)
    with pytest.raises(UnknownEntity):
        bind(chain, "nope")


def test_a_visit_is_dated_by_the_block_and_moves_the_due_date(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    chain.time_ms += 10 * DAY_MS
    v = visit(chain, pairing, photos=["cd" * 32, "ef" * 32])
    rec = record(chain, "visit", v)
    assert rec["created_time"] == chain.time_ms and rec["status"] == "recorded"
    assert rec["measure"] == "industry" and rec["photos"] == ["cd" * 32, "ef" * 32]
    p = record(chain, "pairing", pairing)
    assert p["visits"] == 1 and p["last_visit_ms"] == chain.time_ms
    assert p["next_due_ms"] == chain.time_ms + 30 * DAY_MS


def test_a_date_from_the_client_is_refused(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    with pytest.raises(BadArgs, match="unknown arguments"):
        visit(chain, pairing, date_ms=1)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"measure": "bribe"}, "measure must be one of"),
        ({"findings_hash": "xyz"}, "64-hex"),
        ({"findings_sealed": sealed_to("office")}, "exactly one of"),
        ({"findings_hash": None}, "64-hex"),
        ({"photos": ["ab" * 32] * 2}, "distinct"),
        ({"photos": ["ab" * 32 for _ in range(17)]}, "at most 16"),
        ({"corrects": "nope"}, "no visit"),
    ],
)
def test_bad_visits_are_refused_and_change_nothing(
    chain: MemoryChain, over: dict[str, Any], message: str
) -> None:
    pairing = bind(chain, household(chain))
    before = dict(chain.state)
    with pytest.raises((BadArgs, UnknownEntity), match=message):
        visit(chain, pairing, **over)
    assert chain.state == before


def test_a_sealed_note_instead_of_a_hash(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    args = {"pairing": pairing, "measure": "health", "findings_sealed": sealed_to("office")}
    chain.act(CADRE, "visit.record", **args)
    rec = record(chain, "visit", chain.last_id("visit"))
    assert rec["findings_hash"] is None and rec["findings_sealed"] == sealed_to("office")
    with pytest.raises(UnknownEntity):
        chain.act(CADRE, "visit.record", **{**args, "findings_sealed": sealed_to("ghost")})


def test_only_the_paired_cadre_records_and_only_while_active(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    with pytest.raises(WrongRole, match="only the cadre paired"):
        visit(chain, pairing, signer=VILLAGE_CADRE)
    chain.act(DISPATCHER, "pairing.end", pairing=pairing, reason="rotated")
    with pytest.raises(WrongState, match="ended"):
        visit(chain, pairing)


def test_a_correction_is_a_new_record_and_the_old_one_stays(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    first = visit(chain, pairing)
    original = record(chain, "visit", first)
    due = record(chain, "pairing", pairing)["next_due_ms"]
    chain.time_ms += DAY_MS
    fix = visit(chain, pairing, corrects=first, measure="employment")
    assert record(chain, "visit", first) == original  # never edited
    rec = record(chain, "visit", fix)
    assert rec["corrects"] == first and rec["status"] == "correction"
    assert record(chain, "pairing", pairing)["visits"] == 1  # a correction is not a visit
    assert record(chain, "pairing", pairing)["next_due_ms"] == due
    other = bind(chain, household(chain, 1))
    with pytest.raises(BadArgs, match="another pairing"):
        visit(chain, other, corrects=first)
    assert history_actions(chain, "visit", first) == ["visit.record"]


def test_cadence_follows_labels_and_monitoring(chain: MemoryChain) -> None:
    hh = household(chain)
    chain.act(CIVIL, "household.label", household=hh, label="wubao", present=True)
    pairing = bind(chain, hh)
    assert record(chain, "pairing", pairing)["next_due_ms"] == chain.time_ms + 14 * DAY_MS


def test_overdue_pairings_by_area(chain: MemoryChain) -> None:
    first, second = household(chain, 0), household(chain, 1)
    late, fresh = bind(chain, first), bind(chain, second)
    chain.time_ms += 20 * DAY_MS
    visit(chain, fresh)
    chain.time_ms += 11 * DAY_MS  # late: 31 days since binding; fresh: 11 days since its visit
    page = overdue_pairings(Records(chain), chain, COUNTY, chain.time_ms)
    assert [p["id"] for p in page.items] == [late]
    assert page.items[0]["overdue_ms"] == DAY_MS
    assert overdue_pairings(Records(chain), chain, "530103000000", chain.time_ms).items == []


def test_pairings_and_visits_list_by_area_and_status(chain: MemoryChain) -> None:
    pairing = bind(chain, household(chain))
    visit(chain, pairing)
    listed = list_entities(Records(chain), chain, "pairing", {"status": "active", "area": COUNTY})
    assert [p["id"] for p in listed.items] == [pairing]
    visits = list_entities(Records(chain), chain, "visit", {"pairing": pairing})
    assert len(visits.items) == 1
    assert history_actions(chain, "pairing", pairing) == ["pairing.bind", "visit.record"]


def test_policy_cadence_defaults() -> None:
    from aid.policy import Policy

    policy = Policy()
    assert policy.visit_cadence_ms([], False) == 30 * DAY_S * 1000
    assert policy.visit_cadence_ms(["dibao"], True) == 14 * DAY_S * 1000
