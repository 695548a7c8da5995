"""A bench client's connection to the cluster, which moves to the next node when its node is lost.

Testers kill nodes during a benchmark on purpose, and an integrator whose agency's node goes
down sends to another agency's node. So does the bench: each client starts on its own node and,
when that connection fails, the next caller to notice moves the client to the next node in the
cluster's list; every batch that failed is then sent again there (``tx_send`` is idempotent).
``Failover.lost`` counts the moves for the report.

Giving up is bounded: a client that reaches no node for ``NODE_LOST_S`` raises
``RpcTransportError`` naming the last failure, and one batch that fails on
``MAX_FAILOVERS_PER_BATCH`` connections in a row is not sent again.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rpc.client import RpcClient, RpcError, RpcTransportError
from rpc.client.http import Calls
from rpc.client.sdk import endpoints
from rpc.client.ws import WsRpc

NODE_LOST_S = 30.0  # no node of the cluster answered for this long: the client gives up
RECONNECT_PAUSE_S = 0.2  # between attempts to connect to the next node
MAX_FAILOVERS_PER_BATCH = 8  # connections one batch may fail on before the client gives up
CONNECT_TIMEOUT_S = 60.0  # per request on a connection (a loaded node answers late, not never)


def nodes_lost(last: Exception) -> RpcTransportError:
    """The error that ends a client (or the watcher) that reached no node for ``NODE_LOST_S``."""
    return RpcTransportError(
        f"no node of the cluster answered for {NODE_LOST_S:.0f} s (last: {last})"
    )


async def connect(url: str, transport: str) -> RpcClient | WsRpc:
    """A connection to the node at ``url``: a WebSocket (``ws``) or HTTP POSTs (``http``)."""
    if transport == "http":
        return RpcClient(url, timeout=CONNECT_TIMEOUT_S)
    ws = WsRpc(endpoints(url)[1], timeout=CONNECT_TIMEOUT_S)
    await ws.connect()
    return ws


class Failover:
    """``await conn.batch(calls)`` on the current node, moving on when it is lost."""

    def __init__(self, urls: list[str], first: int, transport: str) -> None:
        if not urls:
            raise ValueError("a cluster has at least one node")
        self.urls = urls
        self.transport = transport
        self.lost = 0  # times this client moved to the next node
        self._index = first
        self._rpc: RpcClient | WsRpc | None = None
        self._generation = 0  # bumped at every move, so one failure moves the client once
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return self.urls[self._index % len(self.urls)]

    async def batch(self, calls: Calls) -> list[Any | RpcError]:
        """The batch's results from the first node that answers it."""
        failures = 0
        while True:
            rpc, generation = await self._connection()
            try:
                return await rpc.batch(calls)
            except RpcTransportError:
                failures += 1
                if failures >= MAX_FAILOVERS_PER_BATCH:
                    raise
                await self._move_on(generation)

    async def close(self) -> None:
        async with self._lock:
            rpc, self._rpc = self._rpc, None
        if rpc is not None:
            await rpc.close()

    async def _connection(self) -> tuple[RpcClient | WsRpc, int]:
        async with self._lock:
            deadline = time.monotonic() + NODE_LOST_S
            while self._rpc is None:
                try:
                    self._rpc = await connect(self.url, self.transport)
                except RpcTransportError as exc:
                    if time.monotonic() > deadline:
                        raise nodes_lost(exc) from exc
                    self._index += 1
                    await asyncio.sleep(RECONNECT_PAUSE_S)
            return self._rpc, self._generation

    async def _move_on(self, generation: int) -> None:
        """The connection of ``generation`` failed: drop it and take the next node, once."""
        async with self._lock:
            if generation != self._generation:
                return  # another batch on the same connection already moved the client
            rpc, self._rpc = self._rpc, None
            self._generation += 1
            self._index += 1
            self.lost += 1
        if rpc is not None:
            await rpc.close()
