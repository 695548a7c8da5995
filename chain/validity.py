"""What makes a block body acceptable regardless of state: one home for these rules.

The replica checks a proposed block in two layers. These rules need only the block and the
chain id, so every node decides them alike from the block alone; the rules that need the
committed state (nonces, signatures not yet verified, the genesis block gas limit) sit behind the
replica's ``BlockValidator`` port (``node/executor.py`` ``validate_block_txs``). No rule is
checked in both layers. Header rules that need the replica's position (height, parent hash,
state and receipts roots, time, proposer, and whether an empty block may anchor the previous
block's receipts) stay in ``consensus/replica.py``.
"""

from __future__ import annotations

from chain import limits
from chain.block import Block


def block_body_problem(block: Block, chain_id: str) -> str | None:
    """Why ``block``'s transactions can never be committed on ``chain_id``, or None."""
    txs = block.txs
    if len(txs) > limits.MAX_BLOCK_TXS:
        return f"block has {len(txs)} transactions, more than {limits.MAX_BLOCK_TXS}"
    total = sum(tx.size for tx in txs)
    if total > limits.MAX_BLOCK_BYTES:
        return f"block transactions total {total} bytes, more than {limits.MAX_BLOCK_BYTES}"
    seen: set[str] = set()
    for index, tx in enumerate(txs):
        if tx.chain_id != chain_id:
            return f"tx {index} is for chain {tx.chain_id!r}, not {chain_id!r}"
        if tx.hash in seen:
            return f"tx {index} ({tx.hash[:12]}) appears twice in the block"
        seen.add(tx.hash)
    if not block.check_tx_root():
        return "tx_root or tx_count mismatch"
    return None
