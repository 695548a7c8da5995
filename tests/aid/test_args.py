"""The one argument reader (aid/args.py): areas must be codes of the chain's own area tree."""

from __future__ import annotations

import pytest

from aid.args import Args
from aid.errors import BadArgs, UnknownArea
from aid.state import Records, record_key
from contracts.runtime import MemoryState

TREE = ("530102000000", "530102001000", "530102001001")


def reader(**args: object) -> Args:
    state = MemoryState({record_key("area", code): {"name": code} for code in TREE})
    return Args("fund.receive", dict(args), Records(state))


@pytest.mark.parametrize("code", TREE)
def test_an_area_of_the_tree_is_read(code: str) -> None:
    assert reader(area=code).area("area") == code


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        ("530102009001", UnknownArea, "530102009001 is not in this chain's area tree"),
        ("530103000000", UnknownArea, "530103000000 is not in this chain's area tree"),
        ("5301020010", UnknownArea, "12 digits"),
        ("530100001000", UnknownArea, "530100001000"),
        (530102001001, UnknownArea, "12 digits"),
    ],
)
def test_an_area_outside_the_tree_is_refused_naming_it(
    code: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        reader(area=code).area("area")


def test_a_level_is_checked_before_the_tree() -> None:
    with pytest.raises(BadArgs, match="a village code, not the township 530102001000") as info:
        reader(village="530102001000").area("village", level="village")
    assert info.value.data["argument"] == "village"
    assert reader(village="530102001001").area("village", level="village") == "530102001001"
