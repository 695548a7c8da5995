"""The block body rules decided from the block alone (chain/validity.py)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from chain.validity import block_body_problem

CHAIN = "validity-chain"
A = KeyPair.from_seed(hashlib.sha256(b"validity-a").digest())
TO = "ee" * 32


def pays(count: int, chain: str = CHAIN) -> list[Transaction]:
    return [make_transfer(A, chain, nonce, TO, 1 + nonce) for nonce in range(count)]


def block_of(txs: list[Transaction]) -> Block:
    header = BlockHeader(1, "ab" * 32, tx_root(txs), len(txs), "cd" * 32, EMPTY_ROOT, 1, TO, 0)
    return Block(header, tuple(txs))


def test_a_well_formed_block_passes() -> None:
    assert block_body_problem(block_of(pays(3)), CHAIN) is None


def test_an_empty_body_is_the_replicas_call() -> None:
    """Whether an empty block may anchor the previous block's receipts depends on the chain
    position, so the body rules leave it to the replica (tests/consensus)."""
    assert block_body_problem(block_of([]), CHAIN) is None


@pytest.mark.parametrize(
    ("name", "txs", "reason"),
    [
        ("other chain", pays(1, "other"), "for chain 'other'"),
        ("duplicate", pays(1) * 2, "appears twice"),
    ],
)
def test_body_rules(name: str, txs: list[Transaction], reason: str) -> None:
    got = block_body_problem(block_of(txs), CHAIN)
    assert got is not None and reason in got, (name, got)


def test_tx_root_must_match_the_transactions() -> None:
    block = block_of(pays(2))
    wrong = Block(replace(block.header, tx_root="00" * 32), block.txs)
    assert block_body_problem(wrong, CHAIN) == "tx_root or tx_count mismatch"
    miscounted = Block(replace(block.header, tx_count=3), block.txs)
    assert block_body_problem(miscounted, CHAIN) == "tx_root or tx_count mismatch"


def test_block_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    txs = pays(3)
    monkeypatch.setattr(limits, "MAX_BLOCK_TXS", 2)
    assert "more than 2" in (block_body_problem(block_of(txs), CHAIN) or "")
    monkeypatch.setattr(limits, "MAX_BLOCK_TXS", 10)
    monkeypatch.setattr(limits, "MAX_BLOCK_BYTES", sum(t.size for t in txs) - 1)
    assert "bytes" in (block_body_problem(block_of(txs), CHAIN) or "")
    monkeypatch.setattr(limits, "MAX_BLOCK_BYTES", sum(t.size for t in txs))
    assert block_body_problem(block_of(txs), CHAIN) is None
