"""The node's implementation of the JSON-RPC method set (rpc.api.NodeAPI).

It reads the running node through ``RpcHost``, an interface the daemon's ``Node`` satisfies, so
this module never imports the daemon (which builds it) and can be tested against a stand-in.
Only reads and admission live here; every rule is in the mempool, executor or contracts.
Read-only contract calls are the one method that can burn CPU on a client's say-so, so they run
on their own threads (never on the event loop that serves RPC and peer heartbeats), with their
own gas cap and a limit on how many run at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, overload

from aid.areas import area_prefix
from aid.errors import UnknownArea
from aid.ledger import ENTITY_KINDS
from aid.state import KINDS, record_key
from chain import limits
from chain.crypto import KeyPair
from chain.errors import Busy, ContractError, NotFound, NotYetProvable, UnknownTx
from chain.proof import build_proof
from chain.tx import Transaction, tx_from_dict
from node.aidapi import AidRpc
from node.auditexport import AuditRpc
from node.config import NodeConfig
from node.genesis import Genesis
from node.mempool import Mempool
from node.publicapi import PublicRpc
from node.software import SOFTWARE
from node.statsapi import StatsRpc
from rpc.notifications import Committed, TxStatus
from rpc.subscriptions import SubscriptionHub
from storage.chainstore import ChainStore


class Counted(Protocol):
    @property
    def stats(self) -> dict[str, int]: ...


class ConsensusState(Counted, Protocol):
    @property
    def view(self) -> int: ...
    @property
    def primary(self) -> str: ...


class PeerState(Counted, Protocol):
    def connected(self) -> list[str]: ...


class SyncState(Counted, Protocol):
    @property
    def active(self) -> bool: ...


class RpcHost(Protocol):
    """What the RPC methods read from the running node; ``node.daemon.Node`` implements it."""

    @property
    def cfg(self) -> NodeConfig: ...
    @property
    def key(self) -> KeyPair: ...
    @property
    def chain_id(self) -> str: ...
    @property
    def validators(self) -> tuple[str, ...]: ...
    @property
    def store(self) -> ChainStore: ...
    @property
    def genesis(self) -> Genesis: ...
    @property
    def mempool(self) -> Mempool: ...
    @property
    def replica(self) -> ConsensusState: ...
    @property
    def peers(self) -> PeerState: ...
    @property
    def sync(self) -> SyncState: ...
    @property
    def stats(self) -> dict[str, int]: ...
    @property
    def subscriptions(self) -> SubscriptionHub: ...
    def submit(self, tx: Transaction) -> str:
        """Admit a client transaction; raises typed errors; safe to retry."""
        ...


class ReadOnlyState:
    """Committed world state for read-only contract queries; writes are refused."""

    def __init__(self, node: RpcHost) -> None:
        self._store = node.store

    def get(self, key: str) -> Any | None:
        return self._store.get_state(key)

    def set(self, key: str, value: Any) -> None:
        raise PermissionError("read-only state")

    def delete(self, key: str) -> None:
        raise PermissionError("read-only state")


T = TypeVar("T")


class QueryRunner:
    """Runs read-only calls on at most ``max_concurrent`` threads; one more is refused as busy.

    A call counts until its thread finishes, not until its client goes away: a cancelled RPC
    handler cannot stop a running query, so its slot stays taken until the gas cap ends it.
    """

    def __init__(self, max_concurrent: int, name: str) -> None:
        self.max_concurrent = max_concurrent
        self._pool = ThreadPoolExecutor(
            max_workers=max_concurrent, thread_name_prefix=f"{name}-query"
        )
        self._lock = threading.Lock()
        self._running = 0
        self.stats = {"queries": 0, "queries_refused_busy": 0}

    def _release(self, _done: Future[Any] | None = None) -> None:
        with self._lock:
            self._running -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._running >= self.max_concurrent:
                self.stats["queries_refused_busy"] += 1
                raise Busy(
                    f"{self.max_concurrent} contract calls already running; retry later",
                    limit=self.max_concurrent,
                )
            self._running += 1
            self.stats["queries"] += 1
        try:
            future = self._pool.submit(fn)
        except RuntimeError:  # the pool is shut down: the node is stopping
            self._release()
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Wait for running queries (bounded by the gas cap): they read the store being closed."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _raise_failed_query(receipt: dict[str, Any], contract: str, gas: int) -> None:
    """A failed read-only call is a JSON-RPC error (docs/rpc.md), not a result with ok=false."""
    error_type = receipt["error_type"]
    if error_type == "NoSuchContract":
        raise NotFound(receipt["error"], contract=contract)
    raise ContractError(
        receipt["error"], error_type=error_type, gas_used=receipt["gas_used"], gas_limit=gas
    )


class NodeRpc(AidRpc, PublicRpc, AuditRpc, StatsRpc):
    def __init__(self, node: RpcHost) -> None:
        self.node = node
        self.queries = QueryRunner(node.cfg.rpc.max_concurrent_queries, node.cfg.name)
        self._aid_setup(node.store, node.genesis, self.queries)
        self._stats_setup(node.store, self.queries)

    def close(self) -> None:
        self.queries.close()

    async def tx_send(self, tx: Any) -> str:
        return self.node.submit(tx_from_dict(tx))

    async def tx_get(self, hash: str) -> dict[str, Any] | None:
        node = self.node
        found = node.store.get_tx(hash)
        if found is not None:
            tx, height, index = found
            return {
                "hash": hash,
                "status": "committed",
                "height": height,
                "index": index,
                "tx": tx.to_dict(),
                "receipt": node.store.get_receipt(hash),
            }
        pending = node.mempool.get(hash)
        if pending is not None:
            return {
                "hash": hash,
                "status": "pending",
                "height": None,
                "index": None,
                "tx": pending.to_dict(),
                "receipt": None,
            }
        return None

    async def tx_proof(self, hash: str) -> dict[str, Any]:
        """The proof document of a committed transaction (chain/proof.py, docs/proofs.md).

        Built on a worker thread: it reads and hashes the whole block (up to MAX_BLOCK_TXS
        transactions and receipts), which must not stall the event loop.
        """
        node = self.node
        if node.store.get_tx(hash) is None:
            if node.mempool.get(hash) is not None:
                raise NotYetProvable(
                    "the transaction is pending: it is not in a block yet", status="pending"
                )
            raise UnknownTx(f"no committed or pending transaction {hash}")
        return await asyncio.to_thread(self._tx_proof, hash)

    def _tx_proof(self, hash: str) -> dict[str, Any]:
        store = self.node.store
        found = store.get_tx(hash)
        assert found is not None  # committed transactions are never removed
        _tx, height, index = found
        next_header, cert = store.get_header(height + 1), store.get_certificate(height + 1)
        if next_header is None or cert is None:
            raise NotYetProvable(
                f"committed at height {height}, but its receipt is anchored by block "
                f"{height + 1}, which is not committed yet; ask again after the next block",
                status="committed",
                height=height,
            )
        loaded = store.get_block_and_receipts(height)
        assert loaded is not None, f"block {height} of a committed transaction is missing"
        block, receipts = loaded
        return build_proof(self.node.chain_id, block, receipts, index, next_header, cert)

    async def block_get(self, height: int | str) -> dict[str, Any] | None:
        store = self.node.store
        h = store.height if height == "latest" else int(height)
        header = store.get_header(h)
        if header is None:
            return None
        tx_hashes = store.get_block_tx_hashes(h) if h > 0 else []
        cert = store.get_certificate(h) if h > 0 else None
        return {
            "height": h,
            "hash": header.hash,
            "header": header.to_dict(),
            "txs": tx_hashes or [],
            "commit": [{"validator": v, "signature": s} for v, s in cert.signatures]
            if cert
            else [],
            "commit_view": cert.view if cert else None,
        }

    async def account_get(self, address: str) -> dict[str, Any]:
        balance, nonce = self.node.store.account(address)
        return {
            "address": address,
            "balance": balance,
            "nonce": nonce,
            "next_nonce": self.node.mempool.next_nonce(address, nonce),
        }

    async def node_status(self) -> dict[str, Any]:
        node = self.node
        return {
            "node_id": node.key.public_hex,
            "name": node.cfg.name,
            "chain_id": node.chain_id,
            "height": node.store.height,
            "head_hash": node.store.head_hash,
            "state_root": node.store.state_root,
            "view": node.replica.view,
            "primary": node.replica.primary,
            "validators": list(node.validators),
            "peers_connected": len(node.peers.connected()),
            "mempool_size": len(node.mempool),
            "syncing": node.sync.active,
            "software": dict(SOFTWARE),
            "stats": {
                "node": {**node.stats, "cpu_ms": round(time.process_time() * 1000)},
                "consensus": dict(node.replica.stats),
                "mempool": dict(node.mempool.stats),
                "peers": dict(node.peers.stats),
                "sync": dict(node.sync.stats),
                "queries": dict(self.queries.stats),
                "subscriptions": node.subscriptions.status(),
            },
        }

    def _ctx(self) -> Any:
        from contracts.runtime import CallContext

        store = self.node.store
        return CallContext(height=store.height, time=store.head_time, tx_hash="")

    async def contract_call(
        self, contract: str, method: str, args: dict[str, Any], gas: int | None, sender: str | None
    ) -> dict[str, Any]:
        """Run a method read-only on its own thread, with at most ``[rpc] query_gas_cap`` gas."""
        from contracts import runtime

        cap = min(gas or limits.DEFAULT_CALL_GAS, self.node.cfg.rpc.query_gas_cap)
        state, ctx = ReadOnlyState(self.node), self._ctx()

        def run() -> dict[str, Any]:
            result = runtime.query(
                state, contract=contract, method=method, args=args, gas=cap, ctx=ctx, sender=sender
            )
            return result.to_receipt()

        receipt = await self.queries.run(run)
        if not receipt["ok"]:
            _raise_failed_query(receipt, contract, cap)
        return receipt

    async def contract_get(self, address: str) -> dict[str, Any] | None:
        from contracts import runtime

        return runtime.get_contract(ReadOnlyState(self.node), address)


class _StoredReceipts(Sequence[dict[str, Any]]):
    """A replayed block's receipts, read from the store only if a subscription needs them."""

    def __init__(self, store: ChainStore, tx_hashes: list[str]) -> None:
        self._store = store
        self._hashes = tx_hashes
        self._read: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._hashes)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        receipt = self._read.get(index)
        if receipt is None:
            found = self._store.get_receipt(self._hashes[index])
            assert found is not None, "a committed transaction has a stored receipt"
            receipt = self._read[index] = found
        return receipt


class NodeFeed:
    """The subscription hub's view of the node (rpc.subscriptions.ChainFeed): the store for
    replay and areas, the mempool for pending transactions, peers and sync for the sync topic."""

    def __init__(self, node: RpcHost) -> None:
        self.node = node

    @property
    def entity_kinds(self) -> frozenset[str]:
        return ENTITY_KINDS

    def head(self) -> int:
        return self.node.store.height

    def committed(self, height: int) -> Committed | None:
        store = self.node.store
        if not 0 < height <= store.height:
            return None
        block, cert = store.get_block(height), store.get_certificate(height)
        if block is None or cert is None:
            return None
        receipts = _StoredReceipts(store, [tx.hash for tx in block.txs])
        return Committed(block, receipts, cert, store.get_end_block_events(height))

    def tx_status(self, tx_hash: str) -> TxStatus:
        store = self.node.store
        found = store.get_tx(tx_hash)
        if found is not None:
            return TxStatus("committed", found[1], store.get_receipt(tx_hash))
        if self.node.mempool.get(tx_hash) is not None:
            return TxStatus("pending")
        return TxStatus("unknown")

    def entity_areas(self, refs: Sequence[str]) -> tuple[str, ...]:
        areas = []
        for ref in refs:
            kind, _, ident = ref.partition("/")
            if kind not in KINDS:
                continue
            record = self.node.store.get_state(record_key(kind, ident))
            if isinstance(record, dict):
                area = record.get("area", record.get("village"))
                if isinstance(area, str):
                    areas.append(area)
        return tuple(areas)

    def area_prefix(self, code: str) -> str | None:
        try:
            return area_prefix(code)
        except UnknownArea:
            return None

    def sync_status(self) -> dict[str, Any]:
        node = self.node
        return {
            "height": node.store.height,
            "syncing": node.sync.active,
            "peers": len(node.peers.connected()),
        }
