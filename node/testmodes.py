"""Deliberate misbehaviour for fault-injection tests (``[node] test_mode`` in config.toml).

A Byzantine validator is the thing PBFT exists to survive, so the test suite runs real node
processes that lie. Production configs leave ``test_mode`` empty and get the honest path.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any

from chain.block import Block
from consensus.messages import (
    Commit,
    Message,
    Prepare,
    PrePrepare,
    encode_message,
    make_commit,
    make_pre_prepare,
    make_prepare,
)

if TYPE_CHECKING:
    from node.daemon import Node

log = logging.getLogger(__name__)

HUGE_VIEW = 2**40


class Misbehaviour:
    """Honest behaviour: every broadcast goes to every peer unchanged."""

    def __init__(self, node: Node) -> None:
        self.node = node

    @staticmethod
    def create(mode: str, node: Node) -> Misbehaviour:
        if mode == "byzantine-equivocate":
            log.warning("TEST MODE: this node equivocates (conflicting pre-prepares and votes)")
            return Equivocator(node)
        if mode == "byzantine-garbage":
            log.warning("TEST MODE: this node sends garbage, forgeries, replays and huge views")
            return GarbageSender(node)
        return Misbehaviour(node)

    def broadcast(self, msg: Message) -> None:
        self.node.broadcast_consensus(msg)

    def _peers(self) -> list[str]:
        return [v for v in self.node.validators if v != self.node.key.public_hex]

    def _send(self, peer: str, msg: Message) -> None:
        self.node.send_consensus(peer, msg)


class Equivocator(Misbehaviour):
    """Sends one version of each proposal/vote to half the peers and a conflicting one to the rest."""

    def broadcast(self, msg: Message) -> None:
        peers = self._peers()
        half = len(peers) // 2
        twin = self._conflicting(msg)
        for k, peer in enumerate(peers):
            self._send(peer, msg if twin is None or k < half else twin)

    def _conflicting(self, msg: Message) -> Message | None:
        node = self.node
        if isinstance(msg, PrePrepare):
            header = dataclasses.replace(msg.block.header, time=msg.block.header.time + 1)
            return make_pre_prepare(node.key, node.chain_id, msg.view, Block(header, msg.block.txs))
        if isinstance(msg, Prepare):
            return make_prepare(node.key, node.chain_id, msg.view, msg.height, os.urandom(32).hex())
        if isinstance(msg, Commit):
            return make_commit(node.key, node.chain_id, msg.view, msg.height, os.urandom(32).hex())
        return None


class GarbageSender(Misbehaviour):
    """Honest messages plus junk, forged signatures, replays and a huge view number."""

    def __init__(self, node: Node) -> None:
        super().__init__(node)
        self._old: list[dict[str, Any]] = []

    def broadcast(self, msg: Message) -> None:
        super().broadcast(msg)
        node = self.node
        encoded = encode_message(msg)
        forged = dict(encoded)
        forged["signature"] = "0" * 128
        junk: list[Any] = [
            {"k": "c", "m": {"type": "prepare", "view": "x"}},
            {"k": "c", "m": forged},
            {"k": "c", "m": os.urandom(16).hex()},
            {"k": "zzz", "payload": [1, 2, 3]},
            {"k": "txs", "txs": [{"garbage": True}, 7]},
            {"k": "sync_resp", "id": 12345, "blocks": [{"block": {}, "cert": {}}]},
        ]
        if isinstance(msg, (Prepare, Commit)):
            huge = make_prepare(node.key, node.chain_id, HUGE_VIEW, msg.height, msg.block_hash)
            junk.append({"k": "c", "m": encode_message(huge)})
        if self._old:
            junk.append({"k": "c", "m": self._old[0]})  # replay of an old, validly signed message
        if len(self._old) < 50:
            self._old.append(encoded)
        for peer in self._peers():
            for item in junk:
                node.peers.send(peer, item)
