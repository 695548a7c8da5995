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
