"""The daemon's real ports for the consensus runner (``consensus.runner``).

The simulator wires in-memory versions of the same ports, so the ordering rules live once, in the
runner; what is here is only how a real node reaches its disk, its peers and state sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chain.errors import AidchainError, EncodingError, TooLarge
from chain.tx import Transaction
from chain.wire import tx_to_wire
from consensus.messages import Message, encode_message
from node.lograte import ratelimited
from node.peers import PeerNetwork
from node.statesync import StateSync
from storage.chainstore import ChainStore

log = logging.getLogger(__name__)

GOSSIP_ENVELOPE_BYTES = 64  # '{"k":"txs","txs":[...]}' around a gossip chunk, with room to spare


def wire_with_bound(tx: Transaction) -> tuple[str, int]:
    """A transaction's wire form, and a bound of its encoded bytes inside a gossip message: JSON
    re-escapes only quotes and backslashes in a string, so at most twice the tx's bytes."""
    return tx_to_wire(tx), 2 * tx.size + 3


def gossip_chunks(
    items: Sequence[tuple[str, int]], max_txs: int, max_message_bytes: int
) -> Iterator[dict[str, Any]]:
    """``(wire, bound)`` pairs as gossip messages of at most ``max_txs`` transactions, each under
    the peer message limit (transactions travel as canonical strings, ``chain.wire``, so a
    message adds no nesting)."""
    budget = max_message_bytes - GOSSIP_ENVELOPE_BYTES
    at = 0
    while at < len(items):
        chunk: list[str] = []
        size = 0
        for wire, bound in items[at : at + max_txs]:
            if chunk and size + bound > budget:
                break
            chunk.append(wire)
            size += bound
        at += len(chunk)
        yield {"k": "txs", "txs": chunk}


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
    """Consensus messages and forwarded transactions over the authenticated peer network."""

    def __init__(self, peers: PeerNetwork, *, max_txs: int, max_message_bytes: int) -> None:
        self.peers = peers
        self.max_txs = max_txs  # per gossip message ([mempool] gossip_batch)
        self.max_message_bytes = max_message_bytes

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

    def forward(self, to: str, txs: Sequence[Transaction]) -> None:
        """As gossip to one peer: the receiver admits them like any gossiped transaction."""
        items = [wire_with_bound(tx) for tx in txs]
        for message in gossip_chunks(items, self.max_txs, self.max_message_bytes):
            self.peers.send(to, message)


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
