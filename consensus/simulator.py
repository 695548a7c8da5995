"""Seeded simulation of n real replicas over a hostile virtual network and clock.

Everything random comes from one SplitMix64 seeded by the seed number, and time is virtual, so
a failing seed replays exactly. Every node's actions are carried out by the daemon's own runner
(``consensus.runner.Runner``) against in-memory ports the simulator plays: a journal list, the
virtual network, a store that executes committed blocks with a trivial deterministic app (nonces,
state_root = sha256(prev + hash), one ``{"ok": true}`` receipt per transaction), and state transfer from peers (verifying every
certificate, skipping peers that lie). It also keeps a mempool with gossip and offers ready
transactions to the replica. A crash is injected between two port calls of the runner.

After every step it checks safety (no two honest nodes commit different blocks at one height),
validity (only submitted transactions, each once) and, once the network heals, liveness (every
submitted transaction commits on every honest node within a bounded simulated time).
"""

from __future__ import annotations

import hashlib
import heapq
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, receipts_root
from chain.crypto import KeyPair
from chain.errors import AidchainError
from chain.tx import Transaction, make_transfer
from consensus.actions import Action
from consensus.byzantine import Equivocator, conflicting
from consensus.config import ConsensusConfig
from consensus.messages import (
    Commit,
    Message,
    MessageError,
    NewView,
    Prepare,
    PrePrepare,
    ViewChange,
    decode_message,
    encode_message,
    make_commit,
    make_new_view,
    make_pre_prepare,
    make_prepare,
    make_view_change,
    verify_message,
)
from consensus.prng import SplitMix64
from consensus.replica import Replica, choose_prepared
from consensus.runner import Runner, Transport, run_now

log = logging.getLogger(__name__)

SIM_CHAIN_ID = "aidchain-sim"
GENESIS_HASH = "00" * 32
GENESIS_ROOT = "11" * 32
SIM_RECEIPT: dict[str, Any] = {"ok": True}  # every simulated transaction's receipt
SYNC_BATCH = 64  # blocks per state-transfer response
REPLAY_MEMORY = 256  # messages a replaying Byzantine node remembers
MAX_EVENTS = 2_000_000  # hard stop for one seed: a runaway run is a failure, not a hang
# Each node's monotonic clock starts at its own origin (as time.monotonic counts from boot), far
# from the wall clock, so a replica that mixed its timer clock with block times would fail here.
MONO_ORIGIN_MS = 1_000_000_007

BYZANTINE_MODES = ("equivocate", "withhold", "garbage", "replay", "oldview", "twins", "censor")


@dataclass(frozen=True, slots=True)
class FaultMix:
    """Which faults one simulated run injects (probabilities in per mille)."""

    name: str
    loss: int = 0
    dup: int = 0
    min_delay_ms: int = 1
    max_delay_ms: int = 15
    partitions: bool = False
    crashes: bool = False
    byzantine: str | None = None
    isolate_on_commit: int = 0  # per mille: a node that just committed is cut off for a while
    slow_votes: int = 0  # per mille: a vote is held back 200..1500 ms (adversarial scheduling)


FAULT_MIXES: dict[str, FaultMix] = {
    m.name: m
    for m in (
        FaultMix("clean"),
        FaultMix("lossy", loss=100, dup=50, max_delay_ms=120),
        FaultMix("partition", loss=20, max_delay_ms=40, partitions=True),
        FaultMix("crash", loss=20, max_delay_ms=40, crashes=True),
        FaultMix("chaos", loss=80, dup=50, max_delay_ms=100, partitions=True, crashes=True),
        FaultMix("equivocate", loss=20, max_delay_ms=40, byzantine="equivocate"),
        FaultMix("withhold", loss=20, max_delay_ms=40, byzantine="withhold"),
        FaultMix("garbage", loss=20, max_delay_ms=40, byzantine="garbage"),
        FaultMix("replay", loss=20, dup=50, max_delay_ms=60, byzantine="replay"),
        FaultMix("oldview", loss=20, max_delay_ms=40, byzantine="oldview"),
        FaultMix("twins", loss=20, max_delay_ms=40, byzantine="twins"),
        FaultMix("censor", loss=20, max_delay_ms=40, byzantine="censor"),
        FaultMix("byzchaos", loss=60, dup=30, max_delay_ms=80, crashes=True, byzantine="twins"),
        FaultMix("split", loss=20, max_delay_ms=40, isolate_on_commit=150, slow_votes=100),
        FaultMix(
            "splitbyz",
            loss=20,
            max_delay_ms=40,
            isolate_on_commit=100,
            slow_votes=100,
            byzantine="equivocate",
        ),
        FaultMix(
            "kitchen",
            loss=60,
            dup=40,
            max_delay_ms=80,
            partitions=True,
            crashes=True,
            byzantine="equivocate",
            isolate_on_commit=80,
            slow_votes=80,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class SimSettings:
    fault_ms: int = 6_000  # faults happen in [0, fault_ms); then the network heals
    liveness_ms: int = 40_000  # after healing, everything must commit within this
    clients: int = 3
    txs_per_client: int = 6
    tick_ms: int = 25
    client_retry_ms: int = 1_500
    consensus: ConsensusConfig | None = None  # validators filled in per seed


def sim_consensus_config(validators: tuple[str, ...]) -> ConsensusConfig:
    """Short timers so a seed covers several view changes in a few simulated seconds."""
    return ConsensusConfig(
        chain_id=SIM_CHAIN_ID,
        validators=validators,
        block_max_txs=8,
        batch_delay_ms=20,
        block_interval_ms=40,  # paced as a real network is, on the simulator's shorter timers
        view_change_timeout_ms=400,
        max_view_change_timeout_ms=3_200,
        request_timeout_ms=1_000,
        retransmit_ms=150,
        checkpoint_interval=4,
        watermark_window=16,
        max_clock_drift_ms=5_000,
        max_buffered_messages=4_000,
    )


@dataclass(frozen=True, slots=True)
class SimResult:
    seed: int
    mix: str
    nodes: int
    ok: bool
    failure: str | None
    sim_ms: int
    blocks: int
    txs: int
    max_view: int
    events: int


class SimFailure(Exception):
    """A property the simulation checks was violated."""


def next_root(root: str, block_hash: str) -> str:
    return hashlib.sha256((root + block_hash).encode()).hexdigest()


def describe(msg: Message) -> str:
    name = type(msg).__name__
    if isinstance(msg, PrePrepare):
        return f"{name} v{msg.view} h{msg.height} {msg.block_hash[:8]} ({len(msg.block.txs)} txs)"
    if isinstance(msg, (Prepare, Commit)):
        return f"{name} v{msg.view} h{msg.height} {msg.block_hash[:8]}"
    if hasattr(msg, "view"):
        return f"{name} v{msg.view}"
    return f"{name} h{getattr(msg, 'height', '?')}"


@dataclass(slots=True)
class SimNode:
    """One validator process: its replica plus the runtime the simulator plays for it."""

    index: int
    key: KeyPair
    byzantine: str | None
    label: str
    up: bool = True
    replica: Replica | None = None
    journal: list[dict[str, Any]] = field(default_factory=list)
    store: list[tuple[Block, CommitCertificate]] = field(default_factory=list)
    root: str = GENESIS_ROOT
    receipts_root: str = EMPTY_ROOT  # of the last stored block
    nonces: dict[str, int] = field(default_factory=dict)
    mempool: dict[str, tuple[int, Transaction]] = field(default_factory=dict)
    # (hash, signature): the hash covers the body only, so a memo keyed by it alone would let
    # a copy with a forged signature through
    verified: set[tuple[str, str]] = field(default_factory=set)
    committed: set[str] = field(default_factory=set)
    offer_dirty: bool = False
    sync_busy_until: int = 0
    sync_attempts: int = 0
    bad_peers: dict[str, int] = field(default_factory=dict)
    crash_after: int | None = None
    peers: frozenset[str] | None = None  # twins: the validators this instance can talk to
    replay: list[dict[str, Any]] = field(default_factory=list)
    seen_vcs: dict[int, dict[str, ViewChange]] = field(default_factory=dict)
    seen_blocks: dict[str, Block] = field(default_factory=dict)  # equivocate: bodies it saw
    runner: Runner | None = None

    @property
    def pub(self) -> str:
        return self.key.public_hex

    @property
    def height(self) -> int:
        return len(self.store)

    def validate_block_txs(self, block: Block) -> str | None:
        expected: dict[str, int] = {}
        for tx in block.txs:
            if tx.hash in self.committed:
                return "transaction already committed"
            if (tx.hash, tx.signature) not in self.verified:
                if not tx.verify_signature():
                    return "bad transaction signature"
                self.verified.add((tx.hash, tx.signature))
            want = expected.get(tx.sender, self.nonces.get(tx.sender, 0))
            if tx.nonce != want:
                return f"nonce {tx.nonce} != {want}"
            expected[tx.sender] = want + 1
        return None


class Simulation:
    """One seed: build the cluster, inject faults, run to quiescence, check properties."""

    def __init__(
        self,
        seed: int,
        nodes: int = 4,
        mix: FaultMix | str = "clean",
        settings: SimSettings | None = None,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        self.seed = seed
        self.mix = FAULT_MIXES[mix] if isinstance(mix, str) else mix
        self.settings = settings or SimSettings()
        self.trace_fn = trace
        self.rng = SplitMix64(seed * 0x9E3779B1 + nodes)
        self.net_rng = self.rng.fork()
        self.fault_rng = self.rng.fork()
        self.byz_rng = self.rng.fork()
        keys = [KeyPair.from_seed(self.rng.bytes32()) for _ in range(nodes)]
        validators = tuple(k.public_hex for k in keys)
        base = self.settings.consensus or sim_consensus_config(validators)
        self.cfg = replace(base, validators=validators, chain_id=SIM_CHAIN_ID)
        self.f = self.cfg.f
        self.now = 0
        self.events = 0
        self._seq = 0
        self._queue: list[tuple[int, int, str, Any]] = []
        self.partition: dict[str, int] | None = None  # validator -> group
        self.healed = False
        # nodes (twins add a second instance of one validator)
        byz_indexes: list[int] = []
        if self.mix.byzantine is not None:
            count = 1 if self.mix.byzantine == "twins" else self.f
            byz_indexes = self.rng.shuffled(range(nodes))[:count]
        self.nodes: list[SimNode] = []
        for i, key in enumerate(keys):
            mode = self.mix.byzantine if i in byz_indexes else None
            self.nodes.append(SimNode(i, key, mode, f"n{i}"))
        if self.mix.byzantine == "twins":
            i = byz_indexes[0]
            twin = SimNode(i, keys[i], "twins", f"n{i}'")
            others = [k.public_hex for j, k in enumerate(keys) if j != i]
            split = self.rng.shuffled(others)
            cut = max(1, len(split) // 2)
            self.nodes[i].peers = frozenset(split[: cut + 1])
            twin.peers = frozenset(split[cut:])
            self.nodes.append(twin)
        self.by_pub: dict[str, list[SimNode]] = {}
        for node in self.nodes:
            self.by_pub.setdefault(node.pub, []).append(node)
            node.runner = self._build_runner(node)
            self._build_replica(node)
        self.honest = [n for n in self.nodes if n.byzantine is None]
        # clients
        self.client_keys = [
            KeyPair.from_seed(self.rng.bytes32()) for _ in range(self.settings.clients)
        ]
        self.submitted: dict[str, Transaction] = {}
        self.chain: dict[int, str] = {}
        self.txs_committed: set[str] = set()
        self.signed: dict[tuple[str, str, int, int], str] = {}

    # --- plumbing -----------------------------------------------------------------------------

    def trace(self, text: str) -> None:
        if self.trace_fn is not None:
            self.trace_fn(f"{self.now:>7}ms {text}")

    def schedule(self, at: int, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, kind, data))

    def mono(self, node: SimNode) -> int:
        """``node``'s monotonic clock: virtual time from a per-node origin."""
        return self.now + MONO_ORIGIN_MS * (node.index + 1)

    def _build_replica(self, node: SimNode) -> None:
        last = node.store[-1] if node.store else None
        node.replica = Replica(
            self.cfg,
            node.key,
            node,
            last_height=node.height,
            last_block_hash=last[0].hash if last else GENESIS_HASH,
            last_state_root=node.root,
            last_receipts_root=node.receipts_root,
            last_block_time=last[0].header.time if last else 0,
            journal=list(node.journal),
            mono_ms=self.mono(node),
            wall_ms=self.now,
            last_certificate=last[1] if last else None,
        )

    def _reachable(self, src: SimNode, dst: SimNode) -> bool:
        if src.peers is not None and dst.pub not in src.peers:
            return False
        if dst.peers is not None and src.pub not in dst.peers:
            return False
        if self.partition is not None:
            return self.partition.get(src.pub, 0) == self.partition.get(dst.pub, 0)
        return True

    def send(self, src: SimNode, to_pub: str, kind: str, payload: Any) -> None:
        mix = self.mix
        for dst in self.by_pub.get(to_pub, ()):
            if dst is src or not self._reachable(src, dst):
                continue
            copies = 2 if self.net_rng.chance(mix.dup) else 1
            for _ in range(copies):
                if not self.healed and self.net_rng.chance(mix.loss):
                    continue
                delay = self.net_rng.between(mix.min_delay_ms, mix.max_delay_ms)
                if (
                    not self.healed
                    and mix.slow_votes
                    and kind == "msg"
                    and payload.get("type") in ("commit", "prepare")
                    and self.net_rng.chance(mix.slow_votes)
                ):
                    delay += self.net_rng.between(200, 1500)
                self.schedule(self.now + delay, "deliver", (src, dst, kind, payload))

    def broadcast(self, src: SimNode, kind: str, payload: Any) -> None:
        for pub in self.cfg.validators:
            if pub != src.pub:
                self.send(src, pub, kind, payload)

    # --- runtime: the shared runner and the ports the simulator plays ---------------------------

    def _build_runner(self, node: SimNode) -> Runner:
        transport: Transport = SimTransport(self, node)
        if node.byzantine == "equivocate":
            transport = Equivocator(
                transport,
                self.cfg.validators,
                node.pub,
                twin=lambda msg: self.equivocal(node, msg),
                lie_to=lambda _peer: self.byz_rng.chance(500),
            )
        return Runner(
            SimJournal(self, node), transport, SimBlocks(self, node), SimFetch(self, node)
        )

    def perform(self, node: SimNode, actions: list[Action]) -> None:
        """Carry out ``actions`` with the node's runner; a crash injected mid-way stops it."""
        if not node.up or node.runner is None:
            return
        try:
            run_now(node.runner.perform(actions))
        except Crashed:
            self.crash(node)

    def gate(self, node: SimNode) -> None:
        """Called by every port before it acts: a planned crash happens here, between actions."""
        if node.crash_after is not None:
            if node.crash_after == 0:
                raise Crashed
            node.crash_after -= 1

    def outbound(self, node: SimNode, to: str, msg: Message) -> None:
        mode = node.byzantine
        if mode == "withhold" and not isinstance(msg, PrePrepare) and hasattr(msg, "block_hash"):
            return  # withholds prepares, commits and checkpoints
        if mode is None:
            self.check_no_equivocation(node, msg)
        if mode == "equivocate" and isinstance(msg, PrePrepare):
            self.remember_block(node, msg.block)
        if self.trace_fn is not None:
            self.trace(f"{node.label} -> {self.label_of(to)} {describe(msg)}")
        self.send(node, to, "msg", encode_message(msg))

    def remember_block(self, node: SimNode, block: Block) -> None:
        if len(node.seen_blocks) < REPLAY_MEMORY:
            node.seen_blocks[block.hash] = block

    def check_no_equivocation(self, node: SimNode, msg: Message) -> None:
        """An honest node never signs two different votes for one (kind, view, height).

        This holds across crashes only because votes are journaled before they are sent.
        """
        key: tuple[str, str, int, int]
        if isinstance(msg, (PrePrepare, Prepare)):
            key, value = ("prepare", node.pub, msg.view, msg.height), msg.block_hash
        elif isinstance(msg, Commit):
            key, value = ("commit", node.pub, msg.view, msg.height), msg.block_hash
        elif isinstance(msg, NewView):
            pp = msg.pre_prepare
            key, value = ("new_view", node.pub, msg.view, 0), pp.block_hash if pp else "-"
        else:
            return
        known = self.signed.setdefault(key, value)
        if known != value:
            self.fail(
                f"EQUIVOCATION: honest {node.label} signed two {key[0]} votes for "
                f"view {key[2]} height {key[3]}"
            )

    def equivocal(self, node: SimNode, msg: Message) -> Message | None:
        """A conflicting but validly signed version of ``msg`` (the shared equivocator's twin)."""
        if isinstance(msg, NewView):
            return self.sly_new_view(node, msg)
        return conflicting(msg, node.key, SIM_CHAIN_ID, self.byz_rng.bytes32)

    def sly_new_view(self, node: SimNode, nv: NewView) -> Message:
        """A Byzantine new primary picks the 2f+1 view changes that hide the most, or lies.

        Any 2f+1 valid view changes must still preserve committed blocks; a NEW-VIEW whose
        re-proposal does not follow from its view changes must be refused by every backup.
        """
        seen = {vc.sender: vc for vc in nv.view_changes}
        seen.update(node.seen_vcs.get(nv.view, {}))
        pool = list(seen.values())
        if len(pool) < self.cfg.quorum:
            return nv
        pool.sort(key=lambda vc: (vc.prepared is not None, vc.last_height, vc.sender))
        subset = tuple(pool[: self.cfg.quorum])
        top, chosen = choose_prepared(subset)
        pp = None
        if self.byz_rng.chance(300) and nv.pre_prepare is not None:
            # an outright lie: a fresh block instead of the prepared one
            old = nv.pre_prepare.block
            fresh = Block(
                replace(old.header, view=nv.view, proposer=node.pub, time=old.header.time + 1),
                old.txs,
            )
            pp = make_pre_prepare(node.key, SIM_CHAIN_ID, nv.view, fresh)
        elif chosen is not None:
            body = node.seen_blocks.get(chosen.block_hash) or next(
                (vc.block for vc in pool if vc.block and vc.block.hash == chosen.block_hash), None
            )
            if body is None:
                return nv
            pp = make_pre_prepare(node.key, SIM_CHAIN_ID, nv.view, body)
        del top
        return make_new_view(node.key, SIM_CHAIN_ID, nv.view, subset, pp)

    def label_of(self, pub: str) -> str:
        return self.by_pub[pub][0].label

    def chain_error(self, node: SimNode, block: Block, cert: CommitCertificate) -> str | None:
        """Why ``block`` with ``cert`` cannot be the node's next block, or None if it can."""
        if block.height != node.height + 1:
            return f"block for height {block.height} at {node.height}"
        prev = node.store[-1][0].hash if node.store else GENESIS_HASH
        if block.header.prev_hash != prev or cert.block_hash != block.hash:
            return f"block {block.height} does not chain"
        if cert.height != block.height:
            return f"certificate for height {cert.height} on block {block.height}"
        try:
            cert.verify(SIM_CHAIN_ID, list(self.cfg.validators))
        except AidchainError as exc:
            return f"bad certificate: {exc}"
        return None

    def apply_block(
        self, node: SimNode, block: Block, cert: CommitCertificate, from_sync: bool
    ) -> list[Action]:
        """The block applier port: every block reaching it must be the next one, validly signed.

        Synced blocks were checked by ``receive_sync`` (as state sync checks them in the daemon),
        so a bad one here came from the replica itself: a failed seed.
        """
        self.gate(node)
        error = self.chain_error(node, block, cert)
        if error is not None:
            self.fail(f"{node.label}: replica committed a bad block: {error}")
        node.store.append((block, cert))
        node.root = next_root(node.root, block.hash)
        node.receipts_root = receipts_root(block.txs, [SIM_RECEIPT] * len(block.txs))
        for tx in block.txs:
            node.nonces[tx.sender] = tx.nonce + 1
            node.mempool.pop(tx.hash, None)
        if node.byzantine is None:
            self.check_commit(node, block)
            if (
                not from_sync
                and not self.healed
                and self.partition is None
                and self.fault_rng.chance(self.mix.isolate_on_commit)
            ):
                self.partition = {p: int(p == node.pub) for p in self.cfg.validators}
                self.schedule(self.now + self.fault_rng.between(300, 2500), "unpartition", None)
                self.trace(f"PARTITION {node.label} cut off right after committing")
        node.offer_dirty = True
        self.trace(
            f"{node.label} COMMIT h{block.height} {block.hash[:8]} ({len(block.txs)} txs)"
            + (" [sync]" if from_sync else "")
        )
        assert node.replica is not None
        return node.replica.on_block_applied(
            block, node.root, cert, receipts_root=node.receipts_root
        )

    def check_commit(self, node: SimNode, block: Block) -> None:
        known = self.chain.get(block.height)
        if known is None:
            self.chain[block.height] = block.hash
        elif known != block.hash:
            self.fail(
                f"SAFETY: {node.label} committed {block.hash[:12]} at height "
                f"{block.height}, others committed {known[:12]}"
            )
        for tx in block.txs:
            if tx.hash not in self.submitted:
                self.fail(f"VALIDITY: {node.label} committed a transaction nobody submitted")
            if tx.hash in node.committed:
                self.fail(f"VALIDITY: {node.label} committed transaction {tx.hash[:12]} twice")
            node.committed.add(tx.hash)
            self.txs_committed.add(tx.hash)

    def fail(self, text: str) -> None:
        raise SimFailure(text)

    # --- state transfer -----------------------------------------------------------------------

    def request_sync(self, node: SimNode, from_height: int, peers: tuple[str, ...]) -> None:
        self.gate(node)
        if self.now < node.sync_busy_until or not peers:
            return
        start = node.sync_attempts % len(peers)  # rotate: a silent peer cannot stall us
        node.sync_attempts += 1
        for peer in peers[start:] + peers[:start]:
            if node.bad_peers.get(peer, -1) > self.now or peer == node.pub:
                continue
            node.sync_busy_until = self.now + 4 * self.cfg.retransmit_ms
            self.trace(f"{node.label} FETCH from h{from_height} <- {self.label_of(peer)}")
            self.send(node, peer, "sync_req", from_height)
            return

    def serve_sync(self, node: SimNode, src: SimNode, from_height: int) -> None:
        blocks = node.store[from_height - 1 : from_height - 1 + SYNC_BATCH]
        if not blocks or from_height < 1:
            return
        if node.byzantine is not None and self.byz_rng.chance(700):
            block, cert = blocks[0]
            forged = Block(replace(block.header, time=block.header.time + 7), block.txs)
            bad = CommitCertificate(cert.height, forged.hash, cert.view, cert.signatures)
            blocks = [(forged, bad if self.byz_rng.chance(500) else cert), *blocks[1:]]
        self.send(node, src.pub, "sync_resp", (node.pub, blocks))

    def receive_sync(
        self, node: SimNode, peer: str, blocks: list[tuple[Block, CommitCertificate]]
    ) -> None:
        node.sync_busy_until = 0
        for block, cert in blocks:
            if block.height <= node.height:
                continue
            if not node.up or node.runner is None:
                return
            if self.chain_error(node, block, cert) is not None:
                node.bad_peers[peer] = self.now + 10 * self.cfg.retransmit_ms
                self.trace(f"{node.label} rejects bad sync data from {self.label_of(peer)}")
                return
            blocks_port = node.runner.blocks
            assert isinstance(blocks_port, SimBlocks)
            blocks_port.from_sync = True
            try:
                run_now(node.runner.apply_synced(block, cert))
            except Crashed:
                self.crash(node)
                return
            finally:
                blocks_port.from_sync = False

    # --- mempool and clients ------------------------------------------------------------------

    def admit(self, node: SimNode, tx: Transaction, gossip: bool) -> None:
        if not node.up or tx.hash in node.mempool or tx.hash in node.committed:
            return
        if tx.nonce < node.nonces.get(tx.sender, 0):
            return
        if (tx.hash, tx.signature) not in node.verified:
            if not tx.verify_signature():
                return
            node.verified.add((tx.hash, tx.signature))
        self._seq += 1
        node.mempool[tx.hash] = (self._seq, tx)
        node.offer_dirty = True
        if gossip:
            self.broadcast(node, "gossip", tx)

    def offer(self, node: SimNode) -> None:
        node.offer_dirty = False
        pending = sorted(node.mempool.values(), key=lambda st: (st[1].nonce, st[0]))
        expected = dict(node.nonces)
        batch: list[Transaction] = []
        for _seq, tx in pending:
            if tx.nonce == expected.get(tx.sender, 0):
                if node.byzantine == "censor" and tx.sender == self.client_keys[0].public_hex:
                    continue
                batch.append(tx)
                expected[tx.sender] = tx.nonce + 1
        assert node.replica is not None
        self.perform(node, node.replica.on_request(batch))

    def submit(self, tx: Transaction) -> None:
        self.submitted[tx.hash] = tx
        target = self.fault_rng.choice([n for n in self.honest if n.up] or self.honest)
        self.trace(f"client -> {target.label} tx {tx.sender[:6]}#{tx.nonce}")
        self.admit(target, tx, gossip=True)

    # --- faults -------------------------------------------------------------------------------

    def crash(self, node: SimNode) -> None:
        node.up = False
        node.crash_after = None
        node.replica = None
        node.mempool.clear()
        node.sync_busy_until = 0
        self.trace(f"{node.label} CRASH (journal {len(node.journal)} records, h{node.height})")

    def restart(self, node: SimNode) -> None:
        if node.up:
            return
        node.up = True
        node.crash_after = None
        self._build_replica(node)
        self.trace(
            f"{node.label} RESTART at h{node.height} view {node.replica.view if node.replica else '?'}"
        )

    def plan_faults(self) -> None:
        s, rng = self.settings, self.fault_rng
        if self.mix.partitions:
            t = rng.between(200, 1500)
            while t < s.fault_ms - 300:
                length = rng.between(300, 2500)
                self.schedule(t, "partition", None)
                self.schedule(min(t + length, s.fault_ms), "unpartition", None)
                t += length + rng.between(100, 1500)
        if self.mix.crashes:
            for _ in range(rng.between(1, 3)):
                victim = rng.choice(self.honest)
                at = rng.between(300, s.fault_ms - 300)
                self.schedule(at, "crash", victim)
                self.schedule(min(at + rng.between(100, 2500), s.fault_ms), "restart", victim)
        if self.mix.byzantine == "oldview":
            for node in self.nodes:
                if node.byzantine:
                    t = rng.between(500, 1500)
                    while t < s.fault_ms + s.liveness_ms:
                        self.schedule(t, "amnesia", node)
                        t += rng.between(800, 2500)

    def make_partition(self) -> None:
        groups = self.fault_rng.between(2, 3)
        self.partition = {pub: self.fault_rng.below(groups) for pub in self.cfg.validators}
        self.trace(f"PARTITION {sorted((self.label_of(p), g) for p, g in self.partition.items())}")

    def byzantine_noise(self, node: SimNode) -> None:
        rng = self.byz_rng
        if node.byzantine == "garbage" and rng.chance(150):
            target = rng.choice([p for p in self.cfg.validators if p != node.pub])
            self.send(node, target, "raw", self.garbage(node))
        elif node.byzantine == "replay" and node.replay and rng.chance(300):
            for _ in range(rng.between(1, 3)):
                target = rng.choice([p for p in self.cfg.validators if p != node.pub])
                self.send(node, target, "raw", rng.choice(node.replay))

    def garbage(self, node: SimNode) -> Any:
        rng = self.byz_rng
        kind = rng.below(8)
        if kind == 0:
            return {"type": "prepare", "view": "x", "height": -1}
        if kind == 1:
            return [rng.next_u64() for _ in range(rng.below(50))]
        if kind == 2:  # validly signed, absurd view: must not drag anyone along
            vc = make_view_change(
                node.key, SIM_CHAIN_ID, 10**12 + rng.below(1000), 0, None, None, None
            )
            return encode_message(vc)
        if kind == 3:  # far-future height
            return encode_message(make_prepare(node.key, SIM_CHAIN_ID, 0, 10**9, "ab" * 32))
        if kind == 4:  # bad signature
            msg = encode_message(make_commit(node.key, SIM_CHAIN_ID, 0, 1, "cd" * 32))
            msg["signature"] = "00" * 64
            return msg
        if kind == 5:  # oversized
            return {
                "type": "new_view",
                "view": 1,
                "view_changes": [{}] * 5000,
                "pre_prepare": None,
                "sender": node.pub,
                "signature": "00" * 64,
            }
        if kind == 6:  # forged sender
            other = rng.choice([p for p in self.cfg.validators if p != node.pub])
            msg = encode_message(make_prepare(node.key, SIM_CHAIN_ID, 0, 1, "ef" * 32))
            msg["sender"] = other
            return msg
        hdr = BlockHeader(1, GENESIS_HASH, "00" * 32, 1, GENESIS_ROOT, EMPTY_ROOT, 1, node.pub, 0)
        return {
            "type": "pre_prepare",
            "view": 0,
            "block": {"header": hdr.to_dict(), "txs": [{"a": 1}]},
            "sender": node.pub,
            "signature": "11" * 64,
        }

    # --- the event loop -----------------------------------------------------------------------

    def deliver(self, src: SimNode, dst: SimNode, kind: str, payload: Any) -> None:
        if not dst.up or (not src.up and kind != "msg"):
            return
        if not self._reachable(src, dst):
            return  # the link was cut while the message was in flight
        if kind == "gossip":
            self.admit(dst, payload, gossip=False)
        elif kind == "sync_req":
            self.serve_sync(dst, src, payload)
        elif kind == "sync_resp":
            self.receive_sync(dst, payload[0], payload[1])
        elif kind in ("msg", "raw"):
            try:
                msg = decode_message(payload)
            except MessageError:
                return
            if not verify_message(msg, SIM_CHAIN_ID, self.cfg.validators):
                return
            if dst.byzantine == "replay" and len(dst.replay) < REPLAY_MEMORY:
                dst.replay.append(payload)
            if dst.byzantine == "equivocate":
                self.remember(dst, msg)
            assert dst.replica is not None
            self.perform(dst, dst.replica.on_message(msg))
        if dst.up and dst.offer_dirty:
            self.offer(dst)

    def remember(self, node: SimNode, msg: Message) -> None:
        """What an equivocating node keeps to build sly NEW-VIEWs: view changes, block bodies."""
        if isinstance(msg, ViewChange):
            views = node.seen_vcs.setdefault(msg.view, {})
            if len(node.seen_vcs) <= REPLAY_MEMORY:
                views[msg.sender] = msg
            if msg.block is not None:
                self.remember_block(node, msg.block)
        elif isinstance(msg, PrePrepare):
            self.remember_block(node, msg.block)
        elif isinstance(msg, NewView) and msg.pre_prepare is not None:
            self.remember_block(node, msg.pre_prepare.block)

    def all_done(self) -> bool:
        if len(self.submitted) < self.settings.clients * self.settings.txs_per_client:
            return False
        for node in self.honest:
            if not node.up or len(node.committed) != len(self.submitted):
                return False
        return True

    def run(self) -> SimResult:
        s = self.settings
        failure: str | None = None
        try:
            self._run()
        except SimFailure as exc:
            failure = str(exc)
        except Exception as exc:  # a crash in the replica or simulator is a failing seed
            log.exception("simulation seed %d crashed", self.seed)
            failure = f"exception: {type(exc).__name__}: {exc}"
        heights = [n.height for n in self.honest]
        views = [n.replica.view for n in self.honest if n.replica is not None]
        del s
        return SimResult(
            seed=self.seed,
            mix=self.mix.name,
            nodes=self.cfg.n,
            ok=failure is None,
            failure=failure,
            sim_ms=self.now,
            blocks=max(heights) if heights else 0,
            txs=len(self.txs_committed),
            max_view=max(views) if views else 0,
            events=self.events,
        )

    def _run(self) -> None:
        s = self.settings
        self.plan_faults()
        for c, key in enumerate(self.client_keys):
            t = self.fault_rng.between(0, 300)
            to = self.client_keys[(c + 1) % len(self.client_keys)].public_hex
            for nonce in range(s.txs_per_client):
                tx = make_transfer(key, SIM_CHAIN_ID, nonce, to, 1 + nonce)
                self.schedule(t, "submit", tx)
                t += self.fault_rng.between(50, max(60, s.fault_ms // s.txs_per_client))
        for node in self.nodes:
            self.schedule(self.fault_rng.between(0, s.tick_ms), "tick", node)
        self.schedule(s.fault_ms, "heal", None)
        self.schedule(s.client_retry_ms, "client_retry", None)
        deadline = s.fault_ms + s.liveness_ms
        while self._queue:
            at, _seq, kind, data = heapq.heappop(self._queue)
            self.now = at
            self.events += 1
            if self.events > MAX_EVENTS:
                self.fail("runaway: too many events")
            if self.healed and at > deadline:
                self.fail(self.liveness_report())
            self.step(kind, data)
            if self.healed and kind == "tick" and self.all_done():
                self.final_checks()
                return
        self.fail("event queue drained")

    def step(self, kind: str, data: Any) -> None:
        s = self.settings
        if kind == "deliver":
            self.deliver(*data)
        elif kind == "tick":
            node: SimNode = data
            self.schedule(self.now + s.tick_ms, "tick", node)
            if not node.up or node.replica is None:
                return
            self.perform(node, node.replica.on_tick(self.mono(node), self.now))
            if node.up and node.crash_after is not None:
                self.crash(node)
                return
            if node.up and node.offer_dirty:
                self.offer(node)
            if node.byzantine:
                self.byzantine_noise(node)
        elif kind == "submit":
            self.submit(data)
        elif kind == "client_retry":
            self.schedule(self.now + s.client_retry_ms, "client_retry", None)
            for tx in self.submitted.values():
                if tx.hash not in self.txs_committed:
                    target = self.fault_rng.choice([n for n in self.honest if n.up] or self.honest)
                    self.admit(target, tx, gossip=True)
        elif kind == "partition":
            self.make_partition()
        elif kind == "unpartition":
            self.partition = None
            self.trace("PARTITION healed")
        elif kind == "crash":
            victim: SimNode = data
            if victim.up and not self.healed:
                victim.crash_after = self.fault_rng.below(4)
                self.trace(f"{victim.label} will crash after {victim.crash_after} actions")
        elif kind == "restart":
            self.restart(data)
        elif kind == "amnesia":
            amnesiac: SimNode = data
            if amnesiac.up:
                amnesiac.journal.clear()
                self._build_replica(amnesiac)
                self.trace(f"{amnesiac.label} (byzantine) forgets its journal and view")
        elif kind == "heal":
            self.healed = True
            self.partition = None
            for node in self.nodes:
                if not node.up:
                    self.restart(node)
                node.crash_after = None
            self.trace("HEAL: network reliable, all nodes up")

    def liveness_report(self) -> str:
        missing = len(self.submitted) - min(len(n.committed) for n in self.honest)
        states = ", ".join(
            f"{n.label}:h{n.height}/v{n.replica.view if n.replica else '-'}"
            f"{'(vc)' if n.replica and n.replica.in_view_change else ''}"
            for n in self.nodes
        )
        return (
            f"LIVENESS: {missing} submitted transactions not committed everywhere "
            f"{self.settings.liveness_ms} ms after healing [{states}]"
        )

    def final_checks(self) -> None:
        for node in self.honest:
            assert node.replica is not None
            if node.replica.buffered > self.cfg.max_buffered_messages:
                self.fail(
                    f"{node.label}: {node.replica.buffered} buffered messages exceed the bound"
                )
            if node.replica.height != node.height:
                self.fail(
                    f"{node.label}: replica height {node.replica.height} != stored {node.height}"
                )


def run_seed(
    seed: int,
    nodes: int = 4,
    mixes: tuple[str, ...] = tuple(FAULT_MIXES),
    settings: SimSettings | None = None,
    trace: Callable[[str], None] | None = None,
) -> SimResult:
    """Run one seed; the fault mix is chosen by the seed from ``mixes``."""
    mix = mixes[seed % len(mixes)]
    return Simulation(seed, nodes, mix, settings, trace).run()


class Crashed(Exception):
    """A planned crash, raised by a port between two of the runner's actions."""


class SimJournal:
    """The journal port: a list that survives the node's crashes (it is the node's disk)."""

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim, self.node = sim, node

    async def append(self, records: Sequence[Any]) -> None:
        self.sim.gate(self.node)
        self.node.journal.extend(records)

    async def prune(self, below_height: int) -> None:
        self.sim.gate(self.node)
        self.node.journal = [r for r in self.node.journal if r["height"] >= below_height]


class SimTransport:
    """The transport port: the virtual network, with the simulator's honesty checks."""

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim, self.node = sim, node

    def broadcast(self, msg: Message) -> None:
        self.sim.gate(self.node)
        for pub in self.sim.cfg.validators:
            if pub != self.node.pub:
                self.sim.outbound(self.node, pub, msg)

    def send(self, to: str, msg: Message) -> None:
        self.sim.gate(self.node)
        self.sim.outbound(self.node, to, msg)

    def forward(self, to: str, txs: Sequence[Transaction]) -> None:
        self.sim.gate(self.node)
        for tx in txs:
            self.sim.send(self.node, to, "gossip", tx)


class SimBlocks:
    """The block applier port: the node's store and trivial app."""

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim, self.node = sim, node
        self.from_sync = False  # set while state sync applies a block (for the trace and faults)

    async def apply_block(self, block: Block, cert: CommitCertificate) -> list[Action]:
        return self.sim.apply_block(self.node, block, cert, self.from_sync)


class SimFetch:
    """The state transfer port: asks a peer over the virtual network."""

    def __init__(self, sim: Simulation, node: SimNode) -> None:
        self.sim, self.node = sim, node

    def fetch(self, from_height: int, peers: tuple[str, ...]) -> None:
        self.sim.request_sync(self.node, from_height, peers)
