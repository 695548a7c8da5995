"""Client-side ledger helpers shared by the CLI and the demo loader: aid transactions, households.

Nothing here talks to a node. ``aid_tx`` signs one ledger action; ``new_id`` predicts the id of
the entity it creates (ids derive from the transaction hash), so a client pipelines follow-ups
without waiting for receipts. ``household_args`` turns a household's personal data into the
``household.apply`` arguments: ID numbers and the bank account become keyed commitments and the
personal data is sealed to the reader organisations' keys here, so plain text never leaves the
process that called it. ``members_change_args`` and ``account_change_args`` build a correction
from the opened data the same way, and ``sealed_disagreements`` is the checker's test that
sealed data and commitments describe the same people.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey

from aid.context import Context
from aid.errors import BadArgs
from aid.identity import REGISTRY_KEY_BYTES, account_commitment, person_commitment, seal
from chain.crypto import KeyPair
from chain.errors import ConfigError
from chain.tx import Transaction, sign_tx
from storage.db import write_private_file

# kind of the entity an action creates (its id is Context.new_id(kind) of the tx hash)
CREATES = {
    "role.propose": "proposal",
    "household.apply": "household",
    "household.change": "change",
    "fund.receive": "fund",
    "allocation.issue": "allocation",
    "program.create": "program",
    "cycle.create": "cycle",
    "batch.create": "batch",
    "disclosure.draft": "disclosure",
    "audit.sample": "sample",
    "org.rotate_key": "proposal",
    "pairing.bind": "pairing",
    "visit.record": "visit",
    "indicator.report": "indicator",
    "grievance.file": "grievance",
}
# GB 11643-1999's published example number: its commitment under a registry key is a fingerprint
# agencies can compare by phone, built from no household's data and revealing nothing of the key
FINGERPRINT_ID_NUMBER = "11010519491231002X"
FINGERPRINT_HEX_CHARS = 16
# organisation kinds a household's personal data is sealed to: those that serve, pay or audit
# the household. The finance bureau allocates money and never needs a name or an ID number.
READER_KINDS = ("poverty_office", "civil_affairs", "bank", "auditor", "village_committee")


@dataclass(frozen=True, slots=True)
class SignedTx:
    tx: dict[str, Any]
    hash: str

    def new_id(self, kind: str, n: int = 0) -> str:
        return Context("", 0, 0, self.hash).new_id(kind, n)


def aid_payload(action: str, args: dict[str, Any], gas: int = 0) -> dict[str, Any]:
    payload: dict[str, Any] = {"action": action, "args": args}
    if gas:
        payload["gas"] = gas
    return payload


def aid_tx(
    key: KeyPair, chain_id: str, nonce: int, action: str, args: dict[str, Any], gas: int = 0
) -> SignedTx:
    """Sign an ``aid`` transaction; its envelope is checked as a node would (MalformedTx)."""
    return signed(sign_tx(key, chain_id, nonce, "aid", aid_payload(action, args, gas)))


def signed(tx: Transaction) -> SignedTx:
    return SignedTx(tx.to_dict(), tx.hash)


def read_registry_key(path: str | Path) -> bytes:
    """The consortium's registry key: 32 bytes as 64 hex characters in a file."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the registry key from {path}: {exc}") from None
    if len(key) != REGISTRY_KEY_BYTES:
        raise ConfigError(f"{path} must hold {REGISTRY_KEY_BYTES} bytes as hex")
    return key


def read_enc_key(path: str | Path) -> str:
    """An organisation's X25519 private key (64 hex characters) from its key file."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
        bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the encryption key from {path}: {exc}") from None
    if len(text) != 64:
        raise ConfigError(f"{path} must hold a 32-byte X25519 private key as hex")
    return text.lower()


def _create_secret_file(path: str | Path, secret: bytes) -> None:
    """``secret`` as hex into a new file, mode 0600 from its creation on.

    An organisation's private key opens every household it may read, and whoever holds the
    registry key can brute-force every commitment. Refuses to overwrite: the file it would
    replace may hold the only copy of a key that still opens old data (an organisation's key
    before a rotation) or that every commitment rests on.
    """
    try:
        write_private_file(path, secret.hex() + "\n", exclusive=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from None


def write_enc_key(path: str | Path) -> str:
    """A new X25519 key pair: the private key into a new 0600 file; returns the public key."""
    private = PrivateKey.generate()
    _create_secret_file(path, bytes(private))
    return bytes(private.public_key).hex()


def write_registry_key(path: str | Path) -> bytes:
    """A new registry key (32 random bytes) into a new 0600 file; returns it."""
    key = os.urandom(REGISTRY_KEY_BYTES)
    _create_secret_file(path, key)
    return key


def registry_fingerprint(key: bytes) -> str:
    """What agencies read to each other to confirm they hold the same registry key.

    The first characters of the commitment of a public example ID number: equal keys give equal
    fingerprints, and the HMAC reveals nothing of the key.
    """
    return person_commitment(key, FINGERPRINT_ID_NUMBER)[:FINGERPRINT_HEX_CHARS]


def enc_public_key(private_hex: str) -> str:
    return bytes(PrivateKey(bytes.fromhex(private_hex)).public_key).hex()


def readers_of(orgs: list[dict[str, Any]]) -> dict[str, str]:
    """org id -> current X25519 public key of the organisations allowed to read personal data.

    ``orgs`` is ``aid_policy``'s list, which carries each organisation's key as of the latest
    block: after an ``org.rotate_key`` new data is sealed to the new key.
    """
    return {o["id"]: o["enc_key"] for o in orgs if o["kind"] in READER_KINDS}


def org_of_enc_key(orgs: list[dict[str, Any]], public_hex: str) -> dict[str, Any] | None:
    """The organisation whose current or retired encryption key is ``public_hex``.

    A retired key still opens what was sealed to it before the rotation.
    """
    for org in orgs:
        keys = [org["enc_key"], *(k["key"] for k in org.get("enc_keys_retired", []))]
        if public_hex in keys:
            return org
    return None


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    id_number: str
    phone: str


def personal_data(members: list[Member], bank_account: str) -> dict[str, Any]:
    """The plaintext a household's ``sealed`` holds, in the shape every client agrees on
    (docs/ledger.md "Privacy"): ``{"members": [{name, id_number, phone}], "bank_account"}``."""
    return {"members": _listed(members), "bank_account": bank_account}


def _listed(members: list[Member]) -> list[dict[str, str]]:
    return [{"name": m.name, "id_number": m.id_number, "phone": m.phone} for m in members]


def household_args(
    registry_key: bytes,
    readers: dict[str, str],
    *,
    village: str,
    members: list[Member],
    bank_account: str,
    cause: str,
    income_per_head_yuan: int,
) -> dict[str, Any]:
    """``household.apply`` arguments: commitments and sealed data, no plain personal data.

    A malformed ID number or bank account raises ``aid.errors.BadArgs`` (its message never
    repeats the number) before anything is built.
    """
    commitments = [person_commitment(registry_key, m.id_number) for m in members]
    return {
        "village": village,
        "members": commitments,
        "size": len(members),
        "cause": cause,
        "income_per_head_yuan": income_per_head_yuan,
        "account_commitment": account_commitment(registry_key, bank_account),
        "sealed": seal(readers, personal_data(members, bank_account)),
    }


def members_change_args(
    registry_key: bytes,
    readers: dict[str, str],
    household: dict[str, Any],
    personal: dict[str, Any],
    members: list[Member],
) -> dict[str, Any]:
    """``household.change`` fields for a new list of members (add ``household`` and ``reason``).

    ``household`` is the record as ``aid_get`` returns it and ``personal`` its opened sealed
    data: the members are replaced in it, the rest (the bank account) kept, and it is sealed
    again to ``readers``. The size follows the number of members. ``BadArgs`` for a malformed
    ID number, ``ValueError`` if the household already has exactly these members.
    """
    commitments = [person_commitment(registry_key, m.id_number) for m in members]
    if sorted(commitments) == household["members"]:
        raise ValueError(f"household {household['id']} already has exactly these members")
    fields: dict[str, Any] = {
        "members": commitments,
        "sealed": seal(readers, {**personal, "members": _listed(members)}),
    }
    if household["size"] != len(members):
        fields["size"] = len(members)
    return fields


def account_change_args(
    registry_key: bytes,
    readers: dict[str, str],
    household: dict[str, Any],
    personal: dict[str, Any],
    bank_account: str,
) -> dict[str, Any]:
    """``household.change`` fields for a new bank account (add ``household`` and ``reason``):
    its commitment, and ``personal`` with the account replaced, sealed again to ``readers``.
    ``BadArgs`` for a malformed account, ``ValueError`` if it is the household's account now."""
    commitment = account_commitment(registry_key, bank_account)
    if commitment == household["account_commitment"]:
        raise ValueError(f"household {household['id']} already has this bank account")
    return {
        "account_commitment": commitment,
        "sealed": seal(readers, {**personal, "bank_account": bank_account}),
    }


def sealed_disagreements(
    registry_key: bytes, members: list[str], account: str | None, personal: dict[str, Any]
) -> list[str]:
    """Where opened personal data disagrees with the commitments a household holds (or would
    hold, for a change request): a maker could commit one person and seal another, so the
    checker compares before approving. Empty when they agree."""
    problems = []
    try:
        sealed = sorted(
            person_commitment(registry_key, m["id_number"]) for m in personal["members"]
        )
    except BadArgs:
        sealed = []
        problems.append("the sealed data holds a malformed ID number")
    if sealed and sealed != sorted(members):
        common = len(set(sealed) & set(members))
        problems.append(
            f"the sealed data lists {len(sealed)} members and the commitments {len(members)}; "
            f"only {common} agree"
        )
    bank = personal.get("bank_account")
    if account is not None:
        try:
            agrees = isinstance(bank, str) and account_commitment(registry_key, bank) == account
        except BadArgs:
            agrees = False
        if not agrees:
            problems.append("the sealed bank account is not the one the account commitment names")
    return problems
