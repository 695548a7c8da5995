"""The block after a store's head, for tests and benchmarks that commit blocks by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chain.block import Block, BlockHeader, tx_root
from chain.tx import Transaction
from storage.chainstore import ChainStore


def block_after(
    store: ChainStore, txs: Sequence[Transaction], proposer: str, **header: Any
) -> Block:
    """The next block holding ``txs``: it extends the head, carries the head's state and
    receipts roots and is 1 ms later, unless ``header`` says otherwise (``time``, ...)."""
    fields: dict[str, Any] = {
        "height": store.height + 1,
        "prev_hash": store.head_hash,
        "tx_root": tx_root(txs),
        "tx_count": len(txs),
        "state_root": store.state_root,
        "receipts_root": store.receipts_root,
        "time": store.head_time + 1,
        "proposer": proposer,
        "view": 0,
    }
    fields.update(header)
    return Block(BlockHeader(**fields), tuple(txs))
