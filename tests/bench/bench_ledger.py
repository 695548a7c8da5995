"""Micro-benchmark of the ledger hot paths: per-transaction microseconds (not a pytest test).

    .venv/bin/python tests/bench/bench_ledger.py [--txs 20000] [--block 1000] [--senders 50]

Measures, for pre-signed transfers: mempool admission (incl. the one signature check),
proposable() batching, block validation (signatures cached by the mempool, and uncached as a replica
that never saw the txs), execution, the synced commit batch, and mempool cleanup after a commit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from node.executor import Executor
from node.mempool import Mempool
from storage.chainstore import ChainStore

CHAIN = "bench"


def timed(totals: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--block", type=int, default=1_000)
    parser.add_argument("--senders", type=int, default=50)
    args = parser.parse_args()

    keys = [KeyPair.generate() for _ in range(args.senders)]
    validator = KeyPair.generate()
    print(f"signing {args.txs} transfers from {args.senders} senders ...")
    txs: list[Transaction] = []
    for i in range(args.txs):
        sender = keys[i % args.senders]
        to = keys[(i + 1) % args.senders].public_hex
        txs.append(make_transfer(sender, CHAIN, i // args.senders, to, 1 + i % 7))

    with tempfile.TemporaryDirectory() as tmp:
        store = ChainStore.open(Path(tmp) / "db")
        store.init_genesis(
            {
                "chain_id": CHAIN,
                "time": 1,
                "validators": [{"id": validator.public_hex, "name": "v"}],
                "accounts": {k.public_hex: 10**12 for k in keys},
            }
        )
        executor = Executor(store)
        per_sender = args.txs // args.senders + 1
        mempool = Mempool(
            CHAIN,
            lambda a: store.account(a)[1],
            max_txs=max(args.txs, 1),
            max_per_sender=per_sender,
            nonce_window=min(limits.DEFAULT_MEMPOOL_NONCE_WINDOW, per_sender),
        )
        totals: dict[str, float] = {}
        timed(totals, "mempool add (verifies signature)", lambda: [mempool.add(t) for t in txs])
        blocks = 0
        while len(mempool):
            batch = timed(
                totals,
                "mempool proposable",
                lambda: mempool.proposable(args.block, 4 * 2**20).txs,
            )
            header = BlockHeader(
                store.height + 1,
                store.head_hash,
                tx_root(batch),
                len(batch),
                store.state_root,
                EMPTY_ROOT,
                store.head_time + 1,
                validator.public_hex,
                0,
            )
            block = Block(header, tuple(batch))
            reason = timed(
                totals,
                "validate (signatures cached)",
                lambda: executor.validate_block_txs(block, mempool),  # noqa: B023
            )
            assert reason is None, reason
            if blocks < 3:
                timed(
                    totals,
                    "validate (uncached, 3 blocks)",
                    lambda: executor.validate_block_txs(block),  # noqa: B023
                )
            result = timed(totals, "execute", lambda: executor.execute(block))  # noqa: B023
            cert = CommitCertificate(block.height, block.hash, 0, ())
            timed(
                totals,
                "commit (one synced batch)",
                lambda: store.commit_block(block, cert, result),  # noqa: B023
            )
            timed(totals, "mempool on_block_committed", lambda: mempool.on_block_committed(block))  # noqa: B023
            blocks += 1
        assert all(r["ok"] for r in result.receipts)
        store.close()

    n = len(txs)
    print(f"{n} txs in {blocks} blocks of <= {args.block}")
    per_block_uncached = args.block * min(blocks, 3)
    for name, seconds in totals.items():
        count = per_block_uncached if "uncached" in name else n
        print(f"  {name:36s} {seconds / count * 1e6:8.1f} us/tx")
    hot = sum(v for k, v in totals.items() if "uncached" not in k and "add" not in k)
    print(f"  {'block path (proposable..cleanup) total':36s} {hot / n * 1e6:8.1f} us/tx")


if __name__ == "__main__":
    main()
