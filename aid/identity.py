"""Client-side privacy: ID number checks, keyed commitments and sealed personal data.

Nothing here runs inside the ledger: clients (the CLI, the SDK, the demo loader) call it before
signing, so ID numbers, names, phones and bank accounts never leave the agency's machine in plain
text. What reaches the chain is

- a **commitment** per person and per bank account: HMAC-SHA256 keyed with the consortium's
  registry key (held off chain by the agencies). A plain hash of an 18-digit ID is
  brute-forceable in hours; without the key it is not, and with it duplicates still match;
- an **envelope** of the personal data, ``{"data": ..., "keys": {org id: ...}}`` (base64): the
  data encrypted once under a fresh 32-byte key (XSalsa20-Poly1305, PyNaCl ``SecretBox``), and
  that key in a sealed box (X25519 + XSalsa20-Poly1305, ``SealedBox``) to each organisation
  allowed to read it, to its encryption key from genesis. Sealing the whole data to every
  reader instead cost a full copy per organisation: for five readers of a one-member
  household, ~1.8 kB of hex where the envelope is ~0.8 kB, and every node stores, hashes and
  compacts those bytes (docs/ledger-performance.md, "Sustained load").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

from aid.errors import BadArgs
from chain.encoding import canonical, loads_strict

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
REGISTRY_KEY_BYTES = 32
_ID_TAG = b"aidchain/person/v1:"
_ACCOUNT_TAG = b"aidchain/bank-account/v1:"


def gb11643_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number (GB 11643-1999, ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(raw: str) -> str:
    """An 18-character resident ID number, upper-case X, checked; raises BadArgs saying why.

    The message never repeats the number: it may end up in a log or on a clerk's screen share.
    """
    if not isinstance(raw, str):
        raise BadArgs("an ID number must be a string")
    value = raw.strip().upper()
    if (
        len(value) != 18
        or not value[:17].isdigit()
        or not (value[17].isdigit() or value[17] == "X")
    ):
        raise BadArgs("an ID number has 17 digits followed by a digit or X")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise BadArgs("the ID number's birth date (digits 7-14) is not a date") from None
    if gb11643_check_digit(value[:17]) != value[17]:
        raise BadArgs("the ID number's check digit is wrong: a digit was mistyped")
    return value


def _hmac(key: bytes, tag: bytes, text: str) -> str:
    if len(key) != REGISTRY_KEY_BYTES:
        raise BadArgs(f"the registry key must be {REGISTRY_KEY_BYTES} bytes")
    return hmac.new(key, tag + text.encode("utf-8"), hashlib.sha256).hexdigest()


def person_commitment(registry_key: bytes, id_number: str) -> str:
    return _hmac(registry_key, _ID_TAG, normalise_id_number(id_number))


def account_commitment(registry_key: bytes, bank_account: str) -> str:
    digits = "".join(bank_account.split())
    if not 8 <= len(digits) <= 34 or not digits.isalnum():
        raise BadArgs("a bank account number has 8 to 34 letters or digits")
    return _hmac(registry_key, _ACCOUNT_TAG, digits.upper())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(readers: dict[str, str], personal: Any) -> dict[str, Any]:
    """An envelope of ``personal`` (canonical JSON) for each reader's X25519 key (hex).

    A fresh data key per envelope: one reader's key opens this envelope and no other.
    """
    data_key = random_bytes(SecretBox.KEY_SIZE)
    return {
        "data": _b64(SecretBox(data_key).encrypt(canonical(personal))),
        "keys": {
            org: _b64(SealedBox(PublicKey(bytes.fromhex(pub))).encrypt(data_key))
            for org, pub in sorted(readers.items())
        },
    }


def unseal(private_key_hex: str, sealed: dict[str, Any], org: str) -> Any:
    """Open an envelope as organisation ``org`` with its X25519 private key (hex).

    Raises KeyError if the envelope is not sealed to ``org`` and ``nacl`` CryptoError if the
    key does not open it (another organisation's key, or one retired before it was sealed).
    """
    wrapped = sealed["keys"][org]
    try:
        data_key = SealedBox(PrivateKey(bytes.fromhex(private_key_hex))).decrypt(
            base64.b64decode(wrapped, validate=True)
        )
        plain = SecretBox(data_key).decrypt(base64.b64decode(sealed["data"], validate=True))
    except ValueError:  # binascii.Error, or a str that is not even ASCII
        raise CryptoError("the envelope is not base64") from None
    return loads_strict(plain)
