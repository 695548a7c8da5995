"""The shared runner carries out actions in order against in-memory ports: no disk, no network."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate
from chain.crypto import KeyPair
from consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    FetchBlocks,
    Persist,
    PruneJournal,
    Send,
)
from consensus.byzantine import Equivocator, conflicting
from consensus.messages import (
    Commit,
    Message,
    Prepare,
    PrePrepare,
    make_commit,
    make_pre_prepare,
    make_prepare,
)
from consensus.runner import PortSuspended, Runner, run_now

KEY = KeyPair.from_seed(b"\x01" * 32)
CHAIN = "test-chain"


class Ports:
    """Every port in one object, recording each call in order."""

    def __init__(self, reaction: Sequence[Action] = ()) -> None:
        self.log: list[Any] = []
        self.reaction = list(reaction)

    async def append(self, records: Sequence[Any]) -> None:
        self.log.append(("journal", [r["n"] for r in records]))

    async def prune(self, below_height: int) -> None:
        self.log.append(("prune", below_height))

    def broadcast(self, msg: Message) -> None:
        self.log.append(("broadcast", type(msg).__name__))

    def send(self, to: str, msg: Message) -> None:
        self.log.append(("send", to, type(msg).__name__))

    async def apply_block(self, block: Block, cert: CommitCertificate) -> Sequence[Action]:
        self.log.append(("apply", block.height))
        reaction, self.reaction = self.reaction, []
        return reaction

    def fetch(self, from_height: int, peers: tuple[str, ...]) -> None:
        self.log.append(("fetch", from_height, peers))


def runner(ports: Ports) -> Runner:
    return Runner(journal=ports, transport=ports, blocks=ports, sync=ports)


def prepare(height: int = 1) -> Prepare:
    return make_prepare(KEY, CHAIN, 0, height, "ab" * 32)


def block(height: int = 1) -> Block:
    return Block(
        BlockHeader(height, "00" * 32, EMPTY_ROOT, 0, "11" * 32, EMPTY_ROOT, 1, KEY.public_hex, 0),
        (),
    )


def test_records_are_journaled_in_one_batch_before_the_send_that_follows_them() -> None:
    ports = Ports()
    run_now(
        runner(ports).perform(
            [
                Persist({"height": 1, "n": 1}),
                Persist({"height": 1, "n": 2}),
                Broadcast(prepare()),
                Persist({"height": 1, "n": 3}),
                Send("peer", prepare()),
                Persist({"height": 1, "n": 4}),
            ]
        )
    )
    assert ports.log == [
        ("journal", [1, 2]),
        ("broadcast", "Prepare"),
        ("journal", [3]),
        ("send", "peer", "Prepare"),
        ("journal", [4]),  # a trailing record is written too
    ]


def test_a_committed_blocks_reaction_runs_after_the_rest_of_the_list() -> None:
    b = block()
    cert = CommitCertificate(1, b.hash, 0, ())
    ports = Ports(reaction=[Persist({"height": 2, "n": 9}), FetchBlocks(3, ("p",))])
    run_now(
        runner(ports).perform(
            [CommitBlock(b, cert), Broadcast(prepare()), PruneJournal(below_height=1)]
        )
    )
    assert ports.log == [
        ("apply", 1),
        ("broadcast", "Prepare"),
        ("prune", 1),
        ("journal", [9]),
        ("fetch", 3, ("p",)),
    ]


def test_a_synced_block_is_applied_and_its_reaction_carried_out() -> None:
    b = block()
    ports = Ports(reaction=[Broadcast(prepare())])
    run_now(runner(ports).apply_synced(b, CommitCertificate(1, b.hash, 0, ())))
    assert ports.log == [("apply", 1), ("broadcast", "Prepare")]


def test_a_failed_journal_write_sends_nothing() -> None:
    ports = Ports()

    async def broken(records: Sequence[Any]) -> None:
        raise OSError("disk full")

    ports.append = broken  # type: ignore[method-assign]
    with pytest.raises(OSError):
        run_now(runner(ports).perform([Persist({"height": 1, "n": 1}), Broadcast(prepare())]))
    assert ports.log == []


def test_an_unknown_action_is_a_bug_not_a_log_line() -> None:
    with pytest.raises(AssertionError):
        run_now(runner(Ports()).perform(["not an action"]))  # type: ignore[list-item]


def test_run_now_refuses_a_port_that_really_waits() -> None:
    ports = Ports()

    async def slow(records: Sequence[Any]) -> None:
        await asyncio.sleep(0)

    ports.append = slow  # type: ignore[method-assign]
    with pytest.raises(PortSuspended):
        run_now(runner(ports).perform([Persist({"height": 1, "n": 1})]))


async def test_the_same_runner_awaits_ports_that_do_wait() -> None:
    ports = Ports()
    seen: list[Any] = []

    async def slow(records: Sequence[Any]) -> None:
        await asyncio.sleep(0)
        seen.append([r["n"] for r in records])

    ports.append = slow  # type: ignore[method-assign]
    await runner(ports).perform([Persist({"height": 1, "n": 1}), Broadcast(prepare())])
    assert seen == [[1]] and ports.log == [("broadcast", "Prepare")]


def test_the_equivocator_sends_one_conflicting_twin_to_the_peers_it_lies_to() -> None:
    sent: list[tuple[str, Message]] = []

    class Wire:
        def broadcast(self, msg: Message) -> None:
            raise AssertionError("the equivocator addresses every peer itself")

        def send(self, to: str, msg: Message) -> None:
            sent.append((to, msg))

    validators = (KEY.public_hex, "a" * 64, "b" * 64, "c" * 64)
    eq = Equivocator(
        Wire(),
        validators,
        KEY.public_hex,
        twin=lambda msg: conflicting(msg, KEY, CHAIN, lambda: b"\x07" * 32),
        lie_to=lambda peer: peer != "a" * 64,
    )
    msg = prepare()
    eq.broadcast(msg)
    assert [to for to, _ in sent] == list(validators[1:])
    truth, lie1, lie2 = (m for _, m in sent)
    assert truth == msg
    assert isinstance(lie1, Prepare) and lie1 == lie2 and lie1.block_hash == "07" * 32
    assert (lie1.view, lie1.height) == (msg.view, msg.height)


def entropy() -> bytes:
    return b"\x03" * 32


def test_conflicting_messages_keep_kind_view_and_height() -> None:
    pp = make_pre_prepare(KEY, CHAIN, 2, block(5))
    twin = conflicting(pp, KEY, CHAIN, entropy)
    assert isinstance(twin, PrePrepare) and twin.view == 2 and twin.height == 5
    assert twin.block_hash != pp.block_hash
    commit = make_commit(KEY, CHAIN, 2, 5, "ab" * 32)
    other = conflicting(commit, KEY, CHAIN, entropy)
    assert isinstance(other, Commit) and other.block_hash != commit.block_hash
