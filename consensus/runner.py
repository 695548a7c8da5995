"""The one runner that carries out a replica's actions, shared by the daemon and the simulator.

The replica is a pure state machine that returns ``Action``s; this runner performs them strictly
in order against four injected ports, the way raft's ``Ready`` loop does: the daemon wires LevelDB,
aiohttp peers, the executor and state sync; the simulator wires in-memory ones. So every simulator
seed drives exactly the glue a real node runs.

Ordering rule (the reason this exists): consecutive ``Persist`` records are handed to the journal
as one batch, and that batch is durable before any later action in the list is carried out, so a
restarted node never contradicts a vote it already sent.

Ports may be async (a real journal write waits for an fsync on another thread). This module uses
no event loop of its own: the daemon awaits ``perform`` on its loop, and the simulator, whose ports
never wait, drives it to the end synchronously with ``run_now``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, assert_never

from chain.block import Block, CommitCertificate
from chain.tx import Transaction
from consensus.actions import (
    Action,
    Broadcast,
    CommitBlock,
    FetchBlocks,
    ForwardTxs,
    Persist,
    PruneJournal,
    Send,
)
from consensus.messages import Message


class Journal(Protocol):
    """The replica's durable vote journal. Records are opaque here: the replica reads them back."""

    async def append(self, records: Sequence[Any]) -> None:
        """Append ``records`` as one synced write; return only once they are durable."""
        ...

    async def prune(self, below_height: int) -> None:
        """Records whose height is below ``below_height`` may go."""
        ...


class Transport(Protocol):
    """Consensus messages to the other validators, and requests forwarded to the primary.

    Best effort: the replica retransmits its messages, and forwards again in the next view.
    """

    def broadcast(self, msg: Message) -> None: ...

    def send(self, to: str, msg: Message) -> None: ...

    def forward(self, to: str, txs: Sequence[Transaction]) -> None:
        """Send pending transactions to one validator, the way gossip carries them."""
        ...


class BlockApplier(Protocol):
    """Executes and stores a committed block, then tells the replica."""

    async def apply_block(self, block: Block, cert: CommitCertificate) -> Sequence[Action]:
        """Apply ``block`` if it extends the stored chain; return the replica's reaction."""
        ...


class BlockFetcher(Protocol):
    """State transfer: fetch committed blocks we are missing from peers."""

    def fetch(self, from_height: int, peers: tuple[str, ...]) -> None:
        """Start fetching blocks >= ``from_height`` (``peers`` are hints); never waits for them."""
        ...


@dataclass(slots=True)
class Runner:
    """Carries out one replica's actions in order against its ports."""

    journal: Journal
    transport: Transport
    blocks: BlockApplier
    sync: BlockFetcher

    async def perform(self, actions: Iterable[Action]) -> None:
        """Carry out ``actions`` in order; a committed block's reaction is carried out after them.

        Only one caller at a time (the daemon's consensus worker, the simulator's event loop).
        """
        queue = deque(actions)
        records: list[Any] = []
        while queue:
            action = queue.popleft()
            if records and not isinstance(action, Persist):
                await self.journal.append(records)
                records = []
            match action:
                case Persist(record=record):
                    records.append(record)
                case Broadcast(msg=msg):
                    self.transport.broadcast(msg)
                case Send(to=to, msg=msg):
                    self.transport.send(to, msg)
                case ForwardTxs(to=to, txs=txs):
                    self.transport.forward(to, txs)
                case CommitBlock(block=block, certificate=certificate):
                    queue.extend(await self.blocks.apply_block(block, certificate))
                case FetchBlocks(from_height=from_height, peers=peers):
                    self.sync.fetch(from_height, peers)
                case PruneJournal(below_height=below):
                    await self.journal.prune(below)
                case _:
                    assert_never(action)
        if records:
            await self.journal.append(records)

    async def apply_synced(self, block: Block, certificate: CommitCertificate) -> None:
        """Apply a block state sync fetched (already verified) and carry out the reaction."""
        await self.perform(await self.blocks.apply_block(block, certificate))


T = TypeVar("T")


class PortSuspended(RuntimeError):
    """A port awaited something real inside ``run_now``: in-memory ports must never wait."""


def run_now(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end right here, for ports that never suspend (the simulator's).

    Deterministic and loop-free: no scheduler decides anything, so a seed replays exactly.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise PortSuspended("a port suspended while run synchronously")
