"""The wire form of a transaction: exactly its canonical string, refused in any other shape."""

from __future__ import annotations

import json

import pytest

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from chain.crypto import KeyPair
from chain.encoding import canonical
from chain.errors import InvalidBlock, MalformedTx, TooLarge
from chain.tx import make_transfer
from chain.wire import (
    MAX_TX_WIRE_CHARS,
    block_from_wire,
    block_to_wire,
    known_tx_from_wire,
    tx_from_wire,
    tx_to_wire,
)

KEY = KeyPair.from_seed(b"\x07" * 32)
TX = make_transfer(KEY, "c", 3, "ee" * 32, 10, 'memo "quoted" \\ ü \U0001f600')


def test_the_wire_form_is_the_canonical_encoding_of_the_whole_transaction() -> None:
    wire = tx_to_wire(TX)
    assert wire.encode("utf-8") == canonical(TX.to_dict())
    assert tx_from_wire(wire) == TX


@pytest.mark.parametrize(
    "value",
    [
        TX.to_dict(),  # an object: the nesting the wire form exists to avoid
        None,
        3,
        json.dumps(TX.to_dict()),  # valid JSON, but not canonical (spaces, key order)
        json.dumps(TX.to_dict(), sort_keys=True, separators=(",", ":")),  # ASCII-escaped
        "{",
        "[]",
        tx_to_wire(TX).replace('"nonce":3', '"nonce":3.0'),
    ],
)
def test_anything_but_the_canonical_string_is_refused(value: object) -> None:
    with pytest.raises(MalformedTx):
        tx_from_wire(value)


def test_an_oversized_string_is_refused_before_parsing() -> None:
    with pytest.raises(TooLarge):
        tx_from_wire(" " * (MAX_TX_WIRE_CHARS + 1))
    assert MAX_TX_WIRE_CHARS > limits.MAX_TX_BYTES


def test_a_known_transaction_is_reused_only_for_the_identical_string() -> None:
    wire = tx_to_wire(TX)
    assert known_tx_from_wire(wire, {TX.signature: TX}) is TX
    other = make_transfer(KEY, "c", 3, "ee" * 32, 11)
    # the signature names a different known tx: the full comparison falls back to decoding
    assert known_tx_from_wire(tx_to_wire(other), {other.signature: TX}) == other


def test_a_block_round_trips_and_its_tx_root_is_checked() -> None:
    txs = (TX, make_transfer(KEY, "c", 4, "ee" * 32, 12))
    header = BlockHeader(
        1, "ab" * 32, tx_root(txs), len(txs), "cd" * 32, EMPTY_ROOT, 5, "ef" * 32, 0
    )
    block = Block(header, txs)
    assert block_from_wire(block_to_wire(block)) == block
    swapped = block_to_wire(block)
    swapped["txs"] = swapped["txs"][::-1]
    with pytest.raises(InvalidBlock):
        block_from_wire(swapped)
    with pytest.raises(InvalidBlock):
        block_from_wire(block.to_dict())  # the nested-object form is not the wire form
