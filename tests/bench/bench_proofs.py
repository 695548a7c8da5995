"""Micro-benchmark: what RFC 6962 roots and transaction proofs cost per block (not a test).

    .venv/bin/python tests/bench/bench_proofs.py [--txs 2000] [--rounds 10]

Times, for a block of ``--txs`` transfers: ``tx_root`` (every node, for every proposal it
checks), ``receipts_root`` (every node, after executing a block), building one proof the way
``tx_proof`` does (both trees, two audit paths) and verifying it offline (``verify_proof``: 3
certificate signatures, one tx signature, two paths). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from chain.block import (
    EMPTY_ROOT,
    Block,
    BlockHeader,
    CommitCertificate,
    commit_signing_bytes,
    receipts_root,
    tx_root,
)
from chain.crypto import KeyPair
from chain.proof import build_proof, verify_proof
from chain.tx import make_transfer

CHAIN = "bench"


def best_ms(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    vals = [KeyPair.generate() for _ in range(4)]
    alice = KeyPair.generate()
    txs = [make_transfer(alice, CHAIN, n, vals[0].public_hex, 1 + n) for n in range(args.txs)]
    receipts = [
        {
            "ok": True,
            "error": None,
            "events": [{"name": "transfer", "from": tx.sender, "to": vals[0].public_hex}],
        }
        for tx in txs
    ]
    header = BlockHeader(
        1, "aa" * 32, tx_root(txs), len(txs), "bb" * 32, EMPTY_ROOT, 5, vals[0].public_hex, 0
    )
    block = Block(header, tuple(txs))
    nxt = BlockHeader(
        2,
        block.hash,
        EMPTY_ROOT,
        0,
        "cc" * 32,
        receipts_root(txs, receipts),
        6,
        vals[0].public_hex,
        0,
    )
    msg = commit_signing_bytes(CHAIN, 0, 2, nxt.hash)
    cert = CommitCertificate(
        2, nxt.hash, 0, tuple(sorted((v.public_hex, v.sign(msg)) for v in vals[:3]))
    )
    genesis = {"chain_id": CHAIN, "validators": [{"id": v.public_hex} for v in vals]}
    doc = build_proof(CHAIN, block, receipts, len(txs) // 2, nxt, cert)
    rows = [
        ("tx_root", best_ms(lambda: tx_root(txs), args.rounds)),
        ("receipts_root", best_ms(lambda: receipts_root(txs, receipts), args.rounds)),
        (
            "build one proof",
            best_ms(lambda: build_proof(CHAIN, block, receipts, 7, nxt, cert), args.rounds),
        ),
        ("verify one proof", best_ms(lambda: verify_proof(doc, genesis), args.rounds)),
    ]
    print(f"block of {args.txs} transfers, best of {args.rounds}:")
    for name, ms in rows:
        print(f"  {name:<18} {ms:8.2f} ms")
    print(f"  proof size: {len(str(doc))} chars, {len(doc['tx_path'])} hashes per path")


if __name__ == "__main__":
    main()
