"""The daemon executes blocks off the event loop and proposes within the block gas limit."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate
from chain.gas import block_gas
from chain.keyfile import load_key
from chain.tx import Transaction, make_transfer, sign_tx
from node.cluster import init_cluster
from node.config import load_config
from node.daemon import Node

LIMIT = limits.MIN_BLOCK_GAS_LIMIT + 5  # one maximal call and some small txs, not two calls


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    init_cluster(tmp_path / "c", base_port=0, block_gas_limit=LIMIT)
    n = Node(load_config(tmp_path / "c" / "node0" / "config.toml"))
    n.peers.broadcast = lambda message: 0  # type: ignore[method-assign]
    n.peers.send = lambda peer, message: False  # type: ignore[method-assign]
    yield n
    n._exec.shutdown(wait=True)
    n.rpc_api.close()
    n._io.shutdown(wait=True)
    n.store.close()


def _account(tmp_path: Path, j: int) -> Any:
    return load_key(tmp_path / "c" / "accounts" / f"acct{j}.key")


def _call(key: Any, chain_id: str, nonce: int, gas: int) -> Transaction:
    payload = {"contract": "ab" * 32, "method": "m", "args": {}, "gas": gas}
    return sign_tx(key, chain_id, nonce, "call", payload)


def test_the_node_takes_its_block_gas_limit_from_the_genesis(node: Node) -> None:
    assert node.genesis.block_gas_limit == node.executor.block_gas_limit == LIMIT


def test_the_offer_stops_adding_contract_calls_at_the_gas_limit(node: Node, tmp_path: Path) -> None:
    a, b = _account(tmp_path, 0), _account(tmp_path, 1)
    heavy = [_call(a, node.chain_id, i, limits.MAX_CALL_GAS) for i in range(3)]
    small = _call(b, node.chain_id, 0, 5)
    pay = make_transfer(b, node.chain_id, 1, a.public_hex, 1)
    for tx in [*heavy, small, pay]:
        assert node.mempool.add(tx)
    offered: list[tuple[Sequence[Transaction], bool]] = []

    def on_request(batch: Sequence[Transaction], *, full: bool = False) -> list[Any]:
        offered.append((batch, full))
        return []

    node.replica.on_request = on_request  # type: ignore[method-assign]
    node._fresh_offer()
    batch, full = offered[0]
    assert [tx.hash for tx in batch] == [heavy[0].hash, small.hash, pay.hash]
    assert sum(block_gas(tx) for tx in batch) <= node.executor.block_gas_limit
    # the two heavy calls left out fill the block: the replica proposes it without pacing
    assert full is True


async def test_a_committed_block_executes_on_the_execution_thread(node: Node) -> None:
    header = BlockHeader(
        1,
        node.store.head_hash,
        EMPTY_ROOT,
        0,
        node.store.state_root,
        EMPTY_ROOT,
        1,
        node.validators[0],
        0,
    )
    block = Block(header, ())
    threads: list[str] = []
    execute = node.executor.execute

    def recording(b: Block) -> Any:
        threads.append(threading.current_thread().name)
        return execute(b)

    node.executor.execute = recording  # type: ignore[method-assign]
    await node._tick()
    await node.apply_block(block, CommitCertificate(1, block.hash, 0, ()))
    assert node.store.height == 1
    assert threads == [f"{node.cfg.name}-exec_0"]


async def test_the_replica_drops_the_block_then_learns_the_time_then_gets_the_offer(
    node: Node,
) -> None:
    header = BlockHeader(
        1,
        node.store.head_hash,
        EMPTY_ROOT,
        0,
        node.store.state_root,
        EMPTY_ROOT,
        1,
        node.validators[0],
        0,
    )
    block = Block(header, ())
    calls: list[str] = []
    replica = node.replica
    applied, ticked, requested = replica.on_block_applied, replica.on_tick, replica.on_request

    def track(name: str, fn: Any) -> Any:
        def inner(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return fn(*args, **kwargs)

        return inner

    replica.on_block_applied = track("applied", applied)  # type: ignore[method-assign]
    replica.on_tick = track("tick", ticked)  # type: ignore[method-assign]
    replica.on_request = track("offer", requested)  # type: ignore[method-assign]
    await node.apply_block(block, CommitCertificate(1, block.hash, 0, ()))
    assert calls == ["applied", "tick", "offer"]
