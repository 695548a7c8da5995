"""The daemon's ports under the shared runner: a vote is journaled in LevelDB before it is sent.

The runner's ordering rules are tested with in-memory ports in tests/consensus/test_runner.py;
these tests check the daemon wires the real journal, transport and block applier into it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chain.crypto import KeyPair
from chain.errors import EncodingError, TooLarge
from chain.tx import make_transfer
from chain.wire import tx_to_wire
from consensus.actions import Broadcast, ForwardTxs, Persist, Send
from consensus.messages import Message, make_commit, make_prepare
from node import ports as ports_mod
from node.cluster import init_cluster
from node.config import load_config
from node.daemon import Node
from node.lograte import RateLimitedLog
from node.ports import PeerTransport, consensus_envelope, gossip_chunks, wire_with_bound


class Recorder:
    """A peer network that records what the transport hands it."""

    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def broadcast(self, message: dict[str, Any]) -> int:
        self.log.append(("broadcast", message["m"]["type"]))
        return 3

    def send(self, peer: str, message: dict[str, Any]) -> bool:
        self.log.append(("send", message["m"]["type"]))
        return True


def transport(network: Any) -> PeerTransport:
    return PeerTransport(network, max_txs=256, max_message_bytes=1 << 20)


def record_sends(node: Node, log: list[Any]) -> None:
    node.runner.transport = transport(Recorder(log))  # type: ignore[arg-type]


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    init_cluster(tmp_path / "c", base_port=0)
    n = Node(load_config(tmp_path / "c" / "node0" / "config.toml"))
    yield n
    n._io.shutdown(wait=True)
    n.store.close()


async def test_persist_happens_before_the_sends_that_follow_it(node: Node) -> None:
    log: list[Any] = []
    record_sends(node, log)
    append = node.store.journal_append

    def journal(records: Any) -> None:
        log.append(("journal", [r["n"] for r in records]))
        append(records)

    node.store.journal_append = journal  # type: ignore[method-assign]
    prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    commit = make_commit(node.key, node.chain_id, 0, 1, "ab" * 32)
    peer = node.validators[1]
    await node.perform(
        [
            Persist({"height": 1, "n": 1}),
            Persist({"height": 1, "n": 2}),
            Broadcast(prep),
            Persist({"height": 1, "n": 3}),
            Send(peer, commit),
            Persist({"height": 1, "n": 4}),
        ]
    )
    assert log == [
        ("journal", [1, 2]),  # consecutive records: one synced batch
        ("broadcast", "prepare"),
        ("journal", [3]),
        ("send", "commit"),
        ("journal", [4]),  # a trailing record is written too
    ]
    assert [r["n"] for r in node.store.journal_load()] == [1, 2, 3, 4]


async def test_a_failed_journal_write_sends_nothing(node: Node) -> None:
    log: list[Any] = []
    record_sends(node, log)

    def broken(records: Any) -> None:
        raise OSError("disk full")

    node.store.journal_append = broken  # type: ignore[method-assign]
    prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    with pytest.raises(OSError):
        await node.perform([Persist({"height": 1}), Broadcast(prep)])
    assert log == []


async def test_a_committed_block_that_cannot_be_applied_stops_the_node(node: Node) -> None:
    from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate

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

    def failing_commit(*args: Any) -> None:
        raise OSError("I/O error")

    node.store.commit_block = failing_commit  # type: ignore[method-assign]
    fatal = node.fatal  # what run_node waits on; ticks in between must not replace it
    record_sends(node, [])
    await node._tick()
    with pytest.raises(OSError):
        await node.apply_block(block, CommitCertificate(1, block.hash, 0, ()))
    assert fatal.is_set()
    assert node.store.height == 0


def test_log_lines_carry_node_view_and_height(node: Node) -> None:
    import logging

    from node.daemon import LOG_FORMAT, NodeLogContext

    context = NodeLogContext("node0")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    context.filter(record)
    assert (
        logging.Formatter(LOG_FORMAT).format(record).endswith("node=node0 view=- height=- x: hello")
    )
    context.source = node
    context.filter(record)
    assert (
        logging.Formatter(LOG_FORMAT).format(record).endswith("node=node0 view=0 height=0 x: hello")
    )


async def test_an_unsendable_consensus_message_is_a_rate_limited_line_not_a_traceback(
    node: Node, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled cluster retransmitting an unencodable message must not log a traceback each time."""
    monkeypatch.setattr(ports_mod, "ratelimited", RateLimitedLog(limit=3, window_s=60))

    class Refusing:
        def broadcast(self, message: dict[str, Any]) -> int:
            raise EncodingError("value nested too deeply")

        def send(self, peer: str, message: dict[str, Any]) -> bool:
            raise TooLarge("peer message too large", size=2, limit=1)

    node.runner.transport = transport(Refusing())  # type: ignore[arg-type]
    prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    await node.perform([Broadcast(prep), Send(node.validators[1], prep)] * 50)  # does not raise
    lines = [r for r in caplog.records if r.name == "node.ports"]
    assert len(lines) == 3
    assert all(r.exc_info is None for r in lines)
    assert "cannot send Prepare: value nested too deeply" in lines[0].getMessage()


def test_the_daemon_wires_its_real_ports_into_the_shared_runner(node: Node) -> None:
    from consensus.runner import Runner
    from node.ports import StoreJournal, SyncFetcher

    runner = node.runner
    assert isinstance(runner, Runner)
    assert isinstance(runner.journal, StoreJournal) and runner.journal.store is node.store
    assert isinstance(runner.transport, PeerTransport) and runner.transport.peers is node.peers
    assert runner.blocks is node
    assert isinstance(runner.sync, SyncFetcher) and runner.sync.sync is node.sync


def test_a_consensus_message_travels_in_its_envelope(node: Node) -> None:
    prep: Message = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    envelope = consensus_envelope(prep)
    assert envelope["k"] == "c" and envelope["m"]["type"] == "prepare"


def test_the_byzantine_launcher_changes_only_what_the_node_sends(tmp_path: Path) -> None:
    """tests/byzantine_node.py builds the production Node and wraps its transport port."""
    from consensus.byzantine import Equivocator
    from tests.byzantine_node import byzantine_node

    init_cluster(tmp_path / "c", base_port=0)
    node = byzantine_node("equivocate")(load_config(tmp_path / "c" / "node0" / "config.toml"))
    try:
        liar = node.runner.transport
        assert isinstance(liar, Equivocator) and isinstance(liar.inner, PeerTransport)
        sent: list[tuple[str, str]] = []

        class Wire:
            def send(self, peer: str, message: dict[str, Any]) -> bool:
                sent.append((peer, message["m"]["block_hash"]))
                return True

        liar.inner = transport(Wire())  # type: ignore[arg-type]
        prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
        liar.broadcast(prep)
        peers = [v for v in node.validators if v != node.key.public_hex]
        assert [p for p, _ in sent] == peers
        hashes = [h for _, h in sent]
        assert hashes[0] == "ab" * 32  # the first half hears the truth...
        assert hashes[1] == hashes[2] != "ab" * 32  # ...the rest one conflicting vote
    finally:
        node._io.shutdown(wait=True)
        node._exec.shutdown(wait=True)
        node.rpc_api.close()
        node.store.close()


def test_gossip_chunks_keep_to_the_count_and_the_message_size() -> None:
    items = [(f"tx{i}", 100) for i in range(10)]
    by_count = list(gossip_chunks(items, max_txs=4, max_message_bytes=1 << 20))
    assert [m["txs"] for m in by_count] == [
        ["tx0", "tx1", "tx2", "tx3"],
        ["tx4", "tx5", "tx6", "tx7"],
        ["tx8", "tx9"],
    ]
    assert all(m["k"] == "txs" for m in by_count)
    budget = ports_mod.GOSSIP_ENVELOPE_BYTES + 250  # room for two bounds of 100
    by_size = list(gossip_chunks(items, max_txs=256, max_message_bytes=budget))
    assert [len(m["txs"]) for m in by_size] == [2, 2, 2, 2, 2]
    huge = [("big", 10_000), ("small", 1)]  # one tx over the budget still travels, alone
    assert [m["txs"] for m in gossip_chunks(huge, 256, budget)] == [["big"], ["small"]]
    assert list(gossip_chunks([], 256, budget)) == []


async def test_forwarded_transactions_go_to_the_one_peer_as_gossip(node: Node) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    class Wire:
        def send(self, peer: str, message: dict[str, Any]) -> bool:
            sent.append((peer, message))
            return True

    key = KeyPair.generate()
    txs = tuple(make_transfer(key, node.chain_id, n, key.public_hex, 1) for n in range(5))
    wire = Wire()
    node.runner.transport = PeerTransport(wire, max_txs=2, max_message_bytes=1 << 20)  # type: ignore[arg-type]
    primary = node.validators[1]
    await node.perform([ForwardTxs(primary, txs)])
    assert [peer for peer, _m in sent] == [primary] * 3
    assert [m["txs"] for _p, m in sent] == [
        [tx_to_wire(t) for t in txs[:2]],
        [tx_to_wire(t) for t in txs[2:4]],
        [tx_to_wire(txs[4])],
    ]
    assert wire_with_bound(txs[0]) == (tx_to_wire(txs[0]), 2 * txs[0].size + 3)
