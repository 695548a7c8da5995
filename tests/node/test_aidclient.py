"""The client-side household builders (node/aidclient.py): corrections keep what they do not
change, never carry plain text, and the checker's comparison catches data that disagrees."""

from __future__ import annotations

from typing import Any

import pytest
from nacl.public import PrivateKey

from aid.identity import account_commitment, gb11643_check_digit, person_commitment, unseal
from node.aidclient import (
    Member,
    account_change_args,
    household_args,
    members_change_args,
    sealed_disagreements,
)

KEY = bytes(range(32))
OFFICE = PrivateKey.generate()
READERS = {"office": bytes(OFFICE.public_key).hex()}


def person(n: int, name: str) -> Member:
    first17 = f"53010219800101{n:03d}"
    return Member(name, first17 + gb11643_check_digit(first17), f"1390000{n:04d}")


MOTHER, SON, NEWBORN = person(1, "王兰"), person(2, "王虎"), person(3, "王小宝")


def registered(*members: Member) -> tuple[dict[str, Any], dict[str, Any]]:
    """A household record as aid_get returns it, and its opened sealed data."""
    args = household_args(
        KEY, READERS, village="530102001001", members=list(members),
        bank_account="6228480012345678", cause="illness", income_per_head_yuan=3000,
    )  # fmt: skip
    record = {**args, "id": "hh1", "members": sorted(args["members"])}
    return record, unseal(bytes(OFFICE).hex(), args["sealed"], "office")


def test_a_change_of_members_keeps_the_account_and_follows_the_size() -> None:
    household, personal = registered(MOTHER, SON)
    fields = members_change_args(KEY, READERS, household, personal, [MOTHER, NEWBORN])
    assert fields["members"] == [person_commitment(KEY, m.id_number) for m in (MOTHER, NEWBORN)]
    assert "size" not in fields  # two members before and after
    opened = unseal(bytes(OFFICE).hex(), fields["sealed"], "office")
    assert [m["name"] for m in opened["members"]] == ["王兰", "王小宝"]
    assert opened["bank_account"] == "6228480012345678"
    assert NEWBORN.id_number not in str(fields) and "王小宝" not in str(fields)
    assert (
        sealed_disagreements(KEY, fields["members"], household["account_commitment"], opened) == []
    )
    grown = members_change_args(KEY, READERS, household, personal, [MOTHER, SON, NEWBORN])
    assert grown["size"] == 3
    with pytest.raises(ValueError, match="already has exactly these members"):
        members_change_args(KEY, READERS, household, personal, [SON, MOTHER])


def test_a_change_of_account_keeps_the_members() -> None:
    household, personal = registered(MOTHER)
    fields = account_change_args(KEY, READERS, household, personal, "6228480099990000")
    assert fields["account_commitment"] == account_commitment(KEY, "6228480099990000")
    opened = unseal(bytes(OFFICE).hex(), fields["sealed"], "office")
    assert opened["members"] == personal["members"]
    with pytest.raises(ValueError, match="already has this bank account"):
        account_change_args(KEY, READERS, household, personal, "6228 4800 1234 5678")


def test_the_checker_sees_sealed_data_that_disagrees_with_the_commitments() -> None:
    household, personal = registered(MOTHER, SON)
    members, account = household["members"], household["account_commitment"]
    assert sealed_disagreements(KEY, members, account, personal) == []
    other = [person_commitment(KEY, MOTHER.id_number), person_commitment(KEY, NEWBORN.id_number)]
    assert sealed_disagreements(KEY, other, account, personal) == [
        "the sealed data lists 2 members and the commitments 2; only 1 agree"
    ]
    wrong_account = account_commitment(KEY, "6228480099990000")
    assert sealed_disagreements(KEY, members, wrong_account, personal) == [
        "the sealed bank account is not the one the account commitment names"
    ]
    assert sealed_disagreements(KEY, members, None, personal) == []  # no account committed
    forged = {**personal, "members": [{**personal["members"][0], "id_number": "5301021980"}]}
    assert sealed_disagreements(KEY, members, account, forged) == [
        "the sealed data holds a malformed ID number"
    ]
    assert sealed_disagreements(bytes(32), members, account, personal) != []  # another key
