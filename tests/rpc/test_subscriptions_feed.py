"""The node's side of the hub (node.rpcapi.NodeFeed) over a stand-in store and mempool."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from aid.state import record_key
from node.rpcapi import NodeFeed
from tests.rpc.subs_fakes import FakeFeed, aid_tx


class Store:
    """Three committed blocks (from FakeFeed), their receipts and some ledger records."""

    def __init__(self) -> None:
        self.chain = FakeFeed()
        self.txs = [aid_tx(n) for n in range(3)]
        for tx in self.txs:
            self.chain.commit(None, self.chain.make_block([tx]))
        self.receipt_reads: list[str] = []
        self.end_block_events: dict[int, tuple[dict[str, Any], ...]] = {}
        self.state = {
            record_key("household", "h1"): {"village": "530102001001", "status": "active"},
            record_key("fund", "f1"): {"area": "530102000000"},
            record_key("grants", "acct"): {"grants": []},
        }

    @property
    def height(self) -> int:
        return self.chain.head()

    def get_block(self, height: int) -> Any:
        return self.chain.blocks[height - 1].block

    def get_certificate(self, height: int) -> Any:
        return self.chain.blocks[height - 1].certificate

    def get_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        self.receipt_reads.append(tx_hash)
        return {"ok": True, "events": [], "touched": []}

    def get_end_block_events(self, height: int) -> tuple[dict[str, Any], ...]:
        return self.end_block_events.get(height, ())

    def get_tx(self, tx_hash: str) -> tuple[Any, int, int] | None:
        for height, tx in enumerate(self.txs, start=1):
            if tx.hash == tx_hash:
                return tx, height, 0
        return None

    def get_state(self, key: str) -> Any | None:
        return self.state.get(key)


def make() -> tuple[NodeFeed, Store, Any]:
    store = Store()
    pending = aid_tx(9)
    node = SimpleNamespace(
        store=store,
        mempool=SimpleNamespace(get=lambda h: pending if h == pending.hash else None),
        sync=SimpleNamespace(active=False),
        peers=SimpleNamespace(connected=lambda: ["a", "b"]),
    )
    return NodeFeed(node), store, pending  # type: ignore[arg-type]


def test_replayed_blocks_read_receipts_only_when_asked() -> None:
    feed, store, _ = make()
    assert feed.head() == 3
    assert feed.committed(0) is None and feed.committed(4) is None
    got = feed.committed(2)
    assert got is not None and got.block.height == 2 and got.certificate.height == 2
    assert store.receipt_reads == []  # a blocks subscription never needs them
    assert len(got.receipts) == 1 and got.receipts[0]["ok"] is True
    assert got.receipts[0:1][0]["ok"] is True
    assert store.receipt_reads == [store.txs[1].hash]  # read once, then kept


def test_tx_status_committed_pending_unknown() -> None:
    feed, store, pending = make()
    done = feed.tx_status(store.txs[2].hash)
    assert (done.status, done.height, done.receipt) == (
        "committed",
        3,
        {
            "ok": True,
            "events": [],
            "touched": [],
        },
    )
    assert feed.tx_status(pending.hash).status == "pending"
    assert feed.tx_status("ab" * 32).status == "unknown"


def test_entity_areas_and_area_prefixes() -> None:
    feed, _, _ = make()
    refs = ["household/h1", "fund/f1", "grants/acct", "household/nope", "spaceship/x"]
    assert feed.entity_areas(refs) == ("530102001001", "530102000000")
    assert feed.area_prefix("530102000000") == "530102"
    assert feed.area_prefix("530102001001") == "530102001001"
    assert feed.area_prefix("530100001000") is None  # not a division code
    assert "household" in feed.entity_kinds and "proposal" in feed.entity_kinds
    assert feed.sync_status() == {"height": 3, "syncing": False, "peers": 2}
