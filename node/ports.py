"""The daemon's real ports for the consensus runner (``consensus.runner``).

The simulator wires in-memory versions of the same ports, so the ordering rules live once, in the
runner; what is here is only how a real node reaches its disk, its peers and state sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chain.errors import AidchainError, EncodingError, TooLarge
from consensus.messages import Message, encode_message
from node.lograte import ratelimited
from node.peers import PeerNetwork
from node.statesync import StateSync
from storage.chainstore import ChainStore

log = logging.getLogger(__name__)


def consensus_envelope(msg: Message) -> dict[str, Any]:
    """The peer-wire form of a consensus message (kind "c")."""
    return {"k": "c", "m": encode_message(msg)}


class StoreJournal:
    """The vote journal in LevelDB; synced writes run on the node's one I/O thread, so the event
    loop keeps serving RPC and peers during an fsync."""

    def __init__(self, store: ChainStore, io: ThreadPoolExecutor) -> None:
        self.store = store
        self.io = io

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.io, fn, *args)

    async def append(self, records: Sequence[Any]) -> None:
        await self._call(self.store.journal_append, list(records))

    async def prune(self, below_height: int) -> None:
        await self._call(self.store.journal_prune, below_height)


class PeerTransport:
    """Consensus messages over the authenticated peer network."""

    def __init__(self, peers: PeerNetwork) -> None:
        self.peers = peers

    def broadcast(self, msg: Message) -> None:
        try:
            self.peers.broadcast(consensus_envelope(msg))
        except (EncodingError, TooLarge) as exc:
            _unsendable(msg, exc)

    def send(self, to: str, msg: Message) -> None:
        try:
            self.peers.send(to, consensus_envelope(msg))
        except (EncodingError, TooLarge) as exc:
            _unsendable(msg, exc)


def _unsendable(msg: Message, exc: AidchainError) -> None:
    """One rate-limited line, not a traceback per retransmission: the replica retries."""
    ratelimited.log(
        log,
        logging.ERROR,
        "unsendable_consensus",
        "cannot send %s: %s",
        type(msg).__name__,
        exc.message,
    )


class SyncFetcher:
    """Starts a state-sync round when the replica asks for blocks beyond our stored head."""

    def __init__(self, sync: StateSync, height: Callable[[], int]) -> None:
        self.sync = sync
        self.height = height

    def fetch(self, from_height: int, peers: tuple[str, ...]) -> None:
        if from_height > self.height():
            self.sync.request(peers)
