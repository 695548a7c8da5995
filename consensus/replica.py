"""The PBFT replica as a pure state machine: inputs in, actions out, no I/O and no clock.

One block is in flight at a time: the primary proposes height h+1 only after it executed h, and
a backup votes on h+1 only after it executed h. That keeps the log to a single open slot, so a
VIEW-CHANGE carries at most one prepared certificate (for last_height + 1) next to the commit
certificate of its last executed block.

Safety rests on four rules, each enforced here:

1. every vote is journaled (a ``Persist`` action) before it is sent, and a replica never signs a
   second, different vote for the same (kind, view, height) -- not even after a restart;
2. a backup prepares only a block that passed every header check and the injected transaction
   check, and commits only after 2f+1 prepares for the same (view, height, block);
3. a block is handed to the runtime only with 2f+1 commit signatures (a CommitCertificate);
4. a new primary re-proposes the prepared block with the highest view found in 2f+1
   VIEW-CHANGEs, and every backup recomputes that choice before accepting the NEW-VIEW.

Liveness comes from retransmission, view changes with doubling timeouts, a request timer per
offered transaction (a censoring primary is replaced), and asking for state transfer whenever
peers prove they are ahead.

Two kinds of failure are kept apart. Bad input from outside (a forged, stale, out-of-window or
conflicting message) is refused and counted in ``stats``, never raised. A broken internal
invariant -- the replica about to sign a second vote for a slot, resend an unjournaled message,
commit or adopt a block without a certificate or one that does not chain -- raises
``InvariantViolation`` (``consensus/invariants.py``) with the invariant and the state that broke
it. Inputs are not wrapped in a catch-all: the runtime stops the node on any exception from an
input (``node/supervise.py``) rather than run on with a replica in an unknown state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate, tx_root
from chain.crypto import KeyPair
from chain.errors import ConfigError
from chain.tx import Transaction
from chain.validity import block_body_problem
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
from consensus.invariants import (
    APPLIED_IN_ORDER,
    CHECKPOINT_NOT_ABOVE_COMMITTED,
    COMMIT_NEEDS_CERTIFICATE,
    JOURNALED_BEFORE_SENT,
    ONE_VOTE_PER_SLOT,
    PARENT_HASH_CHAINS,
    invariant,
)
from consensus.messages import (
    Checkpoint,
    Commit,
    Message,
    NewView,
    Prepare,
    PreparedCert,
    PrePrepare,
    ViewChange,
    certificate_is_valid,
    make_checkpoint,
    make_commit,
    make_new_view,
    make_pre_prepare,
    make_prepare,
    make_view_change,
    strip_block,
    verify_message,
)
from consensus.quorum import ADDED, COMMIT, DUPLICATE, EQUIVOCATION, PREPARE, VoteBook
from consensus.records import (
    JournalRecord,
    NewViewAccepted,
    RecordError,
    ViewRecord,
    VoteRecord,
    record_from_dict,
)

log = logging.getLogger(__name__)

MAX_VIEW_AHEAD = 16  # normal-case messages for views further ahead than this are dropped
MAX_OFFERED_TXS = 20_000  # transactions kept from one on_request offer
MAX_FORWARDED_TXS = 1_000  # transactions forwarded to the primary per retransmit period
FETCH_RETRY_FACTOR = 4  # re-request state transfer every this many retransmit periods
PROBE_FACTOR = 10  # an idle replica announces its height every this many retransmit periods
MAX_CERT_CACHE = 1_024  # verified certificates remembered (by their signatures)


class BlockValidator(Protocol):
    def validate_block_txs(self, block: Block) -> str | None:
        """None if every transaction in ``block`` is valid on the current state, else a reason."""
        ...


def choose_prepared(view_changes: Sequence[ViewChange]) -> tuple[int, PreparedCert | None]:
    """(max committed height H, the prepared cert for H+1 with the highest view, if any)."""
    top = max(vc.last_height for vc in view_changes)
    best: PreparedCert | None = None
    for vc in view_changes:
        p = vc.prepared
        if p is None or p.height != top + 1:
            continue
        if best is None or (p.view, p.block_hash) > (best.view, best.block_hash):
            best = p
    return top, best


class Replica:
    """A sans-I/O PBFT replica; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        config: ConsensusConfig,
        key: KeyPair,
        validator: BlockValidator,
        *,
        last_height: int,
        last_block_hash: str,
        last_state_root: str,
        last_receipts_root: str,
        last_block_time: int,
        journal: Sequence[dict[str, Any]] = (),
        mono_ms: int = 0,
        wall_ms: int = 0,
        last_certificate: CommitCertificate | None = None,
    ) -> None:
        self._cfg = config
        self._key = key
        self._me = key.public_hex
        self._validator = validator
        self._vset = frozenset(config.validators)
        if self._me not in self._vset:
            raise ConfigError("this node's key is not in the validator set")
        self._quorum = config.quorum
        self._f = config.f
        self._stats: dict[str, int] = {}
        self._init_chain_position(
            last_height,
            last_block_hash,
            last_state_root,
            last_receipts_root,
            last_block_time,
            last_certificate,
        )
        self._init_views()
        self._init_open_slot()
        self._init_offer()
        self._init_checkpoints()
        self._init_catch_up()
        self._init_timers(mono_ms, wall_ms)
        self._restore(journal)

    def _init_chain_position(
        self,
        height: int,
        block_hash: str,
        state_root: str,
        receipts_root: str,
        block_time: int,
        certificate: CommitCertificate | None,
    ) -> None:
        """Where the executed chain ends (the runtime's store is the source of truth)."""
        self._height = height
        self._last_hash = block_hash
        self._state_root = state_root
        # the last executed block's receipts, which the next header anchors (EMPTY_ROOT: none)
        self._receipts_root = receipts_root
        self._last_time = block_time
        self._last_cert: CommitCertificate | None = None
        if (
            certificate is not None
            and certificate.height == height
            and certificate.block_hash == block_hash
        ):
            self._last_cert = certificate
        self._last_commit_msg: Commit | None = None

    def _init_views(self) -> None:
        self._view = 0
        self._in_vc = False
        self._vc_deadline: int | None = None
        self._vc_failures = 0
        self._my_vc: ViewChange | None = None
        self._vcs: dict[str, ViewChange] = {}
        self._nv_height = 0  # NEW-VIEW constraint for the current view: height ...
        self._nv_hash: str | None = None  # ... must carry this block (None: any valid block)
        self._nv_msg: NewView | None = None  # proof of the current view, sent or accepted
        self._nv_sent: dict[int, NewView] = {}
        self._restored_nv: dict[int, tuple[int, str | None]] = {}

    def _init_open_slot(self) -> None:
        """The open slot (last_height + 1), buffered future heights and our own votes."""
        budget = max(64, self._cfg.max_buffered_messages // self._cfg.n)
        self._book = VoteBook(budget)
        self._pps: dict[tuple[int, int], PrePrepare] = {}
        self._blocks: dict[str, Block] = {}
        self._accepted: set[tuple[int, int, str]] = set()
        self._rejected: set[tuple[int, int, str]] = set()
        self._my_votes: dict[tuple[str, int, int], str] = {}
        self._my_msgs: dict[tuple[str, int, int], Message] = {}
        # signatures of our messages whose record was persisted (see _journal, _resend)
        self._journaled: dict[str, int] = {}
        self._prepared: PreparedCert | None = None
        self._commit_pending: int | None = None
        self._pending_cert: CommitCertificate | None = None
        self._cert_cache: set[tuple[int, str, int, tuple[tuple[str, str], ...]]] = set()

    def _init_offer(self) -> None:
        """Requests offered by the mempool."""
        self._offer: list[Transaction] = []
        self._offer_seen: dict[str, int] = {}
        self._offer_oldest: int | None = None
        self._offer_limited = False  # the mempool left a ready tx out: the offer fills a block
        self._offer_stale = False  # our own proposal from this offer was invalid
        self._forwarded: set[str] = set()  # offered txs sent to this view's primary
        self._forward_at = 0  # the next look for offered txs to forward

    def _init_checkpoints(self) -> None:
        interval = self._cfg.checkpoint_interval
        self._stable = self._height - self._height % interval
        self._cp_votes: dict[int, dict[str, tuple[str, str]]] = {}
        self._my_checkpoint: Checkpoint | None = None

    def _init_catch_up(self) -> None:
        self._peer_heights: dict[str, int] = {}
        self._peer_views: dict[str, int] = {}
        self._proven_height = 0  # highest height proven committed by a certificate we checked
        self._proven_peers: tuple[str, ...] = ()
        self._missing_block_voters: tuple[str, ...] = ()
        self._behind_since: int | None = None
        self._next_fetch = 0

    def _init_timers(self, mono_ms: int, wall_ms: int) -> None:
        """``_now`` is logical time: it follows ``mono_ms`` but one tick moves it a bounded step."""
        self._now = mono_ms
        self._mono = mono_ms  # the last monotonic reading, to measure the next tick's step
        self._wall = wall_ms  # wall clock: block times only (see on_tick)
        self._progress_ms = mono_ms
        self._applied_ms = mono_ms
        self._retransmit_at = mono_ms + self._cfg.retransmit_ms
        self._answered: dict[str, int] = {}
        self._probe_at = mono_ms
        self._probes_sent = 0
        self._probe_height = -1

    # --- read-only views ----------------------------------------------------------------------

    @property
    def view(self) -> int:
        return self._view

    @property
    def primary(self) -> str:
        return self._cfg.primary(self._view)

    @property
    def height(self) -> int:
        return self._height

    @property
    def last_block_hash(self) -> str:
        return self._last_hash

    @property
    def in_view_change(self) -> bool:
        return self._in_vc

    @property
    def stable_checkpoint(self) -> int:
        return self._stable

    @property
    def stats(self) -> dict[str, int]:
        return dict(self._stats)

    @property
    def buffered(self) -> int:
        """Messages held in memory for open or future slots (bounded)."""
        return len(self._book) + len(self._pps) + sum(len(v) for v in self._cp_votes.values())

    # --- inputs -------------------------------------------------------------------------------

    def on_message(self, msg: Message) -> list[Action]:
        """A decoded message whose top-level signature the runtime verified (verify_message)."""
        return self._on_message(msg)

    def on_tick(self, mono_ms: int, wall_ms: int) -> list[Action]:
        """Time passes: ``mono_ms`` drives every timer, ``wall_ms`` only block times.

        ``mono_ms`` is a monotonic clock (any origin, never jumps), so a wall-clock step cannot
        fire every timer at once or freeze them; one tick moves the timers by at most
        ``max_tick_step_ms``, so a long pause of the process does not either. ``wall_ms`` (ms since the Unix epoch) is what
        a block we propose is stamped with and what a proposed block's time is checked against
        (at most ``max_clock_drift_ms`` ahead); it may jump, block times stay increasing anyway.
        """
        return self._on_tick(mono_ms, wall_ms)

    def on_request(self, batch: Sequence[Transaction], *, full: bool = False) -> list[Action]:
        """The mempool's latest ready transactions (replaces the previous offer).

        ``full``: a limit of the mempool's (block bytes, or the block gas limit, which the replica
        does not see) left a ready tx out of the batch, so a block of it goes at once, unpaced,
        like a batch of ``block_max_txs``.
        """
        if len(batch) > MAX_OFFERED_TXS:
            self._count("offer_truncated")
        offer = list(batch[:MAX_OFFERED_TXS])
        seen = {tx.hash: self._offer_seen.get(tx.hash, self._now) for tx in offer}
        self._offer = offer
        self._offer_limited = full
        self._offer_seen = seen
        self._offer_oldest = min(seen.values()) if seen else None
        self._offer_stale = False
        if self._forwarded:
            self._forwarded.intersection_update(seen)
        return self._advance()

    def on_block_applied(
        self,
        block: Block,
        state_root: str,
        certificate: CommitCertificate | None = None,
        *,
        receipts_root: str,
    ) -> list[Action]:
        """Block ``block.height`` was executed and stored; ``state_root`` is the state after it
        and ``receipts_root`` the root of its receipts (``chain.block.receipts_root``).

        Call it in height order for every stored block, whether it came from our CommitBlock
        or from state transfer; pass the block's certificate for state-transferred blocks so
        this replica can prove its height in a VIEW-CHANGE.
        """
        return self._on_block_applied(block, state_root, receipts_root, certificate)

    # --- helpers ------------------------------------------------------------------------------

    def _count(self, name: str, by: int = 1) -> None:
        self._stats[name] = self._stats.get(name, 0) + by

    def _is_primary(self) -> bool:
        return self._cfg.primary(self._view) == self._me

    def _active(self) -> bool:
        return not self._in_vc

    def _note_peer(self, sender: str, applied: int, view: int | None = None) -> None:
        if applied > self._peer_heights.get(sender, -1):
            self._peer_heights[sender] = applied
        if view is not None and view > self._peer_views.get(sender, -1):
            self._peer_views[sender] = view

    def _behind_in_views(self) -> bool:
        """f+1 peers use views above ours: we missed a NEW-VIEW and should make them show it."""
        above = sum(1 for v in self._peer_views.values() if v > self._view)
        return above >= self._f + 1

    def _journal(self, record: JournalRecord) -> Persist:
        """The Persist action for ``record``; a message in it counts as journaled from now on."""
        if isinstance(record, VoteRecord):
            self._mark_journaled(record.msg, record.height)
        return Persist(record.to_dict())

    def _mark_journaled(self, msg: Message, height: int) -> None:
        self._journaled[msg.signature] = height
        if isinstance(msg, NewView) and msg.pre_prepare is not None:
            self._journaled[msg.pre_prepare.signature] = height

    def _persist_send(
        self,
        msg: Message,
        height: int,
        prepared: PreparedCert | None = None,
        block: Block | None = None,
    ) -> list[Action]:
        return [self._journal(VoteRecord(height, msg, prepared, block)), Broadcast(msg)]

    def _resend(self, msg: Message, to: str | None = None) -> Action:
        """Send one of our messages again: only what was journaled may leave (rule 1)."""
        invariant(
            msg.signature in self._journaled,
            JOURNALED_BEFORE_SENT,
            message=type(msg).__name__,
            signature=msg.signature[:16],
            view=self._view,
            height=self._height,
        )
        return Broadcast(msg) if to is None else Send(to, msg)

    def _forget_journaled(self) -> None:
        """Keep the journaled-signature set bounded: heights we may still resend, plus the
        checkpoint and VIEW-CHANGE we retransmit whatever their height."""
        keep = {m.signature for m in (self._my_checkpoint, self._my_vc) if m is not None}
        self._journaled = {
            sig: h for sig, h in self._journaled.items() if h >= self._height or sig in keep
        }

    def _record_vote(self, kind: str, view: int, height: int, block_hash: str) -> None:
        """We sign ``block_hash`` for (kind, view, height): never a different one (rule 1)."""
        mine = self._my_votes.get((kind, view, height))
        invariant(
            mine is None or mine == block_hash,
            ONE_VOTE_PER_SLOT,
            kind=kind,
            view=view,
            height=height,
            voted=mine,
            again=block_hash,
        )
        self._my_votes[(kind, view, height)] = block_hash

    def _hold_pre_prepare(self, pp: PrePrepare) -> None:
        """Keep a proposal for its slot: the one place that books a PRE-PREPARE, ours or not.

        Its signature is the primary's PREPARE vote; adding a vote the book holds is a no-op.
        """
        v, h = pp.view, pp.height
        ours = pp.sender == self._me
        if ours:
            self._record_vote(PREPARE, v, h, pp.block_hash)
        if h <= self._height:
            return
        self._pps[(v, h)] = pp
        self._blocks[pp.block_hash] = pp.block
        self._book.add(PREPARE, v, h, pp.block_hash, pp.sender, pp.signature)
        if ours:
            self._accepted.add((v, h, pp.block_hash))
            self._my_msgs[("pre_prepare", v, h)] = pp

    def _cert_ok(self, cert: CommitCertificate) -> bool:
        key = (cert.height, cert.block_hash, cert.view, cert.signatures)
        if key in self._cert_cache:
            return True
        if not certificate_is_valid(cert, self._cfg.chain_id, self._vset):
            return False
        if len(self._cert_cache) >= MAX_CERT_CACHE:
            self._cert_cache.clear()
        self._cert_cache.add(key)
        return True

    def _prepared_ok(self, p: PreparedCert) -> bool:
        key = (p.height, p.block_hash, -1 - p.view, p.signatures)
        if key in self._cert_cache:
            return True
        if not p.verify(self._cfg.chain_id, self._vset, self._quorum):
            return False
        if len(self._cert_cache) >= MAX_CERT_CACHE:
            self._cert_cache.clear()
        self._cert_cache.add(key)
        return True

    def _mark_progress(self) -> None:
        self._progress_ms = self._now
        self._retransmit_at = self._now + self._cfg.retransmit_ms

    # --- dispatch -----------------------------------------------------------------------------

    def _on_message(self, msg: Message) -> list[Action]:
        if msg.sender not in self._vset:
            self._count("non_validator")
            return []
        if msg.sender == self._me:
            self._count("from_self")
            return []
        if isinstance(msg, PrePrepare):
            return self._on_pre_prepare(msg)
        if isinstance(msg, (Prepare, Commit)):
            return self._on_vote(msg)
        if isinstance(msg, Checkpoint):
            return self._on_checkpoint(msg)
        if isinstance(msg, ViewChange):
            return self._on_view_change(msg)
        if isinstance(msg, NewView):
            return self._on_new_view(msg)
        self._count("unknown_message")
        return []

    # --- normal case --------------------------------------------------------------------------

    def _in_window(self, height: int, view: int) -> bool:
        if height > self._height + self._cfg.watermark_window:
            self._count("above_watermark")
            return False
        if height > self._stable + self._cfg.watermark_window + self._cfg.checkpoint_interval:
            self._count("above_watermark")
            return False
        if view > self._view + MAX_VIEW_AHEAD:
            self._count("view_too_far")
            return False
        return True

    def _on_pre_prepare(self, pp: PrePrepare) -> list[Action]:
        if pp.sender != self._cfg.primary(pp.view):
            self._count("pre_prepare_not_from_primary")
            return []
        h = pp.height
        self._note_peer(pp.sender, h - 1, pp.view)
        if h <= self._height:
            if h == self._height and pp.view == self._view and pp.block_hash == self._last_hash:
                return self._help_votes(pp.view)
            self._count("old_height")
            return self._answer_lagging(pp.sender, h) + self._show_view_if_old(pp.sender, pp.view)
        if pp.view < self._view:
            self._count("old_view")
            return self._show_view(pp.sender)
        if not self._in_window(h, pp.view):
            return []
        known = self._pps.get((pp.view, h))
        if known is not None:
            self._count("duplicate" if known.block_hash == pp.block_hash else "equivocation")
            return []
        result = self._book.add(PREPARE, pp.view, h, pp.block_hash, pp.sender, pp.signature)
        if result == EQUIVOCATION:
            self._count("equivocation")
            return []
        if result not in (ADDED, DUPLICATE):
            self._count("buffer_full")
            return []
        self._hold_pre_prepare(pp)
        return self._advance()

    def _on_vote(self, vote: Prepare | Commit) -> list[Action]:
        h = vote.height
        self._note_peer(vote.sender, h - 1, vote.view)
        if h <= self._height:
            self._count("old_height")
            return self._answer_lagging(vote.sender, h) + self._show_view_if_old(
                vote.sender, vote.view
            )
        kind = PREPARE if isinstance(vote, Prepare) else COMMIT
        if kind == PREPARE and vote.view < self._view:
            self._count("old_view")
            return self._show_view(vote.sender)
        if not self._in_window(h, vote.view):
            return []
        result = self._book.add(kind, vote.view, h, vote.block_hash, vote.sender, vote.signature)
        if result == DUPLICATE:
            self._count("duplicate")
            return []
        if result == EQUIVOCATION:
            self._count("equivocation")
            return []
        if result != ADDED:
            self._count("buffer_full")
            return []
        if h != self._height + 1:
            return []
        return self._advance()

    def _validate(self, pp: PrePrepare) -> str | None:
        """Why this proposal must not be prepared, or None if it is acceptable."""
        block = pp.block
        hdr = block.header
        if hdr.height != self._height + 1:
            return "wrong height"
        if hdr.prev_hash != self._last_hash:
            return "wrong prev_hash"
        if hdr.state_root != self._state_root:
            return "wrong state_root"
        if hdr.receipts_root != self._receipts_root:
            return "wrong receipts_root"
        if not block.txs and not self._anchor_due():
            return "empty block, and no receipts of the previous block to anchor"
        if hdr.time <= self._last_time:
            return "time not after the previous block"
        if hdr.time > self._wall + self._cfg.max_clock_drift_ms:
            return "time too far in the future"
        if hdr.view > pp.view or hdr.proposer != self._cfg.primary(hdr.view):
            return "wrong proposer or view"
        if pp.view == self._view and hdr.height < self._nv_height:
            return "height already committed before this view began"
        if pp.view == self._view and self._nv_height == hdr.height and self._nv_hash is not None:
            if pp.block_hash != self._nv_hash:
                return "block differs from the one the new view must re-propose"
        elif hdr.view != pp.view:
            return "re-proposed block without a new-view that chose it"
        return self._block_problem(block)

    def _block_problem(self, block: Block) -> str | None:
        """The body rules every node decides from the block alone, then the state-dependent ones."""
        problem = block_body_problem(block, self._cfg.chain_id)
        if problem is not None:
            return problem
        return self._validator.validate_block_txs(block)

    def _advance(self) -> list[Action]:
        """Drive the open slot as far as the votes we hold allow."""
        acts: list[Action] = []
        for _ in range(8):  # each pass makes one step; a slot needs at most four
            if self._commit_pending is not None:
                break
            step = self._try_commit() or self._try_prepare() or self._try_propose()
            if not step:
                break
            acts.extend(step)
        return acts

    def _try_commit(self) -> list[Action]:
        h = self._height + 1
        missing: tuple[str, ...] = ()
        for view, block_hash, voters in list(self._book.slots_at(COMMIT, h)):
            if len(voters) < self._quorum:
                continue
            block = self._blocks.get(block_hash)
            if block is None or block.header.height != h:
                missing = tuple(voters)
                continue
            # 2f+1 validators committed it, so at least f+1 honest ones checked that it chains
            # onto the block they executed at h-1 -- which is ours unless our chain is wrong
            invariant(
                block.header.prev_hash == self._last_hash,
                PARENT_HASH_CHAINS,
                height=h,
                block=block_hash,
                prev_hash=block.header.prev_hash,
                our_last_hash=self._last_hash,
            )
            sigs = tuple(sorted(voters.items()))[: self._quorum]
            invariant(
                len(sigs) >= self._quorum and all(v in self._vset for v, _s in sigs),
                COMMIT_NEEDS_CERTIFICATE,
                height=h,
                block=block_hash,
                signatures=len(sigs),
                quorum=self._quorum,
            )
            cert = CommitCertificate(h, block_hash, view, sigs)
            self._commit_pending = h
            self._pending_cert = cert
            self._missing_block_voters = ()
            return [CommitBlock(block, cert)]
        self._missing_block_voters = missing
        return []

    def _try_prepare(self) -> list[Action]:
        if not self._active():
            return []
        h, v = self._height + 1, self._view
        pp = self._pps.get((v, h))
        if pp is None:
            return []
        slot = (v, h, pp.block_hash)
        if slot in self._rejected:
            return []
        acts: list[Action] = []
        if slot not in self._accepted:
            reason = self._validate(pp)
            if reason is not None:
                self._count("invalid_block")
                log.info("refusing block %d from %s: %s", h, pp.sender[:12], reason)
                if reason != "time too far in the future":
                    self._rejected.add(slot)
                return []
            self._accepted.add(slot)
            if pp.sender != self._me:
                mine = self._my_votes.get((PREPARE, v, h))
                if mine is not None and mine != pp.block_hash:
                    self._count("would_equivocate")
                    return []
                if mine is None:
                    prep = make_prepare(self._key, self._cfg.chain_id, v, h, pp.block_hash)
                    self._record_vote(PREPARE, v, h, pp.block_hash)
                    self._my_msgs[(PREPARE, v, h)] = prep
                    self._book.add(PREPARE, v, h, pp.block_hash, self._me, prep.signature)
                    acts.extend(self._persist_send(prep, h))
        if (COMMIT, v, h) in self._my_votes:
            return acts
        voters = self._book.voters(PREPARE, v, h, pp.block_hash)
        if len(voters) < self._quorum:
            return acts
        prepared = PreparedCert(v, h, pp.block_hash, tuple(sorted(voters.items()))[: self._quorum])
        self._set_prepared(prepared)
        commit = make_commit(self._key, self._cfg.chain_id, v, h, pp.block_hash)
        self._record_vote(COMMIT, v, h, pp.block_hash)
        self._my_msgs[(COMMIT, v, h)] = commit
        self._book.add(COMMIT, v, h, pp.block_hash, self._me, commit.signature)
        # the block body is journaled with the prepared certificate so that, after a crash, a
        # VIEW-CHANGE can still hand the block to the next primary for re-proposal
        acts.extend(self._persist_send(commit, h, prepared, pp.block))
        return acts

    def _set_prepared(self, prepared: PreparedCert) -> None:
        """Remember the highest-view prepared certificate for the open slot."""
        old = self._prepared
        if old is not None and (old.view, old.height) == (prepared.view, prepared.height):
            invariant(
                old.block_hash == prepared.block_hash,
                ONE_VOTE_PER_SLOT,
                kind="prepared",
                view=prepared.view,
                height=prepared.height,
                prepared=old.block_hash,
                again=prepared.block_hash,
            )
        if old is None or old.height != prepared.height or old.view < prepared.view:
            self._prepared = prepared

    def _anchor_due(self) -> bool:
        """The last executed block had receipts that no header commits to yet.

        Its receipts root goes into the NEXT header, and a transaction's proof needs that header
        certified, so when no transaction is waiting the primary proposes one empty block to
        anchor them (CometBFT does the same for its app hash when empty blocks are off). The
        empty block has no receipts of its own, so an idle chain stops after it.
        """
        return self._receipts_root != EMPTY_ROOT

    def _try_propose(self) -> list[Action]:
        if not self._active() or not self._is_primary() or self._offer_stale:
            return []
        anchor = not self._offer and self._anchor_due()
        if not self._offer and not anchor:
            return []
        h, v = self._height + 1, self._view
        if (PREPARE, v, h) in self._my_votes or (v, h) in self._pps:
            return []
        if h < self._nv_height:
            return []  # proven committed by the new view's certificates: state transfer it
        if self._nv_height == h and self._nv_hash is not None:
            return []  # the new view's re-proposal owns this height
        if h > self._stable + self._cfg.watermark_window:
            self._count("proposal_blocked_by_watermark")
            return []
        full = self._offer_limited or len(self._offer) >= self._cfg.block_max_txs
        since = self._applied_ms if anchor else self._offer_oldest
        waited = since is not None and self._now - since >= self._cfg.batch_delay_ms
        paced = self._now - self._applied_ms >= self._cfg.block_interval_ms
        if not (full or (waited and paced)):
            return []
        txs: list[Transaction] = []
        size = 0
        for tx in self._offer:
            if len(txs) >= self._cfg.block_max_txs or size + tx.size > self._cfg.block_max_bytes:
                break
            if tx.chain_id != self._cfg.chain_id:
                continue
            txs.append(tx)
            size += tx.size
        if not txs and not anchor:
            self._offer_stale = True
            return []
        header = BlockHeader(
            height=h,
            prev_hash=self._last_hash,
            tx_root=tx_root(txs),
            tx_count=len(txs),
            state_root=self._state_root,
            receipts_root=self._receipts_root,
            time=max(self._wall, self._last_time + 1),
            proposer=self._me,
            view=v,
        )
        block = Block(header, tuple(txs))
        reason = self._block_problem(block)
        if reason is not None:
            log.info("not proposing: own block invalid (%s)", reason)
            self._count("own_block_invalid")
            self._offer_stale = True
            return []
        pp = make_pre_prepare(self._key, self._cfg.chain_id, v, block)
        self._hold_pre_prepare(pp)
        self._count("proposed")
        return self._persist_send(pp, h)

    def _help_votes(self, view: int) -> list[Action]:
        """Vote for the block we already executed, re-proposed in a view we are in.

        Peers that are one block behind need 2f+1 votes in the new view; voting for the block we
        hold a certificate for can never conflict with a vote we cast before.
        """
        if not self._active() or view != self._view:
            return []
        h, block_hash = self._height, self._last_hash
        acts: list[Action] = []
        if (PREPARE, view, h) not in self._my_votes:
            prep = make_prepare(self._key, self._cfg.chain_id, view, h, block_hash)
            self._record_vote(PREPARE, view, h, block_hash)
            acts.extend(self._persist_send(prep, h))
        if (COMMIT, view, h) not in self._my_votes:
            commit = make_commit(self._key, self._cfg.chain_id, view, h, block_hash)
            self._record_vote(COMMIT, view, h, block_hash)
            self._last_commit_msg = commit
            acts.extend(self._persist_send(commit, h))
        return acts

    def _answer_lagging(self, peer: str, height: int) -> list[Action]:
        """A peer spoke about a height we passed: show it our latest commit so it catches up.

        A vote for the height we just executed is usually only late, so we answer that only
        once the height has been finished for a retransmit period.
        """
        if height >= self._height and self._now - self._applied_ms < self._cfg.retransmit_ms:
            return []
        last = self._answered.get(peer)
        if last is not None and self._now - last < self._cfg.retransmit_ms:
            return []
        self._answered[peer] = self._now
        acts: list[Action] = []
        msg = self._last_commit_msg
        if msg is None or msg.height != self._height:
            cert = self._last_cert
            if cert is None or self._height == 0:
                return []
            mine = self._my_votes.get((COMMIT, cert.view, self._height))
            if mine is not None and mine != self._last_hash:
                return []
            msg = make_commit(
                self._key, self._cfg.chain_id, cert.view, self._height, self._last_hash
            )
            self._record_vote(COMMIT, cert.view, self._height, self._last_hash)
            self._last_commit_msg = msg
            acts.append(self._journal(VoteRecord(self._height, msg)))
        acts.append(self._resend(msg, peer))
        return acts

    def _show_view_if_old(self, peer: str, view: int) -> list[Action]:
        return self._show_view(peer) if view < self._view else []

    def _show_view(self, peer: str) -> list[Action]:
        """A peer is in an older view: send it the NEW-VIEW that proves ours (rate-limited)."""
        nv = self._nv_msg
        if nv is None or nv.view != self._view or self._in_vc:
            return []
        key = "nv:" + peer
        last = self._answered.get(key)
        if last is not None and self._now - last < self._cfg.retransmit_ms:
            return []
        self._answered[key] = self._now
        return [Send(peer, nv)]

    # --- execution ----------------------------------------------------------------------------

    def _on_block_applied(
        self,
        block: Block,
        state_root: str,
        receipts_root: str,
        certificate: CommitCertificate | None,
    ) -> list[Action]:
        h = block.header.height
        if h <= self._height:
            self._count("stale_apply")
            return []
        cert = self._check_applied(block, certificate)
        block_hash = block.hash
        self._height = h
        self._last_hash = block_hash
        self._state_root = state_root
        self._receipts_root = receipts_root
        self._last_time = block.header.time
        self._last_cert = cert
        self._commit_pending = None
        self._pending_cert = None
        mine = [m for (kind, _v, hh), m in self._my_msgs.items() if kind == COMMIT and hh == h]
        self._last_commit_msg = next(
            (m for m in mine if isinstance(m, Commit) and m.block_hash == block_hash), None
        )
        # forget the finished slot
        self._book.prune(h)
        self._pps = {k: p for k, p in self._pps.items() if k[1] > h}
        self._blocks = {bh: b for bh, b in self._blocks.items() if b.header.height > h}
        self._accepted = {s for s in self._accepted if s[1] > h}
        self._rejected = {s for s in self._rejected if s[1] > h}
        self._my_msgs = {k: m for k, m in self._my_msgs.items() if k[2] > h}
        self._my_votes = {k: bh for k, bh in self._my_votes.items() if k[2] >= h}
        if self._prepared is not None and self._prepared.height <= h:
            self._prepared = None
        if self._missing_block_voters:
            self._missing_block_voters = ()
        if self._offer:
            done = {tx.hash for tx in block.txs}
            self._offer = [tx for tx in self._offer if tx.hash not in done]
            self._offer_limited = False  # until the mempool's next offer says so again
            for tx_hash in done:
                self._offer_seen.pop(tx_hash, None)
            self._offer_oldest = min(self._offer_seen.values()) if self._offer_seen else None
        if self._active():
            self._vc_failures = 0
        self._forget_journaled()
        self._behind_since = None
        self._applied_ms = self._now
        self._mark_progress()
        self._count("blocks_applied")
        acts: list[Action] = []
        if h % self._cfg.checkpoint_interval == 0:
            acts.extend(self._emit_checkpoint(block_hash, state_root))
        acts.extend(self._advance())
        return acts

    def _check_applied(
        self, block: Block, certificate: CommitCertificate | None
    ) -> CommitCertificate:
        """The runtime stored ``block``: it must be the next one, chain, and have a certificate.

        The runtime executes only blocks the replica committed or state transfer proved, so a
        gap, a block that does not chain onto ours, or one without its certificate means the
        store and the replica disagree: stop rather than adopt it.
        """
        h, block_hash = block.header.height, block.hash
        invariant(h == self._height + 1, APPLIED_IN_ORDER, applied=h, height=self._height)
        invariant(
            block.header.prev_hash == self._last_hash,
            PARENT_HASH_CHAINS,
            height=h,
            block=block_hash,
            prev_hash=block.header.prev_hash,
            our_last_hash=self._last_hash,
        )
        cert = certificate
        if cert is None and self._pending_cert is not None and self._pending_cert.height == h:
            cert = self._pending_cert
        invariant(
            cert is not None and cert.height == h and cert.block_hash == block_hash,
            COMMIT_NEEDS_CERTIFICATE,
            height=h,
            block=block_hash,
            certificate=None if cert is None else (cert.height, cert.block_hash),
        )
        assert cert is not None  # for the type checker: the invariant above holds
        return cert

    # --- checkpoints --------------------------------------------------------------------------

    def _emit_checkpoint(self, block_hash: str, state_root: str) -> list[Action]:
        h = self._height
        cp = make_checkpoint(self._key, self._cfg.chain_id, h, block_hash, state_root)
        self._set_my_checkpoint(cp)
        acts = self._persist_send(cp, h)
        acts.extend(self._add_checkpoint_vote(cp))
        return acts

    def _set_my_checkpoint(self, cp: Checkpoint) -> None:
        """We sign checkpoints only of blocks we executed."""
        invariant(
            cp.height <= self._height,
            CHECKPOINT_NOT_ABOVE_COMMITTED,
            checkpoint=cp.height,
            height=self._height,
        )
        if self._my_checkpoint is None or cp.height > self._my_checkpoint.height:
            self._my_checkpoint = cp

    def _on_checkpoint(self, cp: Checkpoint) -> list[Action]:
        """A checkpoint vote, or (at any height) a status probe from a peer that may be behind."""
        self._note_peer(cp.sender, cp.height)
        acts: list[Action] = []
        if cp.height < self._height:
            acts.extend(self._answer_lagging(cp.sender, cp.height))
        if cp.height <= self._stable or cp.height % self._cfg.checkpoint_interval != 0:
            return acts
        if cp.height > self._stable + 2 * self._cfg.watermark_window:
            self._count("above_watermark")
            return acts
        return acts + self._add_checkpoint_vote(cp)

    def _probe(self) -> list[Action]:
        """Announce our height (a signed checkpoint of our last block) so peers ahead answer.

        A node restarted into an idle cluster hears nothing otherwise and could stay behind
        forever; peers that are ahead reply with their latest commit, which proves it.
        """
        self._count("probes")
        cp = make_checkpoint(
            self._key, self._cfg.chain_id, self._height, self._last_hash, self._state_root
        )
        if self._probe_height == self._height:
            return [self._resend(cp)]  # the identical message is journaled already
        self._probe_height = self._height
        return self._persist_send(cp, self._height)

    def _add_checkpoint_vote(self, cp: Checkpoint) -> list[Action]:
        votes = self._cp_votes.setdefault(cp.height, {})
        known = votes.get(cp.sender)
        if known is not None:
            if known != (cp.block_hash, cp.state_root):
                self._count("equivocation")
            return []
        votes[cp.sender] = (cp.block_hash, cp.state_root)
        matching = sum(1 for v in votes.values() if v == (cp.block_hash, cp.state_root))
        if matching < self._quorum:
            return []
        want = (cp.block_hash, cp.state_root)
        return self._make_stable(cp.height, sorted(s for s, v in votes.items() if v == want))

    def _make_stable(self, height: int, signers: list[str]) -> list[Action]:
        self._stable = height
        self._cp_votes = {h: v for h, v in self._cp_votes.items() if h > height}
        self._count("stable_checkpoints")
        acts: list[Action] = []
        if height > self._height:
            if height > self._proven_height:
                self._proven_height = height
                self._proven_peers = tuple(s for s in signers if s != self._me)
            return self._maybe_fetch(force=True)
        below = min(height, self._height) + 1
        acts.append(self._journal(ViewRecord(below, self._view, self._in_vc)))
        acts.append(PruneJournal(below))
        return acts

    # --- catching up --------------------------------------------------------------------------

    def _maybe_fetch(self, force: bool = False) -> list[Action]:
        if self._commit_pending is not None or self._now < self._next_fetch:
            return []
        target = self._height + 1
        peers: tuple[str, ...] = ()
        if self._proven_height >= target:
            peers = self._proven_peers
        else:
            ahead = sorted(
                ((h, p) for p, h in self._peer_heights.items() if h >= target and p != self._me),
                reverse=True,
            )
            if len(ahead) >= self._f + 1:
                peers = tuple(p for _h, p in ahead)
            elif self._missing_block_voters:
                peers = tuple(p for p in self._missing_block_voters if p != self._me)
            if not peers:
                self._behind_since = None
                return []
            if not force:
                if self._behind_since is None:
                    self._behind_since = self._now
                    return []
                if self._now - self._behind_since < self._cfg.retransmit_ms:
                    return []
        self._next_fetch = self._now + FETCH_RETRY_FACTOR * self._cfg.retransmit_ms
        self._count("fetch_requested")
        others = tuple(p for p in self._cfg.validators if p != self._me and p not in peers)
        return [FetchBlocks(target, tuple(peers) + others)]

    # --- view change --------------------------------------------------------------------------

    def _vc_timeout(self) -> int:
        timeout = self._cfg.view_change_timeout_ms << min(self._vc_failures, 30)
        return min(timeout, self._cfg.max_view_change_timeout_ms)

    def _start_view_change(self, target: int) -> list[Action]:
        if target <= self._view:
            return []
        self._count("view_changes_started")
        log.info("view change %d -> %d at height %d", self._view, target, self._height)
        self._view = target
        self._in_vc = True
        self._vc_deadline = None
        self._nv_height, self._nv_hash, self._nv_msg = 0, None, None
        self._pps = {k: p for k, p in self._pps.items() if k[0] >= target}
        self._my_msgs = {k: m for k, m in self._my_msgs.items() if k[1] >= target}
        self._mark_progress()
        acts = self._issue_view_change()
        acts.extend(self._check_view_changes())
        return acts

    def _issue_view_change(self) -> list[Action]:
        """Sign, journal and broadcast our VIEW-CHANGE for the current view (journal first)."""
        vc = self._build_view_change()
        if vc is None:
            return []
        self._my_vc = vc
        self._vcs[self._me] = vc
        return [self._journal(VoteRecord(self._height + 1, strip_block(vc))), Broadcast(vc)]

    def _build_view_change(self) -> ViewChange | None:
        if self._height > 0 and self._last_cert is None:
            self._count("view_change_without_certificate")
            return None
        prepared = self._prepared
        if prepared is not None and prepared.height != self._height + 1:
            prepared = None
        # Never drop a prepared certificate, even without the block body: it is what stops a
        # new primary from replacing a block that may already be committed somewhere.
        block = self._blocks.get(prepared.block_hash) if prepared is not None else None
        if prepared is not None and block is None:
            self._count("view_change_without_prepared_block")
        cert = self._last_cert if self._height > 0 else None
        return make_view_change(
            self._key, self._cfg.chain_id, self._view, self._height, cert, prepared, block
        )

    def _vc_valid(self, vc: ViewChange) -> bool:
        if vc.last_cert is not None and not self._cert_ok(vc.last_cert):
            return False
        if vc.prepared is not None and not self._prepared_ok(vc.prepared):
            return False
        return True

    def _on_view_change(self, vc: ViewChange) -> list[Action]:
        self._note_peer(vc.sender, vc.last_height)
        acts: list[Action] = []
        if vc.last_height < self._height:
            acts.extend(self._answer_lagging(vc.sender, vc.last_height))
        if vc.view < self._view or (vc.view == self._view and not self._in_vc):
            acts.extend(self._show_view(vc.sender))
            self._count("old_view_change")
            return acts
        known = self._vcs.get(vc.sender)
        if known is not None and (known.view > vc.view or known == vc):
            self._count("duplicate")
            return acts
        if not self._vc_valid(vc):
            self._count("invalid_view_change")
            return acts
        self._vcs[vc.sender] = vc
        if vc.last_height > self._height and vc.last_height > self._proven_height:
            self._proven_height = vc.last_height
            self._proven_peers = (vc.sender,)
            acts.extend(self._maybe_fetch(force=True))
        acts.extend(self._check_view_changes())
        return acts

    def _check_view_changes(self) -> list[Action]:
        acts: list[Action] = []
        higher = sorted(
            (vc.view for s, vc in self._vcs.items() if s != self._me and vc.view > self._view),
            reverse=True,
        )
        if len(higher) >= self._f + 1:
            return self._start_view_change(higher[self._f])
        if not self._in_vc:
            return acts
        votes = [vc for vc in self._vcs.values() if vc.view == self._view]
        if len(votes) < self._quorum:
            return acts
        if self._vc_deadline is None:
            self._vc_deadline = self._now + self._vc_timeout()
        if self._is_primary() and self._view not in self._nv_sent:
            acts.extend(self._send_new_view(votes))
        return acts

    def _send_new_view(self, votes: list[ViewChange]) -> list[Action]:
        mine = [vc for vc in votes if vc.sender == self._me]
        # any 2f+1 valid view changes are safe to use; prefer ones whose prepared block body we
        # can obtain, so one peer that withholds a body cannot stall the new view
        others = sorted(
            (vc for vc in votes if vc.sender != self._me),
            key=lambda vc: (
                vc.prepared is not None
                and vc.block is None
                and vc.prepared.block_hash not in self._blocks,
                vc.sender,
            ),
        )
        chosen_vcs = tuple((mine + others)[: self._quorum])
        top, chosen = choose_prepared(chosen_vcs)
        pp: PrePrepare | None = None
        if chosen is not None:
            block = self._blocks.get(chosen.block_hash)
            if block is None:
                block = next(
                    (vc.block for vc in votes if vc.block and vc.block.hash == chosen.block_hash),
                    None,
                )
            if block is None:
                self._count("new_view_missing_block")
                return []
            pp = make_pre_prepare(self._key, self._cfg.chain_id, self._view, block)
        nv = make_new_view(self._key, self._cfg.chain_id, self._view, chosen_vcs, pp)
        self._nv_sent[self._view] = nv
        acts: list[Action] = self._persist_send(nv, top + 1)
        acts.extend(self._enter_view(nv, top, chosen))
        return acts

    def _nv_valid(self, nv: NewView) -> tuple[int, PreparedCert | None] | None:
        senders = {vc.sender for vc in nv.view_changes}
        if len(senders) != len(nv.view_changes) or len(senders) < self._quorum:
            return None
        for vc in nv.view_changes:
            if vc.view != nv.view or vc.sender not in self._vset:
                return None
            if not verify_message(vc, self._cfg.chain_id, self._vset) or not self._vc_valid(vc):
                return None
        top, chosen = choose_prepared(nv.view_changes)
        pp = nv.pre_prepare
        if chosen is None:
            return (top, None) if pp is None else None
        if pp is None or pp.block_hash != chosen.block_hash or pp.height != top + 1:
            return None
        if pp.sender != nv.sender or not verify_message(pp, self._cfg.chain_id, self._vset):
            return None
        return top, chosen

    def _on_new_view(self, nv: NewView) -> list[Action]:
        if nv.sender != self._cfg.primary(nv.view):
            self._count("new_view_not_from_primary")
            return []
        if nv.view < self._view or (nv.view == self._view and not self._in_vc):
            self._count("old_new_view")
            return []
        checked = self._nv_valid(nv)
        if checked is None:
            self._count("invalid_new_view")
            return []
        top, chosen = checked
        accepted = NewViewAccepted(top + 1, nv.view, chosen.block_hash if chosen else None)
        acts: list[Action] = [self._journal(accepted)]
        acts.extend(self._enter_view(nv, top, chosen))
        return acts

    def _enter_view(self, nv: NewView, top: int, chosen: PreparedCert | None) -> list[Action]:
        self._count("views_entered")
        self._nv_sent = {v: m for v, m in self._nv_sent.items() if v >= nv.view}
        self._view = nv.view
        self._in_vc = False
        self._vc_deadline = None
        self._nv_msg = nv
        self._nv_height = top + 1
        self._nv_hash = chosen.block_hash if chosen else None
        self._vcs = {s: vc for s, vc in self._vcs.items() if vc.view > nv.view}
        self._pps = {k: p for k, p in self._pps.items() if k[0] >= nv.view}
        if self._offer_seen:
            self._offer_seen = dict.fromkeys(self._offer_seen, self._now)
            self._offer_oldest = self._now
        self._forwarded.clear()  # a new primary: it may miss what the last one had
        self._mark_progress()
        acts: list[Action] = []
        pp = nv.pre_prepare
        if pp is not None:
            self._hold_pre_prepare(pp)
            if pp.height == self._height and pp.block_hash == self._last_hash:
                acts.extend(self._help_votes(nv.view))
        if top > self._height and top > self._proven_height:
            self._proven_height = top
            self._proven_peers = tuple(vc.sender for vc in nv.view_changes if vc.last_height == top)
        if top > self._height:
            acts.extend(self._maybe_fetch(force=True))
        acts.extend(self._advance())
        return acts

    # --- time ---------------------------------------------------------------------------------

    def _advance_clock(self, mono_ms: int) -> None:
        """Logical time follows the monotonic clock, at most ``max_tick_step_ms`` per tick.

        After a long pause of the process (a stopped VM, a swap storm, a huge block) every
        deadline has passed at once; taking the pause in bounded steps lets the messages that
        queued up meanwhile be handled between ticks before the timers fire one by one.
        """
        step = mono_ms - self._mono
        if step <= 0:
            return
        self._mono = mono_ms
        self._now += min(step, self._cfg.max_tick_step_ms)

    def _on_tick(self, mono_ms: int, wall_ms: int) -> list[Action]:
        self._advance_clock(mono_ms)
        self._wall = wall_ms
        acts: list[Action] = []
        if self._in_vc:
            if self._vc_deadline is not None and self._now >= self._vc_deadline:
                self._vc_failures += 1
                self._count("view_change_timeouts")
                acts.extend(self._start_view_change(self._view + 1))
        elif (
            not self._is_primary()
            and self._offer_oldest is not None
            and self._now - self._offer_oldest >= self._cfg.request_timeout_ms
        ):
            self._count("request_timeouts")
            acts.extend(self._start_view_change(self._view + 1))
        elif not self._is_primary() and self._now >= self._forward_at:
            acts.extend(self._forward_waiting())
        acts.extend(self._advance())
        acts.extend(self._maybe_fetch())
        if self._now >= self._probe_at:
            interval = PROBE_FACTOR * self._cfg.retransmit_ms
            self._probe_at = self._now + interval
            if self._probes_sent == 0 or self._now - self._applied_ms >= interval:
                self._probes_sent += 1
                acts.extend(self._probe())
        if self._now >= self._retransmit_at:
            self._retransmit_at = self._now + self._cfg.retransmit_ms
            if self._now - self._progress_ms >= self._cfg.retransmit_ms:
                acts.extend(self._retransmit())
        return acts

    def _forward_waiting(self) -> list[Action]:
        """Offered transactions that waited ``forward_after_ms`` go to the primary, once a view.

        Castro and Liskov's backups forward a client's request to the primary. Here gossip
        carries every request to every validator once; a primary whose pool had no room then
        lacks it for good, and the backup holding it would start a view change alone, which
        moves nobody. Looked for once per retransmit period: a scan is O(offer).
        """
        self._forward_at = self._now + self._cfg.retransmit_ms
        due = self._now - self._cfg.forward_after_ms
        if self._offer_oldest is None or self._offer_oldest > due:
            return []
        seen, forwarded = self._offer_seen, self._forwarded
        txs: list[Transaction] = []
        for tx in self._offer:
            if seen[tx.hash] <= due and tx.hash not in forwarded:
                txs.append(tx)
                if len(txs) == MAX_FORWARDED_TXS:
                    break
        if not txs:
            return []
        forwarded.update(tx.hash for tx in txs)
        self._count("txs_forwarded", len(txs))
        return [ForwardTxs(self._cfg.primary(self._view), tuple(txs))]

    def _retransmit(self) -> list[Action]:
        acts: list[Action] = []
        if self._in_vc:
            if self._my_vc is not None and self._my_vc.view == self._view:
                acts.append(self._resend(self._my_vc))
            elif self._my_vc is None or self._my_vc.view != self._view:
                acts.extend(self._issue_view_change())
        else:
            h = self._height + 1
            for (_kind, v, hh), msg in self._my_msgs.items():
                if v == self._view and hh == h:
                    acts.append(self._resend(msg))
        wants_news = bool(self._offer) or self._behind_in_views()
        if not acts and wants_news and self._last_commit_msg is not None:
            acts.append(self._resend(self._last_commit_msg))  # heartbeat: peers ahead answer
        cp = self._my_checkpoint
        if cp is not None and cp.height > self._stable:
            acts.append(self._resend(cp))
        if acts:
            self._count("retransmits")
        return acts

    # --- restart ------------------------------------------------------------------------------

    def _restore(self, journal: Sequence[dict[str, Any]]) -> None:
        """Rebuild our own votes and view from the journal so we never contradict them.

        A record that cannot be read is skipped and counted (``bad_journal_record``); a record
        that reads but contradicts another one (two different votes for one slot, a checkpoint
        above the executed chain) breaks an invariant and stops the node.
        """
        best_view = 0
        active_at_best = True  # view 0 needs no NEW-VIEW
        for raw in journal:
            try:
                record = record_from_dict(raw)
            except RecordError as exc:
                log.warning("skipping unreadable journal record: %s", exc.message)
                self._count("bad_journal_record")
                continue
            view, in_vc = self._restore_record(record)
            if view is None:
                continue
            if view > best_view:
                best_view, active_at_best = view, not in_vc
            elif view == best_view and not in_vc:
                active_at_best = True
        self._view = best_view
        self._in_vc = not active_at_best
        if self._nv_msg is not None and self._nv_msg.view != best_view:
            self._nv_msg = None
        self._nv_height, self._nv_hash = self._restored_nv.get(best_view, (0, None))
        if self._in_vc:
            vc = self._build_view_change()
            if vc is not None:
                self._vcs[self._me] = vc
                # retransmitted as it is only if this exact VIEW-CHANGE is journaled; otherwise
                # the first retransmission journals and sends a fresh one
                self._my_vc = vc if vc.signature in self._journaled else None
        self._forget_journaled()

    def _restore_record(self, record: JournalRecord) -> tuple[int | None, bool]:
        """Apply one record; returns (the view it proves we were in, whether changing it)."""
        match record:
            case ViewRecord(view=view, in_vc=in_vc):
                return view, in_vc
            case NewViewAccepted(height=height, view=view, block_hash=block_hash):
                self._restored_nv[view] = (height, block_hash)
                return view, False
            case VoteRecord():
                if record.msg.sender != self._me:
                    self._count("bad_journal_record")
                    return None, False
                self._mark_journaled(record.msg, record.height)
                return self._restore_vote(record)

    def _restore_vote(self, record: VoteRecord) -> tuple[int | None, bool]:
        msg = record.msg
        match msg:
            case PrePrepare():
                self._hold_pre_prepare(msg)
                return msg.view, False
            case Prepare() | Commit():
                kind = PREPARE if isinstance(msg, Prepare) else COMMIT
                v, h = msg.view, msg.height
                self._record_vote(kind, v, h, msg.block_hash)
                if h > self._height:
                    self._my_msgs[(kind, v, h)] = msg
                    self._book.add(kind, v, h, msg.block_hash, self._me, msg.signature)
                if isinstance(msg, Commit):
                    self._restore_commit(msg, record)
                return v, False
            case Checkpoint():
                self._set_my_checkpoint(msg)
                return None, False
            case ViewChange():
                return msg.view, True
            case NewView():
                self._nv_sent[msg.view] = msg
                top, chosen = choose_prepared(msg.view_changes)
                if self._nv_msg is None or msg.view > self._nv_msg.view:
                    self._nv_msg = msg
                self._restored_nv[msg.view] = (top + 1, chosen.block_hash if chosen else None)
                if msg.pre_prepare is not None:
                    self._hold_pre_prepare(msg.pre_prepare)
                return msg.view, False
        return None, False

    def _restore_commit(self, msg: Commit, record: VoteRecord) -> None:
        if msg.height == self._height and msg.block_hash == self._last_hash:
            self._last_commit_msg = msg
        prepared = record.prepared
        if prepared is None or prepared.height != self._height + 1:
            return
        if self._prepared is None or prepared.view > self._prepared.view:
            self._prepared = prepared
        if record.block is not None:
            self._blocks.setdefault(record.block.hash, record.block)
