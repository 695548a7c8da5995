"""The genesis document: chain id, start time, validator set and initial balances."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain import limits
from chain.crypto import is_pubkey_hex
from chain.encoding import canonical, sha256_hex
from chain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Genesis:
    doc: dict[str, Any]

    @property
    def chain_id(self) -> str:
        return str(self.doc["chain_id"])

    @property
    def validators(self) -> tuple[str, ...]:
        return tuple(v["id"] for v in self.doc["validators"])

    @property
    def validator_names(self) -> dict[str, str]:
        return {v["id"]: v.get("name", v["id"][:8]) for v in self.doc["validators"]}

    @property
    def hash(self) -> str:
        return sha256_hex(canonical(self.doc))


def validate_genesis(doc: Any) -> Genesis:
    if not isinstance(doc, dict) or set(doc) != {"chain_id", "time", "validators", "accounts"}:
        raise ConfigError("genesis must have exactly: chain_id, time, validators, accounts")
    chain_id = doc["chain_id"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_CHARS:
        raise ConfigError("genesis.chain_id must be a non-empty string")
    if not isinstance(doc["time"], int) or doc["time"] < 0:
        raise ConfigError("genesis.time must be milliseconds since the epoch")
    validators = doc["validators"]
    if not isinstance(validators, list) or len(validators) < 4:
        raise ConfigError("genesis.validators needs at least 4 validators (n = 3f+1, f >= 1)")
    ids = []
    for v in validators:
        if not isinstance(v, dict) or not is_pubkey_hex(v.get("id")):
            raise ConfigError("each validator needs an id (64-hex public key)")
        ids.append(v["id"])
    if len(set(ids)) != len(ids):
        raise ConfigError("duplicate validator id in genesis")
    accounts = doc["accounts"]
    if not isinstance(accounts, dict):
        raise ConfigError("genesis.accounts must map address -> balance")
    total = 0
    for addr, bal in accounts.items():
        if not is_pubkey_hex(addr) or not isinstance(bal, int) or isinstance(bal, bool) or bal < 0:
            raise ConfigError(f"bad genesis account {addr!r}")
        total += bal
    if total >= limits.MAX_AMOUNT * 1024:
        raise ConfigError("genesis total supply is unreasonably large")
    return Genesis(doc)


def load_genesis(path: str | Path) -> Genesis:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read genesis {path}: {exc}") from None
    return validate_genesis(doc)


def build_genesis(
    chain_id: str, validators: list[tuple[str, str]], accounts: dict[str, int], time_ms: int
) -> Genesis:
    """A validated genesis from (name, public key) validators and initial balances."""
    doc = {
        "chain_id": chain_id,
        "time": time_ms,
        "validators": [{"id": vid, "name": name} for name, vid in validators],
        "accounts": dict(accounts),
    }
    return validate_genesis(doc)
