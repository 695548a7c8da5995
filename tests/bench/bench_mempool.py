"""Mempool bookkeeping cost per operation, empty versus under a lock-out attack.

    .venv/bin/python tests/bench/bench_mempool.py [--pool 20000] [--attackers 100]

Prints microseconds per ``add`` for: runnable txs into an empty pool; gapped txs filling it; a
legitimate sender's runnable txs into the full pool (each evicts a gapped one); and the cost of
expiring the rest. The per-op figures should stay flat as the pool grows (O(1) amortised). The
signature check (the same ~100-300 us in every case) is left out so the bookkeeping shows.
"""

from __future__ import annotations

import argparse
import time

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from node.mempool import Mempool

CHAIN = "bench-mempool"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def per_op(label: str, ops: int, seconds: float) -> None:
    print(f"  {label:<52} {1e6 * seconds / max(ops, 1):7.2f} us/op  ({ops} ops)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--attackers", type=int, default=100)
    args = parser.parse_args()
    window = args.pool // args.attackers + 1
    to = "ee" * 32
    keys = [KeyPair.from_seed(i.to_bytes(32, "big")) for i in range(1, args.attackers + 2)]
    legit, attackers = keys[0], keys[1:]
    print(f"signing {2 * args.pool} transfers ...")
    gapped = [make_transfer(k, CHAIN, n, to, 1) for n in range(1, window) for k in attackers][
        : args.pool
    ]
    runs = [make_transfer(legit, CHAIN, n, to, 1) for n in range(args.pool)]
    for tx in (*gapped, *runs):
        _ = tx.hash, tx.size
    Transaction.verify_signature = lambda self: True  # type: ignore[method-assign]

    clock = Clock()
    empty = Mempool(CHAIN, lambda a: 0, max_txs=args.pool, max_per_sender=args.pool)
    started = time.perf_counter()
    for tx in runs:
        empty.add(tx)
    per_op("add runnable, empty pool", len(runs), time.perf_counter() - started)

    mp = Mempool(
        CHAIN,
        lambda a: 0,
        max_txs=args.pool,
        max_per_sender=args.pool,
        nonce_window=window,
        clock=clock,
    )
    started = time.perf_counter()
    for tx in gapped:
        mp.add(tx)
    per_op("add gapped (attackers fill the pool)", len(gapped), time.perf_counter() - started)
    started = time.perf_counter()
    for tx in runs:
        mp.add(tx)
    per_op(
        "add runnable into the full pool (evicts one each)",
        len(runs),
        time.perf_counter() - started,
    )
    assert mp.stats["evicted"] == len(runs)
    started = time.perf_counter()
    proposed = mp.proposable(1_000, 4 * 2**20).txs
    per_op(
        "proposable 1,000 (attackers hold only gapped txs)",
        len(proposed),
        time.perf_counter() - started,
    )
    mp2 = Mempool(
        CHAIN,
        lambda a: 0,
        max_txs=args.pool,
        max_per_sender=args.pool,
        nonce_window=window,
        clock=clock,
    )
    for tx in gapped:
        mp2.add(tx)
    clock.now += 3600
    started = time.perf_counter()
    dropped = mp2.expire()
    per_op("expire (every gapped tx)", dropped, time.perf_counter() - started)


if __name__ == "__main__":
    main()
