"""Micro-benchmark: a block's transactions as canonical strings vs nested objects (not a test).

    .venv/bin/python tests/bench/bench_wire.py [--txs 1000] [--rounds 20]

Times what a PRE-PREPARE of ``--txs`` transfers costs on the peer wire: the primary's encode
(``canonical`` of the envelope, depth/float check included), and a backup's parse + decode,
both with the mempool's transactions known (the hot path) and unknown (a replica that never saw
them). "objects" is the previous format (``block.to_dict()``: transactions nested as objects,
decoded with ``tx_from_dict`` / an equality check against the known tx), rebuilt here only to
compare; "strings" is ``chain.wire``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from chain.block import EMPTY_ROOT, Block, BlockHeader, block_from_dict, header_from_dict, tx_root
from chain.crypto import KeyPair
from chain.encoding import canonical, loads_strict
from chain.tx import Transaction, make_transfer, tx_from_dict
from chain.wire import known_tx_from_wire, tx_to_wire
from consensus.messages import decode_message, encode_message, make_pre_prepare

CHAIN = "bench"


def best_ms(fn: Callable[[], Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def legacy_decode(obj: dict[str, Any], known: dict[str, Transaction] | None) -> Block:
    """The old decoder's work: tx objects, reused when equal to the known tx."""
    raw = obj["block"]
    if not known:
        return block_from_dict(raw)
    txs = []
    for item in raw["txs"]:
        k = known.get(item["signature"])
        txs.append(k if k is not None and k.to_dict() == item else tx_from_dict(item))
    block = Block(header_from_dict(raw["header"]), tuple(txs))
    assert block.check_tx_root()
    return block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    senders = [KeyPair.generate() for _ in range(50)]
    txs = [
        make_transfer(senders[i % 50], CHAIN, i // 50, senders[(i + 1) % 50].public_hex, 7, "aid")
        for i in range(args.txs)
    ]
    known = {tx.signature: tx for tx in txs}
    primary = KeyPair.generate()
    header = BlockHeader(
        1, "ab" * 32, tx_root(txs), len(txs), "cd" * 32, EMPTY_ROOT, 1, primary.public_hex, 0
    )
    pp = make_pre_prepare(primary, CHAIN, 0, Block(header, tuple(txs)))

    new_msg = {"k": "c", "m": encode_message(pp)}
    old_msg = {"k": "c", "m": {**encode_message(pp), "block": pp.block.to_dict()}}
    new_bytes, old_bytes = canonical(new_msg), canonical(old_msg)
    r = args.rounds
    rows = [
        ("bytes on the wire", len(old_bytes), len(new_bytes)),
        (
            "primary: build + encode (ms)",
            best_ms(
                lambda: canonical(
                    {"k": "c", "m": {**encode_message(pp), "block": pp.block.to_dict()}}
                ),
                r,
            ),
            best_ms(lambda: canonical({"k": "c", "m": encode_message(pp)}), r),
        ),
        (
            "backup: parse + decode, txs known (ms)",
            best_ms(lambda: legacy_decode(loads_strict(old_bytes)["m"], known), r),
            best_ms(lambda: decode_message(loads_strict(new_bytes)["m"], known_txs=known), r),
        ),
        (
            "backup: parse + decode, txs unknown (ms)",
            best_ms(lambda: legacy_decode(loads_strict(old_bytes)["m"], None), r),
            best_ms(lambda: decode_message(loads_strict(new_bytes)["m"]), r),
        ),
    ]
    chunk = txs[:256]
    old_gossip = canonical({"k": "txs", "txs": [t.to_dict() for t in chunk]})
    new_gossip = canonical({"k": "txs", "txs": [tx_to_wire(t) for t in chunk]})
    rows += [
        (
            "gossip of 256: encode (ms)",
            best_ms(lambda: canonical({"k": "txs", "txs": [t.to_dict() for t in chunk]}), r),
            best_ms(lambda: canonical({"k": "txs", "txs": [tx_to_wire(t) for t in chunk]}), r),
        ),
        (
            "gossip of 256: receive, txs unknown (ms)",
            best_ms(lambda: [tx_from_dict(o) for o in loads_strict(old_gossip)["txs"]], r),
            best_ms(
                lambda: [known_tx_from_wire(o, None) for o in loads_strict(new_gossip)["txs"]], r
            ),
        ),
    ]
    print(f"PRE-PREPARE of {args.txs} transfers (and a 256-tx gossip chunk), best of {r} rounds")
    print(f"{'':42} {'objects':>10} {'strings':>10}")
    for name, old, new in rows:
        print(f"{name:42} {old:>10.1f} {new:>10.1f}")


if __name__ == "__main__":
    main()
