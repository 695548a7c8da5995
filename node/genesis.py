"""The genesis document: chain id, start time, validator set, initial balances, block gas limit.

``block_gas_limit`` is a protocol parameter every validator must agree on, so it lives in the
genesis (hashed with the rest) rather than in a node's config. A genesis written before the key
existed has none and gets ``limits.DEFAULT_BLOCK_GAS_LIMIT``, so its hash does not change.

The optional ``aid`` section sets up the disbursement ledger (areas, organisations, policy; see
docs/ledger.md). It is validated here, at load, by the ledger's own reader
(``aid.genesis.genesis_records``), so a bad section stops the node with a message naming the
problem before anything is written; its records become state at height 0. A genesis without
it has no ledger records and keeps its hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aid.errors import LedgerError
from aid.genesis import genesis_records
from aid.state import record_key
from chain import limits
from chain.checks import is_uint
from chain.crypto import is_pubkey_hex
from chain.encoding import canonical, sha256_hex
from chain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Genesis:
    doc: dict[str, Any]
    aid_records: dict[str, Any] = field(default_factory=dict, compare=False)
    # accounts that administer a ledger organisation: they may submit before holding any grant
    aid_admins: frozenset[str] = field(default=frozenset(), compare=False)

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
    def block_gas_limit(self) -> int:
        """Most gas (sum of ``chain.gas.block_gas``) one block may carry."""
        return int(self.doc.get("block_gas_limit", limits.DEFAULT_BLOCK_GAS_LIMIT))

    @property
    def hash(self) -> str:
        return sha256_hex(canonical(self.doc))


REQUIRED_KEYS = frozenset({"chain_id", "time", "validators", "accounts"})
OPTIONAL_KEYS = frozenset({"block_gas_limit", "aid"})


def _check_block_gas_limit(value: Any) -> None:
    # at least one maximal transaction, or an admitted call could never be proposed
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not limits.MIN_BLOCK_GAS_LIMIT <= value <= limits.MAX_BLOCK_GAS
    ):
        raise ConfigError(
            f"genesis.block_gas_limit must be an integer in "
            f"{limits.MIN_BLOCK_GAS_LIMIT}..{limits.MAX_BLOCK_GAS} (at least one transaction's gas)"
        )


def validate_genesis(doc: Any) -> Genesis:
    if not isinstance(doc, dict) or not REQUIRED_KEYS <= set(doc) <= REQUIRED_KEYS | OPTIONAL_KEYS:
        raise ConfigError(
            "genesis must have exactly: chain_id, time, validators, accounts "
            "(and optionally block_gas_limit, aid)"
        )
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
        if not is_pubkey_hex(addr) or not is_uint(bal):
            raise ConfigError(f"bad genesis account {addr!r}")
        total += bal
    if total >= limits.MAX_AMOUNT * 1024:
        raise ConfigError("genesis total supply is unreasonably large")
    if "block_gas_limit" in doc:
        _check_block_gas_limit(doc["block_gas_limit"])
    records = _aid_records(doc)
    orgs = record_key("org", "")
    admins = frozenset(
        admin for key, org in records.items() if key.startswith(orgs) for admin in org["admins"]
    )
    return Genesis(doc, records, admins)


def _aid_records(doc: dict[str, Any]) -> dict[str, Any]:
    if "aid" not in doc:
        return {}
    try:
        return genesis_records(doc["aid"])
    except LedgerError as exc:
        raise ConfigError(f"genesis.aid: {exc.message}") from None


def load_genesis(path: str | Path) -> Genesis:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read genesis {path}: {exc}") from None
    return validate_genesis(doc)


def build_genesis(
    chain_id: str,
    validators: list[tuple[str, str]],
    accounts: dict[str, int],
    time_ms: int,
    block_gas_limit: int = limits.DEFAULT_BLOCK_GAS_LIMIT,
    aid: dict[str, Any] | None = None,
) -> Genesis:
    """A validated genesis from (name, public key) validators and initial balances.

    The block gas limit is always written out, so the document says what the chain enforces.
    ``aid`` is the ledger's section (policy, areas, organisations; ``aid.genesis``), checked
    with the rest: a chain without it has no ledger.
    """
    doc: dict[str, Any] = {
        "chain_id": chain_id,
        "time": time_ms,
        "validators": [{"id": vid, "name": name} for name, vid in validators],
        "accounts": dict(accounts),
        "block_gas_limit": block_gas_limit,
    }
    if aid is not None:
        doc["aid"] = aid
    return validate_genesis(doc)
