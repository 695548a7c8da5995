"""A tiny synchronous cluster for table-driven replica tests (the simulator does the chaos)."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chain.block import EMPTY_ROOT, Block, CommitCertificate, receipts_root
from chain.crypto import KeyPair
from chain.encoding import canonical, loads_strict
from chain.tx import Transaction, make_transfer
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
from consensus.config import ConsensusConfig
from consensus.messages import Message, decode_message, encode_message, verify_message
from consensus.replica import Replica

CHAIN = "test-chain"
GENESIS_HASH = "ab" * 32
GENESIS_ROOT = "cd" * 32
MONO_OFFSET_MS = 7_000_000_000  # replicas' monotonic clocks have another origin than wall time


def keys(n: int) -> list[KeyPair]:
    return [KeyPair.from_seed(hashlib.sha256(f"validator-{i}".encode()).digest()) for i in range(n)]


def config(ks: list[KeyPair], **kw: Any) -> ConsensusConfig:
    # the tests here time proposals by batch_delay_ms alone; pacing (block_interval_ms) has its
    # own tests in test_replica_normal.py
    kw.setdefault("block_interval_ms", 0)
    return ConsensusConfig(chain_id=CHAIN, validators=tuple(k.public_hex for k in ks), **kw)


def client_txs(count: int, sender_index: int = 0) -> list[Transaction]:
    sender = KeyPair.from_seed(hashlib.sha256(f"client-{sender_index}".encode()).digest())
    to = "ee" * 32
    return [make_transfer(sender, CHAIN, nonce, to, 10 + nonce) for nonce in range(count)]


class NonceValidator:
    """Accepts a block iff each sender's nonces continue from the executed state."""

    def __init__(self) -> None:
        self.nonces: dict[str, int] = {}
        self.refuse: set[str] = set()

    def validate_block_txs(self, block: Block) -> str | None:
        expected = dict(self.nonces)
        for tx in block.txs:
            if tx.hash in self.refuse:
                return "refused by test"
            if tx.nonce != expected.get(tx.sender, 0):
                return f"bad nonce {tx.nonce}"
            expected[tx.sender] = tx.nonce + 1
        return None

    def apply(self, block: Block) -> None:
        for tx in block.txs:
            self.nonces[tx.sender] = tx.nonce + 1


def next_root(root: str, block_hash: str) -> str:
    return hashlib.sha256((root + block_hash).encode()).hexdigest()


def receipts_of(block: Block) -> str:
    """The receipts root of a test block: one ``{"ok": true}`` receipt per transaction."""
    return receipts_root(block.txs, [{"ok": True}] * len(block.txs))


def no_receipts(block: Block) -> str:
    """An app whose blocks leave no receipts: no empty anchoring blocks, one block per batch
    (what most table tests count on; the anchoring tests and the simulator use receipts)."""
    return EMPTY_ROOT


@dataclass
class Node:
    key: KeyPair
    replica: Replica
    validator: NonceValidator
    journal: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[tuple[Block, CommitCertificate]] = field(default_factory=list)
    root: str = GENESIS_ROOT
    fetches: list[FetchBlocks] = field(default_factory=list)
    pruned_below: int = 0
    up: bool = True


class Cluster:
    """Synchronous FIFO delivery; ``drop`` decides which (sender, receiver, msg) get lost."""

    def __init__(
        self, n: int = 4, receipts: Callable[[Block], str] = no_receipts, **kw: Any
    ) -> None:
        self.receipts = receipts
        self.keys = keys(n)
        self.cfg = config(self.keys, **kw)
        self.now = 1_000
        self.nodes = {k.public_hex: self._make(k, []) for k in self.keys}
        self.queue: deque[tuple[str, str, Message]] = deque()
        self.drop: Callable[[str, str, Message], bool] = lambda s, r, m: False
        self.sent: list[tuple[str, str, Message]] = []
        self.serve_fetch = True
        self.known: dict[str, Transaction] = {}
        self.forwards: list[tuple[str, str, tuple[Transaction, ...]]] = []  # (from, to, txs)

    def fetch(self, pub: str, act: FetchBlocks) -> None:
        node = self.nodes[pub]
        for peer in act.peers:
            source = self.nodes[peer]
            if not source.up:
                continue
            for block, cert in source.blocks[act.from_height - 1 :]:
                if block.height != node.replica.height + 1:
                    break
                cert.verify(CHAIN, list(self.cfg.validators))
                assert cert.block_hash == block.hash
                node.blocks.append((block, cert))
                node.validator.apply(block)
                node.root = next_root(node.root, block.hash)
                applied = node.replica.on_block_applied(
                    block, node.root, cert, receipts_root=self.receipts(block)
                )
                self.perform(pub, applied)
            return

    def _make(self, key: KeyPair, journal: list[dict[str, Any]], node: Node | None = None) -> Node:
        validator = NonceValidator()
        height, last_hash, root, time, cert = 0, GENESIS_HASH, GENESIS_ROOT, 0, None
        receipts = EMPTY_ROOT
        if node is not None:
            for block, _c in node.blocks:
                validator.apply(block)
            if node.blocks:
                block, cert = node.blocks[-1]
                height, last_hash, root, time = (
                    block.height,
                    block.hash,
                    node.root,
                    block.header.time,
                )
                receipts = self.receipts(block)
        replica = Replica(
            self.cfg,
            key,
            validator,
            last_height=height,
            last_block_hash=last_hash,
            last_state_root=root,
            last_receipts_root=receipts,
            last_block_time=time,
            journal=journal,
            mono_ms=self.now + MONO_OFFSET_MS,
            wall_ms=self.now,
            last_certificate=cert,
        )
        fresh = Node(key, replica, validator, journal)
        if node is not None:
            fresh.blocks, fresh.root = node.blocks, node.root
        return fresh

    def restart(self, pub: str) -> None:
        old = self.nodes[pub]
        self.nodes[pub] = self._make(old.key, list(old.journal), old)

    def primary(self) -> Node:
        views = [n.replica.view for n in self.nodes.values()]
        return self.nodes[self.cfg.primary(max(views))]

    def perform(self, pub: str, actions: list[Action]) -> None:
        node = self.nodes[pub]
        for act in actions:
            if isinstance(act, Persist):
                node.journal.append(act.record)
            elif isinstance(act, Broadcast):
                for other in self.nodes:
                    if other != pub:
                        self.queue.append((pub, other, act.msg))
            elif isinstance(act, Send):
                self.queue.append((pub, act.to, act.msg))
            elif isinstance(act, ForwardTxs):
                self.forwards.append((pub, act.to, act.txs))
            elif isinstance(act, CommitBlock):
                act.certificate.verify(CHAIN, list(self.cfg.validators))
                node.blocks.append((act.block, act.certificate))
                node.validator.apply(act.block)
                node.root = next_root(node.root, act.block.hash)
                applied = node.replica.on_block_applied(
                    act.block, node.root, receipts_root=self.receipts(act.block)
                )
                self.perform(pub, applied)
            elif isinstance(act, FetchBlocks):
                node.fetches.append(act)
                if self.serve_fetch:
                    self.fetch(pub, act)
            elif isinstance(act, PruneJournal):
                node.pruned_below = act.below_height
                node.journal[:] = [r for r in node.journal if r["height"] >= act.below_height]

    def deliver_all(self, limit: int = 100_000) -> int:
        count = 0
        while self.queue and count < limit:
            sender, to, msg = self.queue.popleft()
            count += 1
            node = self.nodes[to]
            if not node.up or not self.nodes[sender].up or self.drop(sender, to, msg):
                continue
            # the real wire: canonical bytes (depth and float checks included), parsed back
            raw = loads_strict(canonical(encode_message(msg)))
            wire = decode_message(raw, known_txs=self.known)
            assert verify_message(wire, CHAIN, self.cfg.validators)
            self.sent.append((sender, to, wire))
            self.perform(to, node.replica.on_message(wire))
        return count

    def offer(
        self, txs: list[Transaction], to: list[str] | None = None, *, full: bool = False
    ) -> None:
        self.known.update((tx.signature, tx) for tx in txs)
        for pub in to or list(self.nodes):
            if self.nodes[pub].up:
                self.perform(pub, self.nodes[pub].replica.on_request(txs, full=full))

    def tick(self, ms: int, step: int = 20) -> None:
        end = self.now + ms
        while self.now < end:
            self.now += step
            for pub, node in self.nodes.items():
                if node.up:
                    self.perform(pub, node.replica.on_tick(self.now + MONO_OFFSET_MS, self.now))
            self.deliver_all()

    def heights(self) -> list[int]:
        return [n.replica.height for n in self.nodes.values()]
