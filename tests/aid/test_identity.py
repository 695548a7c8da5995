from __future__ import annotations

import pytest
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey

from aid.errors import BadArgs
from aid.identity import (
    account_commitment,
    gb11643_check_digit,
    normalise_id_number,
    person_commitment,
    seal,
    unseal,
)

KEY = bytes(range(32))
VALID = "11010519491231002X"  # the standard's own worked example


def test_check_digit_matches_the_standards_example() -> None:
    assert gb11643_check_digit(VALID[:17]) == "X"
    assert normalise_id_number(" 11010519491231002x ") == VALID


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491331002X", "birth date"),
        ("1101051949123100", "17 digits"),
        ("11010519491231002Y", "17 digits"),
    ],
)
def test_bad_id_numbers_are_refused_without_echoing_them(raw: str, why: str) -> None:
    with pytest.raises(BadArgs, match=why) as info:
        normalise_id_number(raw)
    assert raw[:10] not in str(info.value)


def test_commitments_are_keyed_and_normalised() -> None:
    a = person_commitment(KEY, VALID)
    assert a == person_commitment(KEY, VALID.lower())
    assert a != person_commitment(bytes(32), VALID)
    assert len(a) == 64 and VALID not in a
    assert account_commitment(KEY, "6222 0200 1234 5678") == account_commitment(
        KEY, "6222020012345678"
    )
    assert account_commitment(KEY, "6222020012345678") != a
    with pytest.raises(BadArgs):
        person_commitment(b"short", VALID)


def test_sealed_personal_data_opens_only_for_its_reader() -> None:
    office, bank = PrivateKey.generate(), PrivateKey.generate()
    boxes = seal(
        {"office": bytes(office.public_key).hex(), "bank": bytes(bank.public_key).hex()},
        {"name": "张三", "id": VALID},
    )
    assert sorted(boxes) == ["bank", "office"]
    assert "张三".encode().hex() not in boxes["office"]
    assert unseal(bytes(office).hex(), boxes["office"]) == {"name": "张三", "id": VALID}
    with pytest.raises(CryptoError):  # not this reader's box
        unseal(bytes(office).hex(), boxes["bank"])
