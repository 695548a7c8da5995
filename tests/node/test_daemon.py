"""The runtime carries out replica actions in order: a vote is journaled before it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chain.errors import EncodingError, TooLarge
from consensus.actions import Broadcast, Persist, Send
from consensus.messages import make_commit, make_prepare
from node import daemon as daemon_mod
from node.cluster import init_cluster
from node.config import load_config
from node.daemon import Node
from node.lograte import RateLimitedLog


class Recorder:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def broadcast(self, message: dict[str, Any]) -> int:
        self.log.append(("broadcast", message["m"]["type"]))
        return 3

    def send(self, peer: str, message: dict[str, Any]) -> bool:
        self.log.append(("send", message["m"]["type"]))
        return True


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    init_cluster(tmp_path / "c", base_port=0)
    n = Node(load_config(tmp_path / "c" / "node0" / "config.toml"))
    yield n
    n._io.shutdown(wait=True)
    n.store.close()


async def test_persist_happens_before_the_sends_that_follow_it(node: Node) -> None:
    log: list[Any] = []
    node.peers = Recorder(log)  # type: ignore[assignment]
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
    node.peers = Recorder(log)  # type: ignore[assignment]

    def broken(records: Any) -> None:
        raise OSError("disk full")

    node.store.journal_append = broken  # type: ignore[method-assign]
    prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    with pytest.raises(OSError):
        await node.perform([Persist({"height": 1}), Broadcast(prep)])
    assert log == []


async def test_a_committed_block_that_cannot_be_applied_stops_the_node(node: Node) -> None:
    from chain.block import Block, BlockHeader, CommitCertificate, merkle_root

    header = BlockHeader(
        1, node.store.head_hash, merkle_root([]), node.store.state_root, 1, node.validators[0], 0
    )
    block = Block(header, ())

    def failing_commit(*args: Any) -> None:
        raise OSError("I/O error")

    node.store.commit_block = failing_commit  # type: ignore[method-assign]
    fatal = node.fatal  # what run_node waits on; ticks in between must not replace it
    node.peers = Recorder([])  # type: ignore[assignment]
    await node._tick()
    with pytest.raises(OSError):
        await node._apply_block(block, CommitCertificate(1, block.hash, 0, ()))
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
    monkeypatch.setattr(daemon_mod, "ratelimited", RateLimitedLog(limit=3, window_s=60))

    class Refusing:
        def broadcast(self, message: dict[str, Any]) -> int:
            raise EncodingError("value nested too deeply")

        def send(self, peer: str, message: dict[str, Any]) -> bool:
            raise TooLarge("peer message too large", size=2, limit=1)

    node.peers = Refusing()  # type: ignore[assignment]
    prep = make_prepare(node.key, node.chain_id, 0, 1, "ab" * 32)
    await node.perform([Broadcast(prep), Send(node.validators[1], prep)] * 50)  # does not raise
    lines = [r for r in caplog.records if r.name == "node.daemon"]
    assert len(lines) == 3
    assert all(r.exc_info is None for r in lines)
    assert "cannot send Prepare: value nested too deeply" in lines[0].getMessage()
