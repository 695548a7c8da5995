"""Mempool: every admission rule (table-driven), proposable() ordering, commits, the verified cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, tx_root
from chain.crypto import KeyPair
from chain.errors import (
    AidchainError,
    BadNonce,
    BadSignature,
    ConfigError,
    MempoolFull,
    UnknownAccount,
    WrongChain,
)
from chain.gas import block_gas
from chain.tx import Transaction, make_transfer, sign_tx, tx_from_dict
from chain.wire import tx_to_wire
from node.cluster import init_cluster, load_cluster
from node.config import load_config, parse_config
from node.daemon import Node
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
    """A fake committed-nonce source and known-account predicate (the store in production)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.unknown: set[str] = set()
        self.calls = 0

    def __call__(self, address: str) -> int:
        self.calls += 1
        return self.values.get(address, 0)

    def known(self, address: str) -> bool:
        return address not in self.unknown


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pool(nonces: Nonces | None = None, **kw: Any) -> Mempool:
    """A pool; small ``max_txs``/``max_per_sender`` pull the limits below them down too."""
    nonces = nonces or Nonces()
    kw.setdefault("max_per_sender", min(1_000, kw.get("max_txs", 1_000)))
    kw.setdefault("nonce_window", min(64, kw["max_per_sender"]))
    return Mempool(CHAIN, nonces, known=nonces.known, **kw)


def check_invariants(mp: Mempool) -> None:
    """What the pool's bookkeeping promises, recomputed the slow way."""
    assert len(mp) <= mp.max_txs and mp.stats["bytes"] <= mp.max_bytes
    assert mp.stats["bytes"] == sum(t.size for t in mp._txs.values())
    held = 0
    for sender, s in mp._senders.items():
        assert s.txs and len(s.txs) <= mp.max_per_sender
        assert all(s.txs[n].sender == sender and mp.get(s.txs[n].hash) for n in s.txs)
        assert all(n in s.txs for n in range(s.base, s.run_end)) and s.run_end not in s.txs
        assert min(s.txs) >= s.base and s.top == max(s.txs)
        assert all(n < s.run_end + mp.nonce_window for n in s.txs)
        assert (s.ranked_count, s.ranked_gapped) == (len(s.txs), s.gapped)
        held += len(s.txs)
    assert held == len(mp) == len(mp.by_signature)
    runnable = {a for a, s in mp._senders.items() if s.run_end > s.base}
    assert set(mp._runnable) == runnable
    largest = max((len(s.txs) for s in mp._senders.values()), default=0)
    top = mp._by_count.top()
    assert (0 if top is None else top[1]) == largest


def block(txs: list[Transaction]) -> Block:
    header = BlockHeader(
        1, "00" * 32, tx_root(txs), len(txs), "00" * 32, EMPTY_ROOT, 1, "00" * 32, 0
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


def pending_a_0_to_2(mp: Mempool, n: Nonces) -> None:
    for i in range(3):
        mp.add(pay(A, i))


def pending_b_0_b_1(mp: Mempool, n: Nonces) -> None:
    mp.add(pay(B, 0))
    mp.add(pay(B, 1))


def pending_b_0_c_0(mp: Mempool, n: Nonces) -> None:
    mp.add(pay(B, 0))
    mp.add(pay(C, 0))


def pending_b_0_b_2(mp: Mempool, n: Nonces) -> None:
    mp.add(pay(B, 0))
    mp.add(pay(B, 2))


def unknown_a(mp: Mempool, n: Nonces) -> None:
    n.unknown.add(A.public_hex)


SMALL = {"max_per_sender": 4, "nonce_window": 4}

CASES: list[tuple[str, Setup, dict[str, Any], Transaction, type[AidchainError] | bool, str]] = [
    ("new tx", nothing, {}, pay(A, 0), True, ""),
    ("future nonce inside the window", nothing, SMALL, pay(A, 3), True, ""),
    ("wrong chain", nothing, {}, pay(A, 0, chain="other"), WrongChain, "chain"),
    (
        "wrong chain beats a bad signature",
        nothing,
        {},
        tampered(pay(A, 0, chain="x")),
        WrongChain,
        "",
    ),
    ("unknown sender", unknown_a, {}, pay(A, 0), UnknownAccount, "fund it or have it granted"),
    (
        "unknown sender beats a bad signature",
        unknown_a,
        {},
        tampered(pay(A, 0)),
        UnknownAccount,
        "",
    ),
    ("nonce below committed", committed_a_5, {}, pay(A, 4), BadNonce, "next nonce is 5"),
    ("nonce at committed", committed_a_5, {}, pay(A, 5), True, ""),
    ("nonce window full", nothing, SMALL, pay(A, 4), MempoolFull, "too far ahead"),
    ("window counts from committed", committed_a_5, SMALL, pay(A, 8), True, ""),
    ("window counts from the pending run", pending_a_0_to_2, SMALL, pay(A, 6), True, ""),
    ("window past the pending run", pending_a_0_to_2, SMALL, pay(A, 7), MempoolFull, "ahead"),
    (
        "same nonce, other tx",
        pending_a_0,
        {},
        pay(A, 0, amount=1),
        BadNonce,
        "pending transaction from this sender has nonce 0",
    ),
    ("sender quota", pending_a_0_to_2, {"max_per_sender": 3}, pay(A, 3), MempoolFull, "quota"),
    (
        "pool full, sender holds as much as the largest",
        pending_b_0_c_0,
        {"max_txs": 2, "max_per_sender": 2},
        pay(B, 1),
        MempoolFull,
        "maximum of 2 transactions",
    ),
    (
        "pool full, a gapped tx is never let in",
        pending_b_0_b_1,
        {"max_txs": 2, "max_per_sender": 2},
        pay(A, 1),
        MempoolFull,
        "maximum of 2 transactions",
    ),
    (
        "pool bytes full, gapped tx",
        pending_b_0_b_1,
        {"max_bytes": 2 * pay(B, 0).size},
        pay(A, 1),
        MempoolFull,
        "bytes",
    ),
    ("bad signature", nothing, {}, tampered(pay(A, 0)), BadSignature, "signature"),
    ("bad nonce beats a bad signature", committed_a_5, {}, tampered(pay(A, 0)), BadNonce, ""),
    (
        "full pool beats a bad signature",
        pending_b_0_b_1,
        {"max_txs": 2, "max_per_sender": 2},
        tampered(pay(A, 1)),
        MempoolFull,
        "",
    ),
    (
        "full pool does not evict for a bad signature",
        pending_b_0_b_2,
        {"max_txs": 2, "max_per_sender": 2},
        tampered(pay(A, 0)),
        BadSignature,
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
    before = {h: mp.get(h) for h in list(mp._txs)}
    if isinstance(expect, bool):
        assert mp.add(tx) is expect
        assert mp.get(tx.hash) == tx and len(mp) == len(before) + 1
    else:
        with pytest.raises(expect, match=text or None):
            mp.add(tx)
        assert mp.get(tx.hash) is None and {h: mp.get(h) for h in before} == before
        assert len(mp) == len(before)
        assert mp.stats["rejected_" + expect.reason] == 1
    check_invariants(mp)


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
    assert mp.verified(tx)
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


# --- proposable() ----------------------------------------------------------------------------------


def test_proposable_gives_consecutive_runs_interleaved_in_arrival_order() -> None:
    mp = pool()
    for tx in [pay(B, 0), pay(A, 1), pay(A, 0), pay(B, 1), pay(B, 2), pay(C, 1), pay(A, 3)]:
        mp.add(tx)
    got = [(t.sender, t.nonce) for t in mp.proposable(100, 10**9).txs]
    # C has a gap at 0, A stops before the gap at 2; B arrived first
    assert got == [
        (B.public_hex, 0),
        (A.public_hex, 0),
        (B.public_hex, 1),
        (A.public_hex, 1),
        (B.public_hex, 2),
    ]


def test_proposable_respects_max_txs_and_max_bytes() -> None:
    mp = pool()
    small = [pay(A, i) for i in range(3)]
    big = pay(B, 0, memo="m" * 200)
    for tx in [*small, big, pay(C, 0)]:
        mp.add(tx)
    assert [t.hash for t in mp.proposable(2, 10**9).txs] == [small[0].hash, big.hash]
    assert mp.proposable(0, 10**9).txs == []
    c0 = mp.proposable(100, 10**9).txs[2]
    budget = small[0].size + c0.size + 1  # after A's first tx the big one does not fit; C's does
    got = mp.proposable(100, budget).txs
    assert got == [small[0], c0]
    assert mp.proposable(100, 1).txs == []


def call(key: KeyPair, nonce: int, gas: int) -> Transaction:
    payload = {"contract": "cc" * 32, "method": "spin", "args": {}, "gas": gas}
    return sign_tx(key, CHAIN, nonce, "call", payload)


def test_proposable_counts_intrinsic_and_declared_gas() -> None:
    mp = pool()
    a0, a1, b0 = call(A, 0, 6_000), call(A, 1, 6_000), call(B, 0, 300)
    c0, c1 = pay(C, 0), pay(C, 1)
    for tx in [a0, a1, b0, c0, c1]:
        mp.add(tx)
    fits = block_gas(a0) + block_gas(b0) + block_gas(c0) + block_gas(c1)
    assert fits < block_gas(a0) + block_gas(a1)  # A's second call is what does not fit
    got = mp.proposable(100, 10**9, max_gas=fits).txs
    assert got == [a0, b0, c0, c1]
    assert mp.proposable(100, 10**9, max_gas=fits - 1).txs == [a0, b0, c0]
    assert len(mp.proposable(100, 10**9).txs) == 5
    assert mp.proposable(100, 10**9, max_gas=block_gas(c0) - 1).txs == []  # transfers cost gas too


def test_proposable_says_whether_a_limit_left_a_tx_out() -> None:
    # the replica paces blocks unless the offer fills one; only the pool sees gas and bytes
    mp = pool()
    a0, a1, b0 = call(A, 0, 6_000), call(A, 1, 6_000), call(B, 0, 300)
    for tx in [a0, a1, b0]:
        mp.add(tx)
    everything = sum(block_gas(t) for t in [a0, a1, b0])
    assert mp.proposable(100, 10**9, max_gas=everything).full is False
    cut = mp.proposable(100, 10**9, max_gas=everything - 1)
    assert cut.txs == [a0, b0] and cut.full is True  # A's second call did not fit
    assert mp.proposable(100, a0.size, max_gas=everything).full is True  # bytes
    assert mp.proposable(2, 10**9).full is True  # count
    assert mp.proposable(3, 10**9).full is True  # a batch of max_txs fills its block
    assert mp.proposable(4, 10**9).full is False


def test_proposable_start_skips_nonces_in_flight() -> None:
    mp = pool()
    for i in range(4):
        mp.add(pay(A, i))
    mp.add(pay(B, 0))
    got = [(t.sender, t.nonce) for t in mp.proposable(10, 10**9, start={A.public_hex: 2}).txs]
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
    assert mp.verified(a1)  # it left the pool but its signature stays known
    with pytest.raises(BadNonce):
        mp.add(a1)
    # A had txs included, so it moved behind B in the round-robin order
    assert [(t.sender, t.nonce) for t in mp.proposable(10, 10**9).txs] == [
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
    assert len(mp) == 1 and mp.verified(pay(A, 0))


def test_verified_cache_is_bounded() -> None:
    nonces = Nonces()
    mp = pool(nonces, verified_cache=2)
    txs = [pay(A, i) for i in range(3)]
    for tx in txs:
        mp.add(tx)
    assert all(mp.verified(t) for t in txs)
    commit(mp, nonces, txs)
    assert [mp.verified(t) for t in txs] == [False, True, True]
    assert not mp.verified(pay(B, 0))


def test_the_memo_names_the_signature_not_only_the_hash() -> None:
    """The hash covers the body only: a copy with a forged signature shares it.

    Re-admitting an evicted tx skips its check, but only for the very signature checked before;
    a forged copy is refused, pending or gone.
    """
    clock = Clock()
    mp = pool(gap_ttl_ms=1_000, clock=clock)
    genuine = pay(A, 5)  # gapped: it expires and leaves the pool uncommitted
    forged = tampered(genuine)
    assert forged.hash == genuine.hash
    mp.add(genuine)
    assert mp.verified(genuine) and not mp.verified(forged)
    clock.now += 2
    assert mp.expire() == 1 and len(mp) == 0
    assert mp.verified(genuine) and not mp.verified(forged)
    with pytest.raises(BadSignature):
        mp.add(forged)
    assert mp.add(genuine) is True
    assert mp.stats["verified"] == 1  # the genuine copy came back without a second check


def test_a_signature_the_block_validator_checked_is_not_checked_again() -> None:
    nonces = Nonces()
    mp = pool(nonces)
    seen_in_block, pending = pay(A, 0), pay(B, 0)
    mp.add(pending)
    mp.note_verified(pending)  # already held: nothing to note
    mp.note_verified(seen_in_block)
    assert mp.stats["verified_in_block"] == 1
    assert mp.verified(seen_in_block) and not mp.verified(tampered(seen_in_block))
    assert mp.add(seen_in_block) is True  # the gossip copy, after the block
    assert mp.stats["verified"] == 1  # only ``pending`` was checked on admission
    with pytest.raises(BadSignature):
        mp.add(tampered(pay(A, 1)))


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        pool(max_txs=0)


# --- property: proposable() only proposes what a block may include ----------------------------------


@settings(max_examples=40, deadline=None)
@given(
    adds=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=40),
    committed=st.lists(st.integers(0, 3), min_size=6, max_size=6),
    max_txs=st.integers(1, 30),
    max_bytes=st.integers(0, 5_000),
)
def test_proposable_is_always_a_valid_block_prefix(
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
    got = mp.proposable(max_txs, max_bytes).txs
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
    header = BlockHeader(1, "0" * 64, tx_root(txs[:1]), 1, "0" * 64, EMPTY_ROOT, 1, "0" * 64, 0)
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


# --- the pool cannot be locked: window, quota, expiry, eviction order, reserved room --------------


def test_known_predicate_is_asked_once_per_sender_while_pending() -> None:
    nonces = Nonces()
    asked: list[str] = []

    def known(address: str) -> bool:
        asked.append(address)
        return True

    mp = Mempool(CHAIN, nonces, known=known)
    for i in range(4):
        mp.add(pay(A, i))
    assert asked == [A.public_hex]


def test_without_a_predicate_every_sender_is_known() -> None:
    mp = Mempool(CHAIN, Nonces())
    assert mp.add(pay(A, 0)) is True


def test_filling_the_gap_absorbs_gapped_txs_into_the_run() -> None:
    mp = pool(max_per_sender=8, nonce_window=4)
    for n in (1, 2, 3):
        mp.add(pay(A, n))
    assert mp.proposable(10, 10**9).txs == []
    mp.add(pay(A, 0))
    assert [t.nonce for t in mp.proposable(10, 10**9).txs] == [0, 1, 2, 3]
    mp.add(pay(A, 7))  # the window now counts from 4
    with pytest.raises(MempoolFull, match="too far ahead"):
        mp.add(pay(A, 8))
    check_invariants(mp)


def test_gapped_txs_expire_after_the_ttl_runnable_ones_do_not() -> None:
    clock, nonces = Clock(), Nonces()
    mp = pool(nonces, gap_ttl_ms=5_000, clock=clock)
    a0, a2, b1, b2 = pay(A, 0), pay(A, 2), pay(B, 1), pay(B, 2)
    for tx in (a0, a2, b1, b2):
        mp.add(tx)
    clock.now += 3
    mp.add(pay(B, 0))  # fills B's gap before the deadline: B's txs are runnable now
    clock.now += 1.999
    assert mp.expire() == 0 and len(mp) == 5
    clock.now += 0.001
    assert mp.expire() == 1 and mp.get(a2.hash) is None and mp.get(a0.hash) == a0
    assert mp.stats["expired"] == 1 and len(mp) == 4
    assert mp.add(a2) is True  # an expired tx may come back, with a fresh deadline
    check_invariants(mp)


def test_expiry_runs_on_add_and_proposable_without_a_timer() -> None:
    clock = Clock()
    mp = pool(gap_ttl_ms=1_000, clock=clock)
    mp.add(pay(A, 5))
    clock.now += 2
    assert mp.proposable(10, 10**9).txs == [] and len(mp) == 0
    mp.add(pay(A, 5))
    clock.now += 2
    mp.add(pay(B, 0))
    assert len(mp) == 1


def test_expired_tx_already_committed_or_evicted_is_skipped() -> None:
    clock, nonces = Clock(), Nonces()
    mp = pool(nonces, gap_ttl_ms=1_000, clock=clock)
    a0, a1 = pay(A, 0), pay(A, 1)
    mp.add(a1)
    mp.add(a0)
    commit(mp, nonces, [a0, a1])
    clock.now += 5
    assert mp.expire() == 0 and len(mp) == 0


def test_full_pool_evicts_gapped_txs_first_from_the_most_gapped_sender() -> None:
    mp = pool(max_txs=6, max_per_sender=4, nonce_window=4)
    for tx in [pay(A, 0), pay(A, 1), pay(A, 2), pay(B, 2), pay(B, 3), pay(C, 1)]:
        mp.add(tx)
    # A holds the most txs (3, all runnable); B the most gapped (2): B's youngest goes first
    assert mp.add(pay(D, 0)) is True
    assert mp.get(pay(B, 3).hash) is None and mp.get(pay(B, 2).hash) is not None
    assert mp.add(pay(E, 0)) is True  # B and C have one gapped each now
    assert None in (mp.get(pay(B, 2).hash), mp.get(pay(C, 1).hash))
    assert mp.add(pay(F, 0)) is True  # the last gapped one
    assert mp.get(pay(B, 2).hash) is None and mp.get(pay(C, 1).hash) is None
    assert mp.stats["evicted"] == 3 and len(mp) == 6
    check_invariants(mp)


def test_full_pool_then_evicts_the_youngest_of_the_largest_sender() -> None:
    mp = pool(max_txs=5, max_per_sender=4, nonce_window=4)
    for tx in [pay(A, 0), pay(A, 1), pay(A, 2), pay(B, 0), pay(B, 1)]:
        mp.add(tx)
    assert mp.add(pay(C, 0)) is True
    assert mp.get(pay(A, 2).hash) is None  # A's youngest; its run stays whole
    assert [t.nonce for t in mp.proposable(10, 10**9).txs if t.sender == A.public_hex] == [0, 1]
    assert mp.add(pay(C, 1)) is True  # A and B hold 2 each, C 1: one of them gives way
    with pytest.raises(MempoolFull, match="maximum of 5"):
        mp.add(pay(C, 2))  # C holds 2 now, as much as anyone: no more room for it
    check_invariants(mp)


def test_quota_counts_gapped_txs_and_never_evicts_the_senders_own() -> None:
    nonces = Nonces()
    mp = pool(nonces, max_per_sender=3, nonce_window=3)
    a0, a2, a3 = pay(A, 0), pay(A, 2), pay(A, 3)
    for tx in (a0, a2, a3):
        mp.add(tx)
    with pytest.raises(MempoolFull, match="quota"):
        mp.add(pay(A, 1))  # a client told "admitted" must not lose a tx to its own next one
    assert len(mp) == 3
    commit(mp, nonces, [a0])  # the run is never empty at the quota, so a commit frees room
    assert mp.add(pay(A, 1)) is True
    assert [t.nonce for t in mp.proposable(10, 10**9).txs] == [1, 2, 3]
    check_invariants(mp)


def test_byte_pressure_evicts_too() -> None:
    small = pay(B, 0).size
    mp = pool(max_bytes=3 * small + 10, max_per_sender=4, nonce_window=4)
    for tx in [pay(B, 0), pay(B, 1), pay(B, 2)]:
        mp.add(tx)
    assert mp.add(pay(A, 0)) is True and mp.get(pay(B, 2).hash) is None
    big = pay(C, 0, memo="m" * 200)
    assert mp.add(big) is True  # C held nothing: the largest senders give way until it fits
    assert len(mp) == 2 and mp.stats["evicted"] == 3
    with pytest.raises(MempoolFull, match="bytes"):
        mp.add(pay(C, 1))  # C holds as much as anyone now
    check_invariants(mp)


def test_a_flood_from_a_few_senders_leaves_room_for_everyone_else() -> None:
    """Finding 4, scaled: insiders fill the pool with runs and gapped txs; others still get in."""
    clock, nonces = Clock(), Nonces()
    mp = pool(nonces, max_txs=200, max_per_sender=50, nonce_window=16, clock=clock)
    attackers = [KeyPair.from_seed(bytes([200 + i]) * 32) for i in range(4)]
    for key in attackers:
        for n in [*range(34), *range(35, 50)]:
            try:
                mp.add(pay(key, n))
            except MempoolFull:
                pass
    assert len(mp) >= 190
    for key in KEYS:  # six legitimate senders, a few consecutive txs each
        for n in range(5):
            assert mp.add(pay(key, n)) is True
    assert all(len(mp._senders[k.public_hex].txs) == 5 for k in KEYS)
    check_invariants(mp)
    clock.now += limits.DEFAULT_MEMPOOL_GAP_TTL_MS / 1000
    assert mp.expire() > 0 and mp.stats["most_gapped"] == 0


def test_limits_must_nest() -> None:
    with pytest.raises(ValueError, match="nonce_window <= max_per_sender <= max_txs"):
        Mempool(CHAIN, Nonces(), max_txs=10, max_per_sender=11, nonce_window=5)
    with pytest.raises(ValueError, match="nonce_window"):
        Mempool(CHAIN, Nonces(), max_txs=10, max_per_sender=4, nonce_window=5)
    with pytest.raises(ValueError, match="positive"):
        Mempool(CHAIN, Nonces(), gap_ttl_ms=0)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"nonce_window": 0}, "nonce_window <= max_per_sender"),
        ({"nonce_window": 65, "max_per_sender": 64}, "nonce_window <= max_per_sender"),
        ({"max_per_sender": 60_000}, "max_per_sender <= max_txs"),
        ({"max_bytes": 1024}, "max_bytes"),
        ({"gap_ttl_ms": 0}, "gap_ttl_ms"),
        ({"gossip_batch": 0}, "gossip_batch"),
    ],
)
def test_mempool_config_relations_are_checked_at_load(
    tmp_path: Path, table: dict[str, int], message: str
) -> None:
    raw = {"node": {"genesis": "g.json"}, "mempool": table}
    with pytest.raises(ConfigError, match=message):
        parse_config(raw, tmp_path / "config.toml")


def test_mempool_config_defaults_and_overrides() -> None:
    raw = {"node": {"genesis": "g.json"}, "mempool": {"nonce_window": 8, "gap_ttl_ms": 2_000}}
    cfg = parse_config(raw, Path("/x/config.toml")).mempool
    assert (cfg.nonce_window, cfg.gap_ttl_ms) == (8, 2_000)
    assert cfg.max_per_sender == limits.DEFAULT_MEMPOOL_MAX_PER_SENDER
    assert cfg.max_bytes == limits.DEFAULT_MEMPOOL_MAX_BYTES


# --- property: a known sender with a consecutive nonce always gets room ----------------------------

OTHERS = [KeyPair.from_seed(bytes([150 + i]) * 32) for i in range(5)]
LEGIT = KeyPair.from_seed(bytes([250]) * 32)

Op = tuple[str, int, int]  # (what, sender index, how many / how far / how long)


@settings(max_examples=80, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("run"), st.integers(0, 4), st.integers(1, 12)),
            st.tuples(st.just("gap"), st.integers(0, 4), st.integers(1, 8)),
            st.tuples(st.just("commit"), st.integers(0, 4), st.integers(1, 3)),
            st.tuples(st.just("wait"), st.just(0), st.integers(0, 3_000)),
        ),
        max_size=60,
    ),
    legit_base=st.integers(0, 3),
    max_txs=st.integers(12, 40),
)
def test_a_known_sender_with_a_consecutive_nonce_always_gets_room(
    ops: list[Op], legit_base: int, max_txs: int
) -> None:
    clock, nonces = Clock(), Nonces()
    nonces.values[LEGIT.public_hex] = legit_base
    mp = pool(
        nonces, max_txs=max_txs, max_per_sender=10, nonce_window=6, gap_ttl_ms=2_000, clock=clock
    )
    for op, who, n in ops:
        key = OTHERS[who]
        base = nonces.values.get(key.public_hex, 0)
        nxt = mp.next_nonce(key.public_hex, base)
        if op in ("run", "gap"):
            for nonce in range(nxt, nxt + n) if op == "run" else [nxt + n]:
                try:
                    mp.add(pay(key, nonce))
                except (BadNonce, MempoolFull):
                    pass
        elif op == "commit":
            commit(mp, nonces, [pay(key, base + k) for k in range(n)])
        else:
            clock.now += n / 1000
    check_invariants(mp)
    # the legitimate sender gets its fair share: as many as a pool split over all senders allows
    share = min(mp.max_per_sender, max_txs // (len(OTHERS) + 1))
    for k in range(share):
        assert mp.add(pay(LEGIT, legit_base + k)) is True
        check_invariants(mp)
    assert [
        t.nonce for t in mp.proposable(1_000, 10**9).txs if t.sender == LEGIT.public_hex
    ] == list(range(legit_base, legit_base + share))


# --- wiring in the node: the known-account predicate on RPC and gossip, [mempool] options -------


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    init_cluster(tmp_path / "c", base_port=0, accounts=2)
    cfg_path = tmp_path / "c" / "node0" / "config.toml"
    cfg_path.write_text(cfg_path.read_text() + "\n[mempool]\nnonce_window = 8\ngap_ttl_ms = 500\n")
    n = Node(load_config(cfg_path))
    yield n
    n._io.shutdown(wait=True)
    n.store.close()


async def test_node_refuses_unknown_senders_over_rpc_and_gossip(node: Node) -> None:
    funded = load_cluster(node.cfg.path.parent.parent).account_keys()[0]
    fresh = KeyPair.from_seed(bytes([77]) * 32)
    cid = node.chain_id
    assert node.is_known_account(funded.public_hex) and not node.is_known_account(fresh.public_hex)
    with pytest.raises(UnknownAccount, match="not known to this chain"):
        node.submit(make_transfer(fresh, cid, 0, TO, 1))
    assert node.submit(make_transfer(funded, cid, 0, TO, 1))
    gossip = [tx_to_wire(make_transfer(fresh, cid, n, TO, 1)) for n in range(1, 4)]
    gossip.append(tx_to_wire(make_transfer(funded, cid, 1, TO, 1)))
    await node._on_peer_message("ff" * 32, {"k": "txs", "txs": gossip})
    assert len(node.mempool) == 2 and node.stats["bad_gossip_txs"] == 3
    assert node.mempool.stats["rejected_unknown_account"] == 4


async def test_gossip_refused_for_lack_of_room_is_not_counted_against_the_peer(node: Node) -> None:
    """A full pool (here the sender's quota) refuses gossip unjudged: not the peer's fault."""
    funded = load_cluster(node.cfg.path.parent.parent).account_keys()[0]
    cid = node.chain_id
    node.mempool.max_per_sender = 3
    forged = tx_to_wire(tampered(make_transfer(funded, cid, 0, TO, 1)))
    gossip = [forged] + [tx_to_wire(make_transfer(funded, cid, n, TO, 1)) for n in range(5)]
    await node._on_peer_message("ff" * 32, {"k": "txs", "txs": gossip})
    assert len(node.mempool) == 3
    assert node.stats["gossip_txs_no_room"] == 2  # nonces 3 and 4: over the quota
    assert node.stats["bad_gossip_txs"] == 1  # the forged copy, refused while there was room


def test_node_builds_its_mempool_from_the_config(node: Node) -> None:
    assert (node.mempool.nonce_window, node.mempool.gap_ttl) == (8, 0.5)
    assert node.mempool.max_per_sender == limits.DEFAULT_MEMPOOL_MAX_PER_SENDER
