"""An in-memory chain for the subscription hub: committed blocks, a mempool and sync status."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer, sign_tx
from rpc.notifications import Committed, TxStatus
from rpc.subscriptions import Session, SubscriptionHub

CHAIN = "subs-test"
KEY = KeyPair.from_seed(b"\x07" * 32)
VALIDATORS = tuple(f"{i:02x}" * 32 for i in range(4))
CONTRACT = "ab" * 32
KINDS = frozenset({"household", "fund", "proposal", "grants", "alert", "grievance"})
AREAS = {
    "household/h1": "530102001001",
    "fund/f1": "530102000000",
    "fund/f2": "530103000000",
    "grievance/g9": "530103000000",
}


def aid_tx(nonce: int, action: str = "fund.receive") -> Transaction:
    return sign_tx(KEY, CHAIN, nonce, "aid", {"action": action, "args": {"n": nonce}})


def transfer_tx(nonce: int) -> Transaction:
    return make_transfer(KEY, CHAIN, nonce, "cd" * 32, 1)


class FakeFeed:
    """``ChainFeed`` over lists; ``commit`` stores a block and calls the hub's hook like the
    daemon does (after the store)."""

    def __init__(self) -> None:
        self.blocks: list[Committed] = []
        self.pending: set[str] = set()
        self.syncing = False
        self.peers = 3
        self.nonce = 0
        self.committed_reads: list[int] = []

    @property
    def entity_kinds(self) -> frozenset[str]:
        return KINDS

    def head(self) -> int:
        return len(self.blocks)

    def committed(self, height: int) -> Committed | None:
        self.committed_reads.append(height)
        return self.blocks[height - 1] if 0 < height <= len(self.blocks) else None

    def tx_status(self, tx_hash: str) -> TxStatus:
        for c in self.blocks:
            for tx, receipt in zip(c.block.txs, c.receipts, strict=True):
                if tx.hash == tx_hash:
                    return TxStatus("committed", c.block.height, dict(receipt))
        return TxStatus("pending") if tx_hash in self.pending else TxStatus("unknown")

    def entity_areas(self, refs: Sequence[str]) -> tuple[str, ...]:
        return tuple(AREAS[r] for r in refs if r in AREAS)

    def area_prefix(self, code: str) -> str | None:
        return code.rstrip("0") if code.isdigit() and code.strip("0") else None

    def sync_status(self) -> dict[str, Any]:
        return {"height": self.head(), "syncing": self.syncing, "peers": self.peers}

    def make_block(
        self,
        txs: Sequence[Transaction] = (),
        receipts: Sequence[dict[str, Any]] | None = None,
        end_block_events: Sequence[dict[str, Any]] = (),
    ) -> Committed:
        height = len(self.blocks) + 1
        header = BlockHeader(
            height=height,
            prev_hash="00" * 32,
            tx_root=tx_root(txs),
            tx_count=len(txs),
            state_root="11" * 32,
            receipts_root=EMPTY_ROOT,
            time=1_700_000_000_000 + height,
            proposer=VALIDATORS[0],
            view=0,
        )
        block = Block(header, tuple(txs))
        cert = CommitCertificate(height, block.hash, 0, tuple((v, "ee" * 64) for v in VALIDATORS))
        if receipts is None:
            receipts = [{"ok": True, "error": None, "events": [], "touched": []} for _ in txs]
        return Committed(block, receipts, cert, end_block_events)

    def commit(self, hub: SubscriptionHub | None, c: Committed | None = None) -> Committed:
        c = c or self.make_block()
        self.blocks.append(c)
        for tx in c.block.txs:
            self.pending.discard(tx.hash)
        if hub is not None:
            hub.on_block(c.block, c.receipts, c.certificate, c.end_block_events)
        return c


def drain(session: Session) -> list[dict[str, Any]]:
    """Everything queued on ``session`` right now, decoded (as the writer would send it)."""
    out = []
    while (item := session.pop_ready()) is not None:
        out.append(json.loads(item.body))
    return out


def results(messages: list[dict[str, Any]], sub_id: str) -> list[Any]:
    return [m["params"]["result"] for m in messages if m["params"]["subscription"] == sub_id]


@contextlib.asynccontextmanager
async def pumping(hub: SubscriptionHub) -> AsyncIterator[SubscriptionHub]:
    """Run the hub's pump (the daemon supervises it) for the duration of a test."""
    task = asyncio.create_task(hub.run())
    try:
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
