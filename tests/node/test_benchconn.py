"""node.benchconn.Failover: a bench client moves to the next node when its node is lost."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from node import benchconn
from node.benchconn import Failover
from rpc.client import RpcTransportError


class FakeNode:
    """A connection to one node: answers every batch, or fails every one (a killed node)."""

    def __init__(self, url: str, dead: set[str], log: list[str]) -> None:
        self.url, self.dead, self.log = url, dead, log
        self.closed = False

    async def batch(self, calls: list[Any]) -> list[Any]:
        await asyncio.sleep(0)  # let concurrent batches reach the same connection
        self.log.append(self.url)
        if self.url in self.dead:
            raise RpcTransportError(f"{self.url}: websocket closed by the node (code 1006)")
        return [f"{self.url}:{i}" for i, _ in enumerate(calls)]

    async def close(self) -> None:
        self.closed = True


@pytest.fixture
def nodes(monkeypatch: pytest.MonkeyPatch) -> tuple[set[str], list[str], list[FakeNode]]:
    """Patch ``connect``: names in ``unreachable`` refuse connections, those in ``dead`` fail
    batches; every connection made is listed."""
    dead: set[str] = set()
    log: list[str] = []
    made: list[FakeNode] = []
    unreachable = dead  # a dead node also refuses new connections

    async def connect(url: str, transport: str) -> FakeNode:
        if url in unreachable and made:
            raise RpcTransportError(f"{url}: Cannot connect to host")
        node = FakeNode(url, dead, log)
        made.append(node)
        return node

    monkeypatch.setattr(benchconn, "connect", connect)
    monkeypatch.setattr(benchconn, "RECONNECT_PAUSE_S", 0.0)
    return dead, log, made


async def test_a_lost_node_moves_the_client_on_once_for_all_batches_in_flight(
    nodes: tuple[set[str], list[str], list[FakeNode]],
) -> None:
    dead, log, made = nodes
    conn = Failover(["a", "b", "c"], 0, "ws")
    assert await conn.batch([("tx_send", {})]) == ["a:0"]
    dead.add("a")
    # eight batches were in flight on a's connection when it died: all are answered by b
    answers = await asyncio.gather(*(conn.batch([("tx_send", {})]) for _ in range(8)))
    assert answers == [["b:0"]] * 8
    assert log.count("b") == 8  # each batch sent again exactly once
    assert conn.lost == 1 and conn.url == "b"
    assert [n.url for n in made] == ["a", "b"] and made[0].closed
    await conn.close()
    assert made[1].closed


async def test_the_client_starts_on_its_own_node_and_wraps_around(
    nodes: tuple[set[str], list[str], list[FakeNode]],
) -> None:
    dead, _, made = nodes
    conn = Failover(["a", "b", "c"], 2, "http")
    assert await conn.batch([("x", {})]) == ["c:0"]
    dead.add("c")
    assert await conn.batch([("x", {})]) == ["a:0"]
    assert [n.url for n in made] == ["c", "a"]


async def test_no_node_answering_ends_the_client_with_the_last_reason(
    nodes: tuple[set[str], list[str], list[FakeNode]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, _, _ = nodes
    monkeypatch.setattr(benchconn, "NODE_LOST_S", 0.05)
    conn = Failover(["a", "b"], 0, "ws")
    await conn.batch([("x", {})])
    dead.update({"a", "b"})
    with pytest.raises(RpcTransportError, match=r"no node of the cluster answered for 0 s"):
        await conn.batch([("x", {})])


async def test_a_batch_that_fails_everywhere_is_not_sent_for_ever(
    nodes: tuple[set[str], list[str], list[FakeNode]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, log, _ = nodes

    async def connect(url: str, transport: str) -> FakeNode:
        return FakeNode(url, dead, log)  # every node accepts the connection, then fails it

    monkeypatch.setattr(benchconn, "connect", connect)
    dead.update({"a", "b"})
    conn = Failover(["a", "b"], 0, "ws")
    with pytest.raises(RpcTransportError, match="code 1006"):
        await conn.batch([("x", {})])
    assert len(log) == benchconn.MAX_FAILOVERS_PER_BATCH
