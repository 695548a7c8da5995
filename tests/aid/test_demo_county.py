from __future__ import annotations

from aid.areas import area_level, area_parent
from aid.demo_county import demo_county
from aid.identity import normalise_id_number


def test_the_demo_county_is_deterministic_and_well_formed() -> None:
    a, b = demo_county(7, households=400), demo_county(7, households=400)
    assert a == b
    assert demo_county(8, households=400) != a
    codes = {x["code"] for x in a.areas}
    levels = [area_level(c) for c in codes]
    assert levels.count("county") == 1 and levels.count("township") == 8
    assert levels.count("village") == 60
    assert all(area_parent(c) in codes for c in codes if area_level(c) != "province")
    ids = [p.id_number for h in a.households for p in h.members]
    assert len(ids) == len(set(ids))
    assert all(normalise_id_number(i) == i for i in ids)
    assert len({h.bank_account for h in a.households}) == len(a.households)
    assert {h.village for h in a.households} == set(a.villages)


def test_the_oversight_plan_tells_every_story_without_overlap() -> None:
    from aid.demo_county import ALERTS_PER_LEVEL, oversight_plan

    plan = oversight_plan(3000)
    assert plan.exiting == (0, 1) and len(plan.paired) == 300 and len(plan.visited) == 150
    assert {k: len(v) for k, v in plan.alerts.items()} == ALERTS_PER_LEVEL
    alerted = [i for v in plan.alerts.values() for i in v]
    assert len(set(alerted)) == len(alerted) and not set(alerted) & set(plan.exiting)
    small = oversight_plan(60)
    assert all(small.alerts.values()) and small.complaint is not None
    assert oversight_plan(1).exiting == (0,) and oversight_plan(1).paired == ()
