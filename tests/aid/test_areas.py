from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aid.areas import (
    AreaTree,
    area_ancestors,
    area_contains,
    area_level,
    area_parent,
    area_prefix,
)
from aid.errors import UnknownArea

PROVINCE, CITY, COUNTY = "530000000000", "530100000000", "530102000000"
TOWNSHIP, VILLAGE = "530102001000", "530102001002"


@pytest.mark.parametrize(
    ("code", "level"),
    [
        (PROVINCE, "province"),
        (CITY, "city"),
        (COUNTY, "county"),
        (TOWNSHIP, "township"),
        (VILLAGE, "village"),
    ],
)
def test_level_is_read_from_the_code(code: str, level: str) -> None:
    assert area_level(code) == level


@pytest.mark.parametrize(
    "bad",
    [
        "53010200100",
        "5301020010021",
        "53010200100x",
        "530100001000",
        "000000000000",
        "\uff15" + "3" * 11,  # a full-width digit
        530102001002,
        None,
        "530102000001",
    ],
)
def test_malformed_codes_are_refused_by_name(bad: object) -> None:
    with pytest.raises(UnknownArea):
        area_level(bad)


def test_parents_and_ancestors() -> None:
    assert area_parent(VILLAGE) == TOWNSHIP
    assert area_parent(TOWNSHIP) == COUNTY
    assert area_parent(PROVINCE) is None
    assert area_ancestors(VILLAGE) == [VILLAGE, TOWNSHIP, COUNTY, CITY, PROVINCE]
    assert area_prefix(TOWNSHIP) == "530102001"


def test_containment_is_the_tree() -> None:
    assert area_contains(COUNTY, VILLAGE)
    assert area_contains(VILLAGE, VILLAGE)
    assert not area_contains(VILLAGE, TOWNSHIP)
    assert not area_contains("530103000000", VILLAGE)  # a neighbouring county
    assert not area_contains(TOWNSHIP, "530102002001")  # a village of another township


segments = st.tuples(
    st.integers(1, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 999),
    st.integers(0, 999),
)


@given(segments)
def test_every_ancestor_contains_the_code(segs: tuple[int, int, int, int, int]) -> None:
    parts = list(segs)
    for i in range(1, 5):  # zero everything below the first zero segment
        if parts[i - 1] == 0:
            parts[i] = 0
    code = f"{parts[0]:02d}{parts[1]:02d}{parts[2]:02d}{parts[3]:03d}{parts[4]:03d}"
    for ancestor in area_ancestors(code):
        assert area_contains(ancestor, code)
    assert (
        len(area_ancestors(code))
        == ["province", "city", "county", "township", "village"].index(area_level(code)) + 1
    )


TREE = {
    "530102000000": {"name": "County A", "population": 120_000},
    "530102001000": {"name": "Township A1"},
    "530102002000": {"name": "Township A2"},
    "530102001001": {"name": "Village A1a"},
    "530102001002": {"name": "Village A1b"},
    "530103000000": {"name": "County B"},
}


def test_the_tree_lists_each_areas_children_by_code() -> None:
    tree = AreaTree(TREE)
    assert [a["code"] for a in tree.children(None)] == ["530102000000", "530103000000"]
    assert tree.children("530102000000") == [
        {"code": "530102001000", "level": "township", "name": "Township A1"},
        {"code": "530102002000", "level": "township", "name": "Township A2"},
    ]
    assert [a["name"] for a in tree.children("530102001000")] == ["Village A1a", "Village A1b"]
    assert tree.children("530102001001") == []  # a village has no areas below it
    assert tree.children(None)[0]["population"] == 120_000


def test_an_area_outside_the_tree_is_refused() -> None:
    tree = AreaTree(TREE)
    with pytest.raises(UnknownArea, match="530102009000 is not in this chain's area tree"):
        tree.children("530102009000")
    with pytest.raises(UnknownArea, match="12 digits"):
        tree.children("5301")
