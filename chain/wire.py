"""How transactions and blocks travel inside other messages: transactions as canonical strings.

A transaction inside a PRE-PREPARE, a NEW-VIEW, a gossip batch, a state-sync response or a vote
journal record is carried as ONE JSON string holding its canonical encoding, never as a nested
object. Every envelope then adds exactly zero nesting to what admission checked: a transaction
whose own canonical encoding passed the depth limit (``chain.limits.MAX_JSON_DEPTH``) can be put
in any envelope, however deep that envelope is. Nesting transactions as objects made the deepest
envelope, not admission, the real limit, so one admitted transaction could make every proposal
unencodable.

The string is the canonical encoding of the whole transaction (``tx.to_dict()``), and decoding
insists on exactly that string, so one transaction has one wire form. The string is built from
``tx.body_bytes`` (already computed at admission) without encoding the payload again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

import msgspec

from chain import limits
from chain.block import Block, header_from_dict
from chain.encoding import MAX_INT_DIGITS, canonical_unchecked, loads_strict
from chain.errors import EncodingError, InvalidBlock, MalformedTx, TooLarge
from chain.tx import Transaction, tx_from_canonical_obj, tx_from_dict

# The ``"signature":"<128 hex>",`` member the full encoding adds to the body, plus slack for the
# two quotes of the string itself. The wire string is at most this much longer than the body.
WIRE_OVERHEAD_CHARS = len('"signature":"",') + 128
MAX_TX_WIRE_CHARS = limits.MAX_TX_BYTES + WIRE_OVERHEAD_CHARS
MAX_BLOCK_WIRE_BYTES = limits.MAX_BLOCK_WIRE_BYTES  # named once, in chain/limits.py


def tx_to_wire(tx: Transaction) -> str:
    """The canonical encoding of the whole transaction, as a string.

    Canonical keys are sorted, so ``signature`` sits between ``sender`` and ``type``, and ``type``
    is the body's last member: splice the signature in front of it instead of re-encoding.
    """
    body = tx.body_bytes.decode("utf-8")
    tail = '"type":' + canonical_unchecked(tx.type).decode("utf-8") + "}"
    assert body.endswith("," + tail), "transaction body is not canonical"
    return f'{body[: -len(tail)]}"signature":"{tx.signature}",{tail}'


def tx_from_wire(value: Any) -> Transaction:
    """Decode a wire transaction (shape checked, signature NOT checked); raises MalformedTx.

    Anything but the exact canonical string of a valid transaction is refused, so a peer cannot
    make two encodings of one transaction look different.
    """
    if not isinstance(value, str):
        raise MalformedTx("a transaction on the wire must be a string (its canonical JSON)")
    if len(value) > MAX_TX_WIRE_CHARS:
        raise TooLarge(f"transaction exceeds {limits.MAX_TX_BYTES} bytes")
    obj = _canonical_obj(value)
    if obj is not None:
        return tx_from_canonical_obj(obj)
    return strict_tx_from_wire(value)


def strict_tx_from_wire(value: str) -> Transaction:
    """The strict path of ``tx_from_wire``: what decides every string msgspec cannot settle."""
    try:
        obj = loads_strict(value)
    except EncodingError as exc:
        raise MalformedTx(f"transaction is not JSON: {exc.message}") from None
    tx = tx_from_dict(obj)
    if tx_to_wire(tx) != value:
        raise MalformedTx("transaction on the wire is not in canonical form")
    return tx


def _refuse_float(_text: str) -> NoReturn:
    raise ValueError("a float")


_fast_decode = msgspec.json.Decoder(float_hook=_refuse_float).decode
_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_INT_DIGITS + 1}}}")  # a literal the strict path refuses
_FAST_REFUSALS = (msgspec.DecodeError, UnicodeError, ValueError, RecursionError)


def _canonical_obj(value: str) -> Any | None:
    """The JSON value of ``value`` if ``value`` is exactly its canonical encoding, else None.

    Every transaction a node hears of through gossip is decoded here, and the strict parser
    (a Python hook per object and per integer) plus the walk ``canonical`` does over the body
    cost a backup more than any other step of admission but the signature. msgspec reads the
    text; the result is used only when the strict path would provably give the same one:
    re-encoding it gives the very bytes received (so there was no duplicate key, whitespace,
    escape or key order the strict path would refuse), no float was read, no text holds a lone
    surrogate (it would not encode), nesting cannot exceed ``MAX_JSON_DEPTH`` (it is at most
    the count of brackets) and no integer literal can be longer than the strict parser allows
    (no run of digits is that long). Anything else returns None and takes the strict path,
    which then accepts or refuses it in its own words.
    """
    if len(value) > MAX_INT_DIGITS and _LONG_DIGITS.search(value):
        return None
    if value.count("{") + value.count("[") > limits.MAX_JSON_DEPTH:
        return None
    try:
        data = value.encode("utf-8")
        obj = _fast_decode(data)
        if canonical_unchecked(obj) != data:
            return None
    except _FAST_REFUSALS:
        return None
    return obj


def known_tx_from_wire(value: Any, known: Mapping[str, Transaction] | None) -> Transaction:
    """``tx_from_wire``, reusing an already validated transaction when the string is identical.

    ``known`` maps signature -> transaction (e.g. the mempool's). In canonical form the
    signature is the 128 hex characters after the LAST ``"signature":"`` (only ``type``
    follows it), so a lookup costs a string search; the full-string comparison makes a wrong
    guess harmless (it falls back to decoding).
    """
    if known and isinstance(value, str):
        at = value.rfind('"signature":"')
        if at >= 0:
            start = at + len('"signature":"')
            found = known.get(value[start : start + limits.SIGNATURE_HEX_CHARS])
            if found is not None and tx_to_wire(found) == value:
                return found
    return tx_from_wire(value)


def block_to_wire(block: Block) -> dict[str, Any]:
    """``{"header": {...}, "txs": [canonical tx string, ...]}``: depth 3 whatever the txs hold."""
    return {"header": block.header.to_dict(), "txs": [tx_to_wire(tx) for tx in block.txs]}


def block_from_wire(obj: Any, known: Mapping[str, Transaction] | None = None) -> Block:
    """Decode a wire block and check its transactions against ``tx_root``; raises InvalidBlock.

    Signatures are not checked here (the block validator does that, once per transaction).
    """
    if not isinstance(obj, dict) or set(obj) != {"header", "txs"}:
        raise InvalidBlock("block must be {header, txs}")
    raw_txs = obj["txs"]
    if not isinstance(raw_txs, list):
        raise InvalidBlock("block txs must be a list")
    if len(raw_txs) > limits.MAX_BLOCK_TXS:
        raise InvalidBlock(f"block holds more than {limits.MAX_BLOCK_TXS} transactions")
    header = header_from_dict(obj["header"])
    try:
        txs = tuple(known_tx_from_wire(raw, known) for raw in raw_txs)
    except (MalformedTx, TooLarge) as exc:
        raise InvalidBlock(f"block holds a malformed transaction: {exc.message}") from None
    block = Block(header, txs)
    if not block.check_tx_root():
        raise InvalidBlock("tx_root does not match the block's transactions")
    return block


def upgrade_legacy_block(obj: Any) -> Any:
    """A block journaled by a node from before this wire form (txs as objects), in wire form.

    Only for our own vote journal, which must survive the upgrade: a replica that forgot its
    votes could contradict them. Anything else is returned unchanged (and decoded strictly).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("txs"), list):
        return obj
    if not all(isinstance(raw, dict) for raw in obj["txs"]) or not obj["txs"]:
        return obj
    return {**obj, "txs": [tx_to_wire(tx_from_dict(raw)) for raw in obj["txs"]]}
