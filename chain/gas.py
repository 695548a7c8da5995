"""Intrinsic gas: what a transaction costs against the block gas limit before it runs anything.

The genesis ``block_gas_limit`` bounds how long a block takes to execute, and so keeps the
replicas inside their view-change and request timeouts. Declared gas (``Transaction.gas_limit``)
only covers what the contract VM may burn; the node's own work per transaction -- decoding and
copying the records a ledger action reads, its checks, the records and receipt it writes -- is
priced here, per transaction type and per ledger action, plus a price per byte for what the
transaction carries. Both the primary's proposal (``node.mempool.Mempool.proposable``) and every
replica's block validation (``node.executor.Executor.validate_block_txs``) count ``block_gas``,
so a block that could take too long is never proposed and never voted for. The figures are
protocol constants (chain/limits.py): every node must price alike.
"""

from __future__ import annotations

from typing import Any, Protocol

from chain import limits


class Transaction(Protocol):
    """What pricing needs of a ``chain.tx.Transaction`` (which computes its intrinsic gas here,
    when it is decoded: this module must not import it back)."""

    @property
    def intrinsic_gas(self) -> int: ...

    @property
    def gas_limit(self) -> int: ...

    @property
    def block_gas(self) -> int: ...


def intrinsic_gas(tx: Transaction) -> int:
    """The node's own work for ``tx``, in gas: by type (and ledger action) plus its bytes.

    Worked out once, when the transaction is decoded (``chain.tx.tx_from_dict``): proposals,
    block validation and the mempool ask it of every pending transaction again and again.
    """
    return tx.intrinsic_gas


def intrinsic_gas_of(tx_type: str, payload: dict[str, Any], size: int) -> int:
    """``intrinsic_gas`` of a transaction of ``tx_type`` with ``payload`` and encoded ``size``."""
    if tx_type == "transfer":
        base = limits.INTRINSIC_GAS_TRANSFER
    elif tx_type == "aid":
        action = payload["action"]
        base = limits.INTRINSIC_GAS_AID_ACTIONS.get(action, limits.INTRINSIC_GAS_AID)
        per_item = limits.INTRINSIC_GAS_AID_PER_ITEM.get(action)
        if per_item is not None:
            base += per_item[1] * _items(payload["args"], per_item[0])
    else:
        base = limits.INTRINSIC_GAS_CONTRACT_TX
    return base + limits.GAS_PER_TX_BYTE * size


def block_gas(tx: Transaction) -> int:
    """What ``tx`` counts against the block gas limit: intrinsic plus declared gas (added up
    once, when the transaction is decoded)."""
    return tx.block_gas


def _items(args: object, name: str) -> int:
    """Items of list argument ``name``, as many as the ledger would handle (it refuses more).

    The arguments are not checked yet (the ledger does that when the action runs), so anything
    that is not a list counts as none: such an action is refused before any per-item work.
    """
    items = args.get(name) if isinstance(args, dict) else None
    return min(len(items), limits.MAX_AID_ITEMS) if isinstance(items, list) else 0
