from __future__ import annotations

import base64
from typing import Any

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
from aid.sealed import SECRETBOX_OVERHEAD, WRAPPED_KEY_BYTES, base64_bytes
from chain.encoding import canonical

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


def test_sealed_personal_data_opens_only_for_its_readers() -> None:
    office, bank, other = PrivateKey.generate(), PrivateKey.generate(), PrivateKey.generate()
    readers = {"office": bytes(office.public_key).hex(), "bank": bytes(bank.public_key).hex()}
    personal = {"name": "张三", "id": VALID}
    sealed = seal(readers, personal)
    assert set(sealed) == {"data", "keys"} and list(sealed["keys"]) == ["bank", "office"]
    assert (
        "张三".encode().hex() not in canonical(sealed).hex()
        and VALID not in canonical(sealed).decode()
    )
    assert unseal(bytes(office).hex(), sealed, "office") == personal
    assert unseal(bytes(bank).hex(), sealed, "bank") == personal
    with pytest.raises(CryptoError):  # the bank's key does not open the office's copy
        unseal(bytes(bank).hex(), sealed, "office")
    with pytest.raises(CryptoError):  # nor does a key the envelope was never sealed to
        unseal(bytes(other).hex(), sealed, "office")
    with pytest.raises(KeyError):
        unseal(bytes(office).hex(), sealed, "civil")
    # a fresh data key per envelope: the same data sealed twice shares nothing
    again = seal(readers, personal)
    assert again["data"] != sealed["data"] and again["keys"]["office"] != sealed["keys"]["office"]
    with pytest.raises(CryptoError):  # one envelope's key does not open another's data
        unseal(bytes(office).hex(), {**again, "data": sealed["data"]}, "office")


def test_a_tampered_or_garbled_envelope_does_not_open() -> None:
    office = PrivateKey.generate()
    sealed = seal({"office": bytes(office.public_key).hex()}, {"name": "张三"})
    data = base64.b64decode(sealed["data"])
    flipped = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(CryptoError):
        unseal(
            bytes(office).hex(), {**sealed, "data": base64.b64encode(flipped).decode()}, "office"
        )
    with pytest.raises(CryptoError):
        unseal(bytes(office).hex(), {**sealed, "data": "not base64!"}, "office")
    with pytest.raises(CryptoError):  # not even ASCII: still "does not open", not a ValueError
        unseal(bytes(office).hex(), {**sealed, "data": "张三"}, "office")


def test_the_ledger_accepts_what_seal_makes_and_the_envelope_stays_small() -> None:
    """Five readers of a one-member household: under 1 kB, where one box per reader was ~1.8 kB."""
    readers = {org: bytes(PrivateKey.generate().public_key).hex() for org in "abcde"}
    personal = {
        "members": [{"name": "王小明", "id_number": VALID, "phone": "13800138000"}],
        "bank_account": "6222021234567890123",
    }
    sealed = seal(readers, personal)
    assert len(canonical(sealed)) < 1_000
    assert base64_bytes(sealed["data"]) == len(canonical(personal)) + SECRETBOX_OVERHEAD
    assert all(base64_bytes(k) == WRAPPED_KEY_BYTES for k in sealed["keys"].values())


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("", None),
        ("QQ==", 1),
        ("QUI=", 2),
        ("QUJD", 3),
        ("QUJD=", None),
        ("Q===", None),
        ("QU=D", None),
        ("QUJ-", None),
        ("abc", None),
        (b"QUJD", None),
    ],
)
def test_base64_bytes(text: Any, size: int | None) -> None:
    assert base64_bytes(text) == size
