"""An in-memory NodeAPI with real transaction validation, and helpers to serve it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from chain.crypto import KeyPair
from chain.errors import BadNonce, MempoolFull, NotYetProvable, UnknownTx, WrongChain
from chain.tx import make_transfer, tx_verified_from_dict
from rpc.replies import ReplyBudget
from rpc.server import ReplyLimits, create_rpc_app, dispatch

CHAIN_ID = "test-chain"


class FakeNode:
    """Implements rpc.api.NodeAPI; ``fail_with`` makes the next call raise that exception."""

    def __init__(self, mempool_capacity: int = 100) -> None:
        self.mempool: dict[str, dict[str, Any]] = {}
        self.nonces: dict[str, int] = {}
        self.capacity = mempool_capacity
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail_with: BaseException | None = None

    def _enter(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc

    async def tx_send(self, tx: Any) -> str:
        self._enter("tx_send", tx)
        parsed = tx_verified_from_dict(tx)
        if parsed.hash in self.mempool:
            return parsed.hash
        if parsed.chain_id != CHAIN_ID:
            raise WrongChain(f"chain_id {parsed.chain_id!r} is not {CHAIN_ID!r}")
        expected = self.nonces.get(parsed.sender, 0)
        if parsed.nonce != expected:
            raise BadNonce(f"nonce {parsed.nonce} is not {expected}", expected=expected)
        if len(self.mempool) >= self.capacity:
            raise MempoolFull("mempool is full", capacity=self.capacity)
        self.mempool[parsed.hash] = tx
        self.nonces[parsed.sender] = expected + 1
        return parsed.hash

    async def tx_get(self, hash: str) -> dict[str, Any] | None:
        self._enter("tx_get", hash)
        tx = self.mempool.get(hash)
        if tx is None:
            return None
        return {
            "hash": hash,
            "status": "pending",
            "height": None,
            "index": None,
            "tx": tx,
            "receipt": None,
        }

    async def tx_proof(self, hash: str) -> dict[str, Any]:
        """The fake commits nothing: its transactions are pending or unknown."""
        self._enter("tx_proof", hash)
        if hash in self.mempool:
            raise NotYetProvable("the transaction is pending", status="pending")
        raise UnknownTx(f"no committed or pending transaction {hash}")

    async def block_get(self, height: int | str) -> dict[str, Any] | None:
        self._enter("block_get", height)
        head = 3
        h = head if height == "latest" else height
        assert isinstance(h, int)
        if h > head:
            return None
        return {"height": h, "hash": f"{h:064x}", "txs": []}

    async def account_get(self, address: str) -> dict[str, Any]:
        self._enter("account_get", address)
        return {"address": address, "balance": 1000, "nonce": self.nonces.get(address, 0)}

    async def node_status(self) -> dict[str, Any]:
        self._enter("node_status")
        return {"node_id": "ab" * 32, "chain_id": CHAIN_ID, "height": 3, "名": "节点"}

    async def contract_call(
        self, contract: str, method: str, args: dict[str, Any], gas: int | None, sender: str | None
    ) -> dict[str, Any]:
        self._enter("contract_call", contract, method, args, gas, sender)
        return {"contract": contract, "method": method, "args": args, "gas": gas, "sender": sender}

    async def contract_get(self, address: str) -> dict[str, Any] | None:
        self._enter("contract_get", address)
        return None

    async def aid_get(self, kind: str, id: str) -> dict[str, Any] | None:
        self._enter("aid_get", kind, id)
        return None

    async def aid_list(
        self, kind: str, filters: dict[str, str], cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        self._enter("aid_list", kind, filters, cursor, limit)
        return {"items": [], "next_cursor": None}

    async def aid_history(
        self, kind: str, id: str, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        self._enter("aid_history", kind, id, cursor, limit)
        return {"items": [], "next_cursor": None}

    async def aid_trace(self, kind: str, id: str) -> dict[str, Any]:
        self._enter("aid_trace", kind, id)
        return {"root": f"{kind}/{id}", "nodes": [], "links": [], "truncated": False}

    async def aid_check(self, tx: Any) -> dict[str, Any]:
        self._enter("aid_check", tx)
        return {"ok": True, "events": [], "touched": [], "gas_used": 0}

    async def aid_policy(self) -> dict[str, Any]:
        self._enter("aid_policy")
        return {"policy": None, "orgs": [], "area_count": 0}

    async def aid_areas(self, under: str | None) -> dict[str, Any]:
        self._enter("aid_areas", under)
        return {"under": under, "items": []}

    async def aid_stats(self, area: str, period: str | None) -> dict[str, Any]:
        self._enter("aid_stats", area, period)
        return {"kind": "stats", "area": area, "period": period or "all", "counters": {}}

    async def aid_report(self, kind: str, area: str, period: str | None) -> dict[str, Any]:
        self._enter("aid_report", kind, area, period)
        return {"kind": kind, "area": area, "period": period or "all"}


def transfer(
    key: KeyPair, nonce: int = 0, chain_id: str = CHAIN_ID, amount: int = 5
) -> dict[str, Any]:
    return make_transfer(key, chain_id, nonce, "cd" * 32, amount).to_dict()


@asynccontextmanager
async def serve(node: FakeNode, **kwargs: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """A real aiohttp server on a free loopback port around ``create_rpc_app(node)``."""
    client: TestClient[Any, Any] = TestClient(TestServer(create_rpc_app(node, **kwargs)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def answer(
    node: Any,
    body: bytes,
    *,
    max_batch: int = 10,
    max_reply_bytes: int = 1 << 20,
    budget: ReplyBudget | None = None,
) -> Any:
    """``dispatch`` decoded: the response value, or None when no reply is due."""
    bounds = ReplyLimits(max_batch, max_reply_bytes, budget or ReplyBudget(64 << 20))
    reply = await dispatch(node, body, bounds)
    if reply is None:
        return None
    try:
        return json.loads(reply.take_body())
    finally:
        reply.release()
