"""Signed transactions: the pinned wire format, strict validation, hashing and signing.

A transaction is the JSON object
``{"chain_id", "sender", "nonce", "type", "payload", "signature"}``. The signature covers the
canonical bytes of the object without ``signature``; the hash is the hex SHA-256 of those same
bytes. Validation here is stateless (shape, types, sizes, signature); nonces and balances are
the mempool's and executor's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chain import limits
from chain.checks import is_int
from chain.crypto import KeyPair, is_pubkey_hex, is_signature_hex, verify
from chain.encoding import canonical, canonical_unchecked, is_valid_text, sha256_hex
from chain.errors import BadSignature, EncodingError, MalformedTx, TooLarge
from chain.gas import intrinsic_gas_of

TX_FIELDS = frozenset({"chain_id", "sender", "nonce", "type", "payload", "signature"})
TX_TYPES = ("transfer", "deploy", "call", "aid")
MAX_AID_ACTION_CHARS = limits.MAX_AID_ACTION_CHARS
# what signing adds to the canonical body for size limits: `,"signature":"<128 hex>"` is 143
# bytes, rounded up; every node counts sizes with this same figure (block and mempool limits)
_SIGNATURE_FIELD_BYTES = 150


def check_amount(value: object, what: str = "amount") -> int:
    if not is_int(value) or not (0 < value < limits.MAX_AMOUNT):
        raise MalformedTx(f"{what} must be an integer with 0 < {what} < 2**53 (fen)")
    return value


def _check_payload(tx_type: str, payload: Any) -> None:
    if not isinstance(payload, dict):
        raise MalformedTx("payload must be an object")
    if tx_type == "transfer":
        extra = set(payload) - {"to", "amount", "memo"}
        if extra:
            raise MalformedTx(f"unknown transfer payload fields: {sorted(extra)}")
        if not is_pubkey_hex(payload.get("to")):
            raise MalformedTx("payload.to must be a 64-hex public key")
        check_amount(payload.get("amount"))
        memo = payload.get("memo", "")
        if not isinstance(memo, str) or len(memo) > limits.MAX_MEMO_CHARS:
            raise MalformedTx(
                f"payload.memo must be a string of at most {limits.MAX_MEMO_CHARS} chars"
            )
        if not is_valid_text(memo):
            raise MalformedTx("payload.memo is not valid Unicode (it has a lone surrogate)")
    elif tx_type == "deploy":
        extra = set(payload) - {"source", "init", "gas"}
        if extra:
            raise MalformedTx(f"unknown deploy payload fields: {sorted(extra)}")
        source = payload.get("source")
        if not isinstance(source, str) or not source:
            raise MalformedTx("payload.source must be a non-empty string")
        if len(source.encode("utf-8")) > limits.MAX_CONTRACT_SOURCE_BYTES:
            raise TooLarge(f"contract source exceeds {limits.MAX_CONTRACT_SOURCE_BYTES} bytes")
        if not isinstance(payload.get("init", {}), dict):
            raise MalformedTx("payload.init must be an object")
        _check_gas(payload)
    elif tx_type == "call":
        extra = set(payload) - {"contract", "method", "args", "gas"}
        if extra:
            raise MalformedTx(f"unknown call payload fields: {sorted(extra)}")
        if not is_pubkey_hex(payload.get("contract")):
            raise MalformedTx("payload.contract must be a 64-hex address")
        method = payload.get("method")
        if not isinstance(method, str) or not method or len(method) > limits.MAX_METHOD_CHARS:
            raise MalformedTx("payload.method must be a non-empty string")
        if not isinstance(payload.get("args", {}), dict):
            raise MalformedTx("payload.args must be an object")
        _check_gas(payload)
    elif tx_type == "aid":
        _check_aid(payload)
    else:
        raise MalformedTx(f"unknown transaction type {tx_type!r}; expected one of {TX_TYPES}")


def _check_gas(payload: dict[str, Any]) -> None:
    gas = payload.get("gas", limits.DEFAULT_CALL_GAS)
    if not is_int(gas) or not (0 < gas <= limits.MAX_CALL_GAS):
        raise MalformedTx(f"payload.gas must be an integer in 1..{limits.MAX_CALL_GAS}")


def _check_aid(payload: dict[str, Any]) -> None:
    """A ledger action's envelope; the action's arguments are the ledger's to check.

    Whether ``action`` names a ledger action is checked when it executes (``unknown_action``):
    ``chain`` sits below the ledger package and does not import it.
    """
    extra = set(payload) - {"action", "args", "gas"}
    if extra:
        raise MalformedTx(f"unknown aid payload fields: {sorted(extra)}")
    action = payload.get("action")
    if (
        not isinstance(action, str)
        or not 0 < len(action) <= MAX_AID_ACTION_CHARS
        or not is_valid_text(action)
    ):
        raise MalformedTx(
            f"payload.action must be a ledger action name of 1..{MAX_AID_ACTION_CHARS} characters"
        )
    if not isinstance(payload.get("args"), dict):
        raise MalformedTx("payload.args must be an object")
    gas = payload.get("gas", 0)
    if not is_int(gas) or not (0 <= gas <= limits.MAX_CALL_GAS):
        raise MalformedTx(f"payload.gas must be an integer in 0..{limits.MAX_CALL_GAS}")


@dataclass(frozen=True, slots=True)
class Transaction:
    """A validated (shape-wise) transaction; ``hash`` and ``body_bytes`` are computed once."""

    chain_id: str
    sender: str
    nonce: int
    type: str
    payload: dict[str, Any]
    signature: str
    body_bytes: bytes = field(repr=False, compare=False)
    hash: str = field(compare=False)
    intrinsic_gas: int = field(repr=False, compare=False)  # chain.gas.intrinsic_gas
    # worked out once, like the hash: the mempool and the proposer ask them of every pending
    # transaction at every offer (each consensus tick), the block validator of every tx
    size: int = field(repr=False, compare=False)  # bytes of the full encoding, signature too
    block_gas: int = field(repr=False, compare=False)  # chain.gas.block_gas: intrinsic + declared

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "sender": self.sender,
            "nonce": self.nonce,
            "type": self.type,
            "payload": self.payload,
            "signature": self.signature,
        }

    def verify_signature(self) -> bool:
        return verify(self.sender, self.body_bytes, self.signature)

    @property
    def gas_limit(self) -> int:
        """Gas this transaction may use: its declared ``payload.gas`` for contract txs, else 0.

        The proposer and the block validator sum this against the genesis block gas limit, so a
        block's execution time is bounded before it runs. A ledger (``aid``) action declares
        what its program's rules may burn; actions that run no rules need none (default 0).
        """
        return declared_gas(self.type, self.payload)


def declared_gas(tx_type: str, payload: dict[str, Any]) -> int:
    """``Transaction.gas_limit`` of a (shape-checked) transaction of ``tx_type``."""
    if tx_type == "transfer":
        return 0
    if tx_type == "aid":
        return int(payload.get("gas", 0))
    return int(payload.get("gas", limits.DEFAULT_CALL_GAS))


def body_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "signature"}


def tx_from_dict(obj: Any) -> Transaction:
    """Validate the shape of a transaction object; raises MalformedTx / TooLarge.

    The signature is NOT checked here (see ``Transaction.verify_signature``) so that callers can
    verify once and cache the result.
    """
    return _tx_from_obj(obj, canonical)


def tx_from_canonical_obj(obj: Any) -> Transaction:
    """``tx_from_dict`` of an object read from text that was proven to be its canonical JSON.

    ``chain.wire`` proves it (no float, no lone surrogate, bounded depth, and re-encoding gives
    the very bytes received), so what ``canonical`` would check of the body already holds and
    the body is encoded without walking it again. Any other caller uses ``tx_from_dict``.
    """
    return _tx_from_obj(obj, canonical_unchecked)


def _tx_from_obj(obj: Any, encode: Callable[[Any], bytes]) -> Transaction:
    if not isinstance(obj, dict):
        raise MalformedTx("transaction must be a JSON object")
    missing = TX_FIELDS - set(obj)
    if missing:
        raise MalformedTx(f"transaction is missing fields: {sorted(missing)}")
    extra = set(obj) - TX_FIELDS
    if extra:
        raise MalformedTx(f"transaction has unknown fields: {sorted(extra)}")
    chain_id, sender, nonce = obj["chain_id"], obj["sender"], obj["nonce"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_CHARS:
        raise MalformedTx("chain_id must be a non-empty string")
    if not is_pubkey_hex(sender):
        raise MalformedTx("sender must be a 64-hex ed25519 public key")
    if not is_int(nonce) or not 0 <= nonce <= limits.MAX_NONCE:
        raise MalformedTx("nonce must be a non-negative integer")
    if not isinstance(obj["type"], str):
        raise MalformedTx("type must be a string")
    if not is_signature_hex(obj["signature"]):
        raise MalformedTx("signature must be 128 lowercase hex characters")
    _check_payload(obj["type"], obj["payload"])
    try:
        body = encode(body_of(obj))
    except EncodingError as exc:
        raise MalformedTx(exc.message) from None
    if len(body) > limits.MAX_TX_BYTES:
        raise TooLarge(f"transaction exceeds {limits.MAX_TX_BYTES} bytes")
    tx_type, payload = obj["type"], obj["payload"]
    size = len(body) + _SIGNATURE_FIELD_BYTES
    intrinsic = intrinsic_gas_of(tx_type, payload, size)
    return Transaction(
        chain_id,
        sender,
        nonce,
        tx_type,
        payload,
        obj["signature"],
        body,
        sha256_hex(body),
        intrinsic,
        size,
        intrinsic + declared_gas(tx_type, payload),
    )


def tx_verified_from_dict(obj: Any) -> Transaction:
    tx = tx_from_dict(obj)
    if not tx.verify_signature():
        raise BadSignature("signature does not verify for sender")
    return tx


def sign_tx(
    key: KeyPair, chain_id: str, nonce: int, tx_type: str, payload: dict[str, Any]
) -> Transaction:
    body = {
        "chain_id": chain_id,
        "sender": key.public_hex,
        "nonce": nonce,
        "type": tx_type,
        "payload": payload,
    }
    signature = key.sign(canonical(body))
    return tx_from_dict({**body, "signature": signature})


def make_transfer(
    key: KeyPair, chain_id: str, nonce: int, to: str, amount: int, memo: str = ""
) -> Transaction:
    payload: dict[str, Any] = {"to": to, "amount": amount}
    if memo:
        payload["memo"] = memo
    return sign_tx(key, chain_id, nonce, "transfer", payload)
