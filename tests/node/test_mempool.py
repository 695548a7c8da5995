"""Mempool: every admission rule (table-driven), ready() ordering, commits, the verified cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.block import Block, BlockHeader, merkle_root
from chain.crypto import KeyPair
from chain.errors import AidchainError, BadNonce, BadSignature, MempoolFull, WrongChain
from chain.tx import Transaction, make_transfer, sign_tx, tx_from_dict
from node.mempool import Mempool

CHAIN = "pool-chain"
KEYS = [KeyPair.from_seed(bytes([97 + i]) * 32) for i in range(6)]
A, B, C, D, E, F = KEYS
TO = "ee" * 32


def pay(
    key: KeyPair, nonce: int, amount: int = 1, chain: str = CHAIN, memo: str = ""
) -> Transaction:
    return make_transfer(key, chain, nonce, TO, amount, memo)


def tampered(tx: Transaction) -> Transaction:
    obj = tx.to_dict()
    obj["signature"] = ("0" if obj["signature"][0] != "0" else "1") + obj["signature"][1:]
    return tx_from_dict(obj)


class Nonces:
    """A fake committed-nonce source (the store in production)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.calls = 0

    def __call__(self, address: str) -> int:
        self.calls += 1
        return self.values.get(address, 0)


def pool(nonces: Nonces | None = None, **kw: Any) -> Mempool:
    return Mempool(CHAIN, nonces or Nonces(), **kw)


def block(txs: list[Transaction]) -> Block:
    header = BlockHeader(
        1, "00" * 32, merkle_root([t.hash for t in txs]), "00" * 32, 1, "00" * 32, 0
    )
    return Block(header, tuple(txs))


def commit(mp: Mempool, nonces: Nonces, txs: list[Transaction]) -> None:
    for tx in txs:
        nonces.values[tx.sender] = max(nonces.values.get(tx.sender, 0), tx.nonce + 1)
    mp.on_block_committed(block(txs))


# --- admission rules, in the documented order -----------------------------------------------------

Setup = Callable[[Mempool, Nonces], None]


def nothing(mp: Mempool, n: Nonces) -> None:
    return None


def committed_a_5(mp: Mempool, n: Nonces) -> None:
    n.values[A.public_hex] = 5


def pending_a_0(mp: Mempool, n: Nonces) -> None:
    mp.add(pay(A, 0, amount=99))


def pending_b_0_b_1(mp: Mempool, n: Nonces) -> None:
    mp.add(pay(B, 0))
    mp.add(pay(B, 1))


CASES: list[tuple[str, Setup, dict[str, Any], Transaction, type[AidchainError] | bool, str]] = [
    ("new tx", nothing, {}, pay(A, 0), True, ""),
    ("future nonce inside the window", nothing, {"max_per_sender": 4}, pay(A, 3), True, ""),
    ("wrong chain", nothing, {}, pay(A, 0, chain="other"), WrongChain, "chain"),
    (
        "wrong chain beats a bad signature",
        nothing,
        {},
        tampered(pay(A, 0, chain="x")),
        WrongChain,
        "",
    ),
    ("nonce below committed", committed_a_5, {}, pay(A, 4), BadNonce, "next nonce is 5"),
    ("nonce at committed", committed_a_5, {}, pay(A, 5), True, ""),
    ("nonce window full", nothing, {"max_per_sender": 4}, pay(A, 4), MempoolFull, "nonce window"),
    ("window counts from committed", committed_a_5, {"max_per_sender": 4}, pay(A, 8), True, ""),
    (
        "same nonce, other tx",
        pending_a_0,
        {},
        pay(A, 0, amount=1),
        BadNonce,
        "pending transaction from this sender has nonce 0",
    ),
    (
        "pool full",
        pending_b_0_b_1,
        {"max_txs": 2},
        pay(A, 0),
        MempoolFull,
        "maximum of 2 transactions",
    ),
    (
        "pool bytes full",
        pending_b_0_b_1,
        {"max_bytes": 2 * pay(B, 0).size},
        pay(A, 0),
        MempoolFull,
        "bytes",
    ),
    ("bad signature", nothing, {}, tampered(pay(A, 0)), BadSignature, "signature"),
    ("bad nonce beats a bad signature", committed_a_5, {}, tampered(pay(A, 0)), BadNonce, ""),
    (
        "full pool beats a bad signature",
        pending_b_0_b_1,
        {"max_txs": 2},
        tampered(pay(A, 0)),
        MempoolFull,
        "",
    ),
]


@pytest.mark.parametrize(
    ("name", "setup", "kw", "tx", "expect", "text"), CASES, ids=[c[0] for c in CASES]
)
def test_admission_rules(
    name: str,
    setup: Setup,
    kw: dict[str, Any],
    tx: Transaction,
    expect: type[AidchainError] | bool,
    text: str,
) -> None:
    nonces = Nonces()
    mp = pool(nonces, **kw)
    setup(mp, nonces)
    before = len(mp)
    if isinstance(expect, bool):
        assert mp.add(tx) is expect
        assert mp.get(tx.hash) == tx and len(mp) == before + 1
    else:
        with pytest.raises(expect, match=text or None):
            mp.add(tx)
        assert mp.get(tx.hash) is None and len(mp) == before
        assert mp.stats["rejected_" + expect.reason] == 1


def test_known_hash_returns_false_without_reverifying(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = Transaction.verify_signature

    def counting(self: Transaction) -> bool:
        calls.append(self.hash)
        return original(self)

    monkeypatch.setattr(Transaction, "verify_signature", counting)
    mp = pool(max_txs=1)
    tx = pay(A, 0)
    assert mp.add(tx) is True
    assert mp.add(tx) is False  # a safe retry, even though the pool is now full
    assert mp.add(tx_from_dict(tx.to_dict())) is False  # a fresh object with the same hash
    assert calls == [tx.hash]
    assert mp.stats["duplicate"] == 2 and mp.stats["added"] == 1 and mp.stats["verified"] == 1


def test_committed_tx_resubmitted_is_known_not_an_error() -> None:
    nonces = Nonces()
    mp = pool(nonces)
    tx = pay(A, 0)
    mp.add(tx)
    commit(mp, nonces, [tx])
    assert len(mp) == 0 and mp.get(tx.hash) is None
    assert mp.verified(tx.hash)
    assert mp.add(tx) is False
    with pytest.raises(BadNonce):
        mp.add(pay(A, 0, amount=2))  # a different tx with a used nonce is still refused


def test_add_many_reports_per_tx() -> None:
    mp = pool()
    good, bad = pay(A, 0), tampered(pay(B, 0))
    results = mp.add_many([good, good, bad])
    assert results[:2] == [True, False]
    assert isinstance(results[2], BadSignature)


def test_committed_nonce_is_read_once_per_sender_while_pending() -> None:
    nonces = Nonces()
    mp = pool(nonces)
    for i in range(5):
        mp.add(pay(A, i))
    assert nonces.calls == 1


# --- ready() ----------------------------------------------------------------------------------------


def test_ready_gives_consecutive_runs_interleaved_in_arrival_order() -> None:
    mp = pool()
    for tx in [pay(B, 0), pay(A, 1), pay(A, 0), pay(B, 1), pay(B, 2), pay(C, 1), pay(A, 3)]:
        mp.add(tx)
    got = [(t.sender, t.nonce) for t in mp.ready(100, 10**9)]
    # C has a gap at 0, A stops before the gap at 2; B arrived first
    assert got == [
        (B.public_hex, 0),
        (A.public_hex, 0),
        (B.public_hex, 1),
        (A.public_hex, 1),
        (B.public_hex, 2),
    ]


def test_ready_respects_max_txs_and_max_bytes() -> None:
    mp = pool()
    small = [pay(A, i) for i in range(3)]
    big = pay(B, 0, memo="m" * 200)
    for tx in [*small, big, pay(C, 0)]:
        mp.add(tx)
    assert [t.hash for t in mp.ready(2, 10**9)] == [small[0].hash, big.hash]
    assert mp.ready(0, 10**9) == []
    c0 = mp.ready(100, 10**9)[2]
    budget = small[0].size + c0.size + 1  # after A's first tx the big one does not fit; C's does
    got = mp.ready(100, budget)
    assert got == [small[0], c0]
    assert mp.ready(100, 1) == []


def call(key: KeyPair, nonce: int, gas: int) -> Transaction:
    payload = {"contract": "cc" * 32, "method": "spin", "args": {}, "gas": gas}
    return sign_tx(key, CHAIN, nonce, "call", payload)


def test_ready_respects_max_gas_and_transfers_cost_none() -> None:
    mp = pool()
    for tx in [call(A, 0, 600), call(A, 1, 600), call(B, 0, 300), pay(C, 0), pay(C, 1)]:
        mp.add(tx)
    got = [(t.sender, t.nonce) for t in mp.ready(100, 10**9, max_gas=1000)]
    # A's second call would pass 1000; B's fits after A's first; transfers never count
    assert got == [(A.public_hex, 0), (B.public_hex, 0), (C.public_hex, 0), (C.public_hex, 1)]
    assert len(mp.ready(100, 10**9)) == 5
    assert [t.type for t in mp.ready(100, 10**9, max_gas=0)] == ["transfer", "transfer"]


def test_ready_start_skips_nonces_in_flight() -> None:
    mp = pool()
    for i in range(4):
        mp.add(pay(A, i))
    mp.add(pay(B, 0))
    got = [(t.sender, t.nonce) for t in mp.ready(10, 10**9, start={A.public_hex: 2})]
    assert got == [(A.public_hex, 2), (B.public_hex, 0), (A.public_hex, 3)]


# --- after a block commits -------------------------------------------------------------------------


def test_block_commit_drops_included_and_stale_txs_and_rotates_senders() -> None:
    nonces = Nonces()
    mp = pool(nonces)
    a0, a1, a2 = pay(A, 0), pay(A, 1), pay(A, 2)
    for tx in [a0, a1, a2, pay(B, 0), pay(B, 1)]:
        mp.add(tx)
    other_a1 = pay(A, 1, amount=77)  # a competing tx with A's nonce 1, from another node
    commit(mp, nonces, [a0, other_a1])
    assert mp.get(a0.hash) is None and mp.get(a1.hash) is None  # a1 is now stale
    assert mp.get(a2.hash) == a2 and len(mp) == 3
    assert mp.stats["stale_dropped"] == 1 and mp.stats["committed"] == 1
    assert mp.verified(a1.hash)  # it left the pool but its signature stays known
    with pytest.raises(BadNonce):
        mp.add(a1)
    # A had txs included, so it moved behind B in the round-robin order
    assert [(t.sender, t.nonce) for t in mp.ready(10, 10**9)] == [
        (B.public_hex, 0),
        (A.public_hex, 2),
        (B.public_hex, 1),
    ]
    commit(mp, nonces, [a2, pay(B, 0), pay(B, 1)])
    assert len(mp) == 0 and mp.stats["senders"] == 0 and mp.stats["bytes"] == 0


def test_commit_of_txs_never_seen_is_harmless() -> None:
    nonces = Nonces()
    mp = pool(nonces)
    mp.add(pay(C, 0))
    commit(mp, nonces, [pay(A, 0), pay(B, 0)])
    assert len(mp) == 1 and mp.verified(pay(A, 0).hash)


def test_verified_cache_is_bounded() -> None:
    nonces = Nonces()
    mp = pool(nonces, verified_cache=2)
    txs = [pay(A, i) for i in range(3)]
    for tx in txs:
        mp.add(tx)
    assert all(mp.verified(t.hash) for t in txs)
    commit(mp, nonces, txs)
    assert [mp.verified(t.hash) for t in txs] == [False, True, True]
    assert not mp.verified("00" * 32)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        pool(max_txs=0)


# --- property: ready() only proposes what a block may include ---------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    adds=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=40),
    committed=st.lists(st.integers(0, 3), min_size=6, max_size=6),
    max_txs=st.integers(1, 30),
    max_bytes=st.integers(0, 5_000),
)
def test_ready_is_always_a_valid_block_prefix(
    adds: list[tuple[int, int]], committed: list[int], max_txs: int, max_bytes: int
) -> None:
    nonces = Nonces()
    for key, n in zip(KEYS, committed, strict=True):
        nonces.values[key.public_hex] = n
    mp = pool(nonces, max_per_sender=5)
    for k, n in adds:
        try:
            mp.add(pay(KEYS[k], n))
        except (BadNonce, MempoolFull):
            pass
    got = mp.ready(max_txs, max_bytes)
    assert len(got) <= max_txs and sum(t.size for t in got) <= max_bytes
    expected = dict(nonces.values)
    for tx in got:
        assert tx.nonce == expected[tx.sender]
        expected[tx.sender] += 1
    if max_bytes >= 5_000 and max_txs >= 30:  # unconstrained: every ready run is proposed
        for key in KEYS:
            run = nonces.values[key.public_hex]
            while mp.get(pay(key, run).hash) is not None:
                run += 1
            assert expected[key.public_hex] == run


def test_by_signature_tracks_pending_transactions() -> None:
    keys = [KeyPair.from_seed(bytes([9]) * 32)]
    pool = Mempool("test", lambda _addr: 0)
    txs = [make_transfer(keys[0], "test", n, keys[0].public_hex, 1) for n in range(3)]
    for tx in txs:
        pool.add(tx)
    assert {t.signature for t in txs} == set(pool.by_signature)
    header = BlockHeader(1, "0" * 64, merkle_root([txs[0].hash]), "0" * 64, 1, "0" * 64, 0)
    pool._account_nonce = lambda _addr: 1  # type: ignore[method-assign]
    pool.on_block_committed(Block(header, (txs[0],)))
    assert set(pool.by_signature) == {txs[1].signature, txs[2].signature}


def test_next_nonce_skips_the_pending_run() -> None:
    key = KeyPair.from_seed(bytes([7]) * 32)
    pool = Mempool("test", lambda _addr: 5)
    assert pool.next_nonce(key.public_hex, 5) == 5
    for n in (5, 6, 8):
        pool.add(make_transfer(key, "test", n, key.public_hex, 1))
    assert pool.next_nonce(key.public_hex, 5) == 7  # 8 waits behind the gap at 7
