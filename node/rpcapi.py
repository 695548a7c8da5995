"""The node's implementation of the JSON-RPC method set (rpc.api.NodeAPI).

Only reads and admission live here; every rule is in the mempool, executor or contracts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chain import limits
from chain.tx import tx_from_dict

if TYPE_CHECKING:
    from node.daemon import Node


class ReadOnlyState:
    """Committed world state for read-only contract queries; writes are refused."""

    def __init__(self, node: Node) -> None:
        self._store = node.store

    def get(self, key: str) -> Any | None:
        return self._store.get_state(key)

    def set(self, key: str, value: Any) -> None:
        raise PermissionError("read-only state")

    def delete(self, key: str) -> None:
        raise PermissionError("read-only state")


class NodeRpc:
    def __init__(self, node: Node) -> None:
        self.node = node

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
            "stats": {
                "node": dict(node.stats),
                "consensus": dict(node.replica.stats),
                "mempool": dict(node.mempool.stats),
                "peers": dict(node.peers.stats),
                "sync": dict(node.sync.stats),
            },
        }

    def _ctx(self) -> Any:
        from contracts.runtime import CallContext

        store = self.node.store
        return CallContext(height=store.height, time=store.head_time, tx_hash="")

    async def contract_call(
        self, contract: str, method: str, args: dict[str, Any], gas: int | None, sender: str | None
    ) -> dict[str, Any]:
        from contracts import runtime

        result = runtime.query(
            ReadOnlyState(self.node),
            contract=contract,
            method=method,
            args=args,
            gas=min(gas or limits.DEFAULT_CALL_GAS, limits.MAX_CALL_GAS),
            ctx=self._ctx(),
            sender=sender,
        )
        return result.to_receipt()

    async def contract_get(self, address: str) -> dict[str, Any] | None:
        from contracts import runtime

        return runtime.get_contract(ReadOnlyState(self.node), address)
