"""The mempool: signed transactions waiting for a block, verified once, bounded everywhere.

Admission checks run cheapest first and the signature last, so a flood of bad or duplicate
transactions costs a dict lookup each; a signature is verified at most once per node and the
result is remembered (also for a while after the tx leaves the pool) so block validation can skip
it -- and, the other way round, one the block validator checked is not checked again when the
gossip copy arrives. The memo is keyed by hash *and* signature: the hash covers the body only.
``proposable`` hands out, for each sender, the run of consecutive nonces starting at its committed
nonce, round-robin across senders, and senders that just got transactions into a block move to
the back of the line.

The pool cannot be locked by a few keys (issue 7, finding 4):

* only senders the chain knows (the ``known`` predicate the node passes in) are admitted;
* per sender, the pending txs form a *run* of consecutive nonces from the committed one, then
  *gapped* txs (a missing nonce before them) that cannot execute yet; a gapped nonce must lie
  within ``nonce_window`` of the sender's next nonce (the end of its run), and a gapped tx that is
  still gapped ``gap_ttl_ms`` after admission expires (monotonic clock);
* each sender holds at most ``max_per_sender`` txs; as ``nonce_window <= max_per_sender``, a
  sender at its quota always has a run that will commit and free room (gapped txs are fewer
  than the window), so the quota never deadlocks a sender;
* when the pool is full, a tx that can execute next makes room by evicting, first, the youngest
  gapped tx of the sender with the most gapped txs, else the youngest tx of the sender with the
  most pending txs, as long as that sender holds more than the newcomer. So a sender that holds
  less than the largest one always gets in -- in particular one with nothing pending.

Every operation is O(1) amortised (O(``nonce_window``) at worst when a sender's top is removed).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.block import Block
from chain.errors import (
    AidchainError,
    BadNonce,
    BadSignature,
    MempoolFull,
    UnknownAccount,
    WrongChain,
)
from chain.tx import Transaction

log = logging.getLogger(__name__)

VERIFIED_CACHE_SIZE = 100_000  # hashes remembered as verified after they left the pool


@dataclass(frozen=True, slots=True)
class Ready:
    """A proposable batch; ``full`` when a limit (count, bytes, block gas) left a tx out."""

    txs: list[Transaction]
    full: bool


class _Sender:
    """One sender's pending txs: ``[base, run_end)`` all present, the rest gapped above it."""

    __slots__ = ("base", "ranked_count", "ranked_gapped", "run_end", "top", "txs")

    def __init__(self, base: int) -> None:
        self.txs: dict[int, Transaction] = {}
        self.base = base  # committed nonce
        self.run_end = base  # first nonce >= base that is not pending: the sender's next nonce
        self.top = base - 1  # highest pending nonce (the youngest tx)
        self.ranked_count = 0  # what the rankings currently hold for this sender
        self.ranked_gapped = 0

    @property
    def gapped(self) -> int:
        return len(self.txs) - (self.run_end - self.base)

    def extend_run(self) -> None:
        while self.run_end in self.txs:
            self.run_end += 1

    def lower_top(self) -> None:
        """Recompute ``top`` after it was removed; gapped txs sit within the nonce window."""
        nonce = self.top - 1
        while nonce >= self.base and nonce not in self.txs:
            nonce -= 1
        self.top = nonce


class _Ranking:
    """Senders bucketed by a small positive score; the highest one in O(1) amortised.

    Scores move by small steps (one tx at a time), so walking ``_top`` down to the next
    non-empty bucket is paid for by the steps that raised it.
    """

    __slots__ = ("_buckets", "_pos", "_top")

    def __init__(self) -> None:
        self._buckets: dict[int, list[str]] = {}
        self._pos: dict[str, int] = {}
        self._top = 0

    def move(self, sender: str, old: int, new: int) -> None:
        if old == new:
            return
        if old > 0:
            bucket = self._buckets[old]
            index = self._pos.pop(sender)
            last = bucket.pop()
            if last != sender:
                bucket[index] = last
                self._pos[last] = index
            if not bucket:
                del self._buckets[old]
        if new > 0:
            bucket = self._buckets.setdefault(new, [])
            self._pos[sender] = len(bucket)
            bucket.append(sender)
            self._top = max(self._top, new)

    def top(self) -> tuple[str, int] | None:
        while self._top > 0 and self._top not in self._buckets:
            self._top -= 1
        if self._top == 0:
            return None
        return self._buckets[self._top][0], self._top


class Mempool:
    def __init__(
        self,
        chain_id: str,
        account_nonce: Callable[[str], int],
        *,
        known: Callable[[str], bool] | None = None,
        max_txs: int = limits.DEFAULT_MEMPOOL_MAX_TXS,
        max_per_sender: int = limits.DEFAULT_MEMPOOL_MAX_PER_SENDER,
        nonce_window: int = limits.DEFAULT_MEMPOOL_NONCE_WINDOW,
        gap_ttl_ms: int = limits.DEFAULT_MEMPOOL_GAP_TTL_MS,
        max_bytes: int = limits.DEFAULT_MEMPOOL_MAX_BYTES,
        verified_cache: int = VERIFIED_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``known(sender)`` says whether the chain knows a sender (None: every sender is known,
        for tools without chain state); ``clock`` is monotonic seconds."""
        if min(max_txs, max_per_sender, nonce_window, gap_ttl_ms, max_bytes) <= 0:
            raise ValueError("mempool limits must be positive")
        if verified_cache < 0:
            raise ValueError("verified_cache must not be negative")
        if not nonce_window <= max_per_sender <= max_txs:
            raise ValueError("mempool limits need nonce_window <= max_per_sender <= max_txs")
        self.chain_id = chain_id
        self._account_nonce = account_nonce
        self._known = known
        self.max_txs = max_txs
        self.max_per_sender = max_per_sender
        self.nonce_window = nonce_window
        self.gap_ttl = gap_ttl_ms / 1000
        self.max_bytes = max_bytes
        self._clock = clock
        self._cache_size = verified_cache
        self._txs: dict[str, Transaction] = {}
        # signature -> pending tx: lets a replica decode a proposed block from txs it already
        # validated instead of re-encoding and re-hashing each one
        self._by_sig: dict[str, Transaction] = {}
        self._senders: dict[str, _Sender] = {}
        # senders whose run is not empty, in round-robin order: ``proposable`` never walks senders
        # that hold only gapped txs
        self._runnable: dict[str, _Sender] = {}
        self._by_count = _Ranking()  # senders by pending txs
        self._by_gapped = _Ranking()  # senders by gapped txs
        # (deadline, tx) for every tx that was gapped when admitted; deadlines only grow
        self._gap_deadlines: deque[tuple[float, Transaction]] = deque()
        # txs that left the pool (or were verified in a proposed block): hash -> (committed?,
        # the signature verified for it). The hash covers the body only, so a verified-signature
        # memo must name the signature too.
        self._recent: OrderedDict[str, tuple[bool, str]] = OrderedDict()
        self._bytes = 0
        self._counts: Counter[str] = Counter()

    # --- admission -------------------------------------------------------------------------------
    def add(self, tx: Transaction) -> bool:
        """True if newly added, False if already known; raises a chain.errors type otherwise."""
        try:
            added = self._add(tx)
        except AidchainError as exc:
            self._counts["rejected_" + exc.reason] += 1
            raise
        self._counts["added" if added else "duplicate"] += 1
        return added

    def add_many(self, txs: Iterable[Transaction]) -> list[bool | AidchainError]:
        """Add a gossip batch; per tx the result of ``add`` or the error it raised."""
        out: list[bool | AidchainError] = []
        for tx in txs:
            try:
                out.append(self.add(tx))
            except AidchainError as exc:
                out.append(exc)
        return out

    def _add(self, tx: Transaction) -> bool:
        if tx.chain_id != self.chain_id:
            raise WrongChain(f"transaction is for chain {tx.chain_id!r}, this is {self.chain_id!r}")
        h = tx.hash
        left = self._recent.get(h)
        if h in self._txs or (left is not None and left[0]):
            return False
        self.expire()
        sender, nonce = tx.sender, tx.nonce
        s = self._senders.get(sender)
        if s is None:
            if self._known is not None and not self._known(sender):
                raise UnknownAccount(
                    f"account {sender} is not known to this chain: fund it or have it granted "
                    "a role first",
                    sender=sender,
                )
            base = self._account_nonce(sender)
            s = _Sender(base)
        if nonce < s.base:
            raise BadNonce(
                f"nonce {nonce} is already used; the sender's next nonce is {s.base}",
                expected=s.base,
            )
        if nonce in s.txs:
            raise BadNonce(
                f"another pending transaction from this sender has nonce {nonce}", expected=s.base
            )
        runnable = nonce == s.run_end
        if not runnable and nonce >= s.run_end + self.nonce_window:
            raise MempoolFull(
                f"nonce {nonce} is too far ahead: this sender's next nonce is {s.run_end} and "
                f"at most {self.nonce_window - 1} nonces may be skipped; send the missing ones "
                "first",
                expected=s.run_end,
            )
        if len(s.txs) >= self.max_per_sender:
            raise MempoolFull(
                f"this sender has {len(s.txs)} pending transactions, its quota; retry after "
                "some commit",
                expected=s.run_end,
            )
        size = tx.size
        full = len(self._txs) >= self.max_txs or self._bytes + size > self.max_bytes
        if full and not (runnable and self._can_evict_for(s)):
            raise MempoolFull(
                f"mempool holds its maximum of {self.max_txs} transactions / {self.max_bytes} "
                "bytes; retry later"
            )
        if not self.verified(tx):
            if not tx.verify_signature():
                raise BadSignature("signature does not verify for sender")
            self._counts["verified"] += 1
        while len(self._txs) >= self.max_txs or self._bytes + size > self.max_bytes:
            if not self._evict_one_for(s):
                raise MempoolFull(f"mempool holds its maximum of {self.max_bytes} bytes")
        self._insert(sender, s, tx)
        return True

    def _insert(self, sender: str, s: _Sender, tx: Transaction) -> None:
        nonce = tx.nonce
        if not s.txs:
            self._senders[sender] = s
        s.txs[nonce] = tx
        s.top = max(s.top, nonce)
        if nonce == s.run_end:
            s.extend_run()
        else:
            self._gap_deadlines.append((self._clock() + self.gap_ttl, tx))
            if len(self._gap_deadlines) > 2 * self.max_txs:
                self._compact_deadlines()
        self._txs[tx.hash] = tx
        self._by_sig[tx.signature] = tx
        self._bytes += tx.size
        self._rerank(sender, s)

    # --- eviction and expiry -----------------------------------------------------------------------
    def _can_evict_for(self, s: _Sender) -> bool:
        """Whether a full pool may make room for a runnable tx of ``s`` (see the module doc)."""
        if self._by_gapped.top() is not None:
            return True
        largest = self._by_count.top()
        return largest is not None and largest[1] > len(s.txs)

    def _evict_one_for(self, s: _Sender) -> bool:
        victim = self._by_gapped.top()
        if victim is None:
            victim = self._by_count.top()
            if victim is None or victim[1] <= len(s.txs):
                return False
        sender = victim[0]
        self._evict_top(sender, self._senders[sender])
        return True

    def _evict_top(self, sender: str, s: _Sender) -> None:
        """Drop the youngest (highest-nonce) tx of ``sender``: its run and its gaps stay whole."""
        tx = s.txs[s.top]
        if s.top == s.run_end - 1:
            s.run_end -= 1
        self._drop(sender, s, tx)
        self._counts["evicted"] += 1
        log.debug("mempool evicted %s nonce %d of %s", tx.hash[:12], tx.nonce, sender[:12])

    def _drop(self, sender: str, s: _Sender, tx: Transaction) -> None:
        """Remove one pending tx that is not in a block; the run must stay whole without it."""
        del s.txs[tx.nonce]
        if tx.nonce == s.top:
            s.lower_top()
        del self._txs[tx.hash]
        self._by_sig.pop(tx.signature, None)
        self._bytes -= tx.size
        self._remember(tx, committed=False)
        self._rerank(sender, s)

    def expire(self) -> int:
        """Drop gapped txs whose TTL has passed (still gapped now); returns how many."""
        now = self._clock()
        deadlines = self._gap_deadlines
        dropped = 0
        while deadlines and deadlines[0][0] <= now:
            tx = deadlines.popleft()[1]
            if self._txs.get(tx.hash) is not tx:
                continue  # already committed, evicted or dropped
            s = self._senders[tx.sender]
            if tx.nonce > s.run_end:
                self._drop(tx.sender, s, tx)
                dropped += 1
        self._counts["expired"] += dropped
        return dropped

    def _compact_deadlines(self) -> None:
        """Forget deadlines of txs no longer pending, so the queue stays O(pool size)."""
        self._gap_deadlines = deque(
            item for item in self._gap_deadlines if self._txs.get(item[1].hash) is item[1]
        )

    def _rerank(self, sender: str, s: _Sender) -> None:
        count, gapped = len(s.txs), s.gapped
        self._by_count.move(sender, s.ranked_count, count)
        self._by_gapped.move(sender, s.ranked_gapped, gapped)
        s.ranked_count, s.ranked_gapped = count, gapped
        if s.run_end > s.base:
            if sender not in self._runnable:
                self._runnable[sender] = s  # joins at the back of the round-robin
        else:
            self._runnable.pop(sender, None)
        if not count:
            self._senders.pop(sender, None)

    # --- queries ---------------------------------------------------------------------------------
    def verified(self, tx: Transaction) -> bool:
        """True if this node already verified ``tx``'s signature: the same body *and* signature.

        The hash covers the body only, so a copy of a pending tx with another signature shares
        its hash. Such a copy must not ride on the original's check: a primary could otherwise
        get a block with a forged signature committed, whose inclusion proof never verifies.
        """
        pending = self._txs.get(tx.hash)
        if pending is not None:
            return pending.signature == tx.signature
        left = self._recent.get(tx.hash)
        return left is not None and left[1] == tx.signature

    def note_verified(self, tx: Transaction) -> None:
        """Remember a signature the block validator checked, for a tx this pool does not hold.

        A proposed block often carries txs before their gossip copies arrive; without this
        memo every such copy would be verified a second time on admission.
        """
        if tx.hash not in self._txs and tx.hash not in self._recent:
            self._remember(tx, committed=False)
            self._counts["verified_in_block"] += 1

    def get(self, tx_hash: str) -> Transaction | None:
        return self._txs.get(tx_hash)

    def next_nonce(self, sender: str, committed: int) -> int:
        """The nonce a new transaction from ``sender`` should use: past its pending run here."""
        s = self._senders.get(sender)
        nonce = committed
        if s is not None:
            while nonce in s.txs:
                nonce += 1
        return nonce

    @property
    def by_signature(self) -> Mapping[str, Transaction]:
        """Pending transactions keyed by signature (read-only view, for block decoding)."""
        return self._by_sig

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def stats(self) -> dict[str, int]:
        out = dict(self._counts)
        gapped = self._by_gapped.top()
        out.update(
            size=len(self._txs),
            bytes=self._bytes,
            senders=len(self._senders),
            most_gapped=0 if gapped is None else gapped[1],
        )
        return out

    def proposable(
        self,
        max_txs: int,
        max_bytes: int,
        *,
        max_gas: int | None = None,
        start: Mapping[str, int] | None = None,
    ) -> Ready:
        """Proposable txs, at most ``max_txs`` totalling at most ``max_bytes`` and ``max_gas``,
        and whether a limit left a proposable tx out of them.

        Gas is each tx's ``chain.gas.block_gas`` (intrinsic plus declared), as the replicas count
        it; ``None`` means unlimited.

        Per sender: consecutive nonces from its committed nonce (or from ``start[sender]`` if
        larger -- for a primary with blocks still in flight). One tx per sender per round.

        A full batch fills a block, so the primary need not wait for more (block pacing,
        ``consensus.replica``); under a ledger load the block gas limit, not the tx count, is
        what fills it.
        """
        self.expire()
        out: list[Transaction] = []
        budget = max_bytes
        gas = limits.MAX_BLOCK_GAS if max_gas is None else max_gas
        if max_txs <= 0:
            return Ready(out, full=True)
        full = False
        cursors: list[list[Any]] = []  # [pending dict, next nonce]
        # round one walks the senders lazily so a full batch costs O(max_txs), not O(senders)
        for sender, s in self._runnable.items():
            pending = s.txs
            nonce = s.base
            if start is not None:
                nonce = max(nonce, start.get(sender, nonce))
            tx = pending.get(nonce)
            if tx is None:
                continue
            cost = tx.block_gas
            if tx.size > budget or cost > gas:
                full = True
                continue
            out.append(tx)
            budget -= tx.size
            gas -= cost
            if nonce + 1 in pending:
                cursors.append([pending, nonce + 1])
            if len(out) >= max_txs:
                return Ready(out, full=True)
        while cursors:
            alive = []
            for cursor in cursors:
                pending, nonce = cursor
                tx = pending[nonce]
                cost = tx.block_gas
                if tx.size > budget or cost > gas:
                    full = True
                    continue  # this sender's run stops; smaller txs of others may still fit
                out.append(tx)
                budget -= tx.size
                gas -= cost
                if len(out) >= max_txs:
                    return Ready(out, full=True)
                cursor[1] = nonce + 1
                if nonce + 1 in pending:
                    alive.append(cursor)
            cursors = alive
        return Ready(out, full=full)

    # --- after a commit --------------------------------------------------------------------------
    def on_block_committed(self, block: Block) -> None:
        """Drop the block's txs and any pending tx whose nonce is now used; rotate its senders."""
        touched: dict[str, None] = {}
        for tx in block.txs:
            touched[tx.sender] = None
            mine = self._txs.pop(tx.hash, None)
            if mine is not None:
                self._by_sig.pop(mine.signature, None)
                del self._senders[tx.sender].txs[tx.nonce]
                self._bytes -= mine.size
                self._counts["committed"] += 1
            self._remember(tx, committed=True)
        for sender in touched:
            s = self._senders.get(sender)
            if s is not None:
                self._advance(sender, s, block)
        self.expire()

    def _advance(self, sender: str, s: _Sender, block: Block) -> None:
        """Move ``s`` to its new committed nonce, dropping stale txs; rotate it to the back."""
        old_base, base = s.base, self._account_nonce(sender)
        pending = s.txs
        if base - old_base > len(pending) + len(block.txs):
            stale_nonces: Iterable[int] = [n for n in pending if n < base]
        else:
            stale_nonces = range(old_base, base)
        for nonce in stale_nonces:
            stale = pending.pop(nonce, None)
            if stale is not None:
                del self._txs[stale.hash]
                self._by_sig.pop(stale.signature, None)
                self._bytes -= stale.size
                self._counts["stale_dropped"] += 1
                self._remember(stale, committed=False)
        s.base = base
        s.run_end = max(s.run_end, base)
        s.extend_run()
        if s.top < base:
            s.top = base - 1
        self._runnable.pop(sender, None)  # re-inserted at the back: round-robin across blocks
        self._rerank(sender, s)

    def _remember(self, tx: Transaction, *, committed: bool) -> None:
        if self._cache_size == 0:
            return
        recent = self._recent
        recent[tx.hash] = (committed, tx.signature)
        recent.move_to_end(tx.hash)
        while len(recent) > self._cache_size:
            recent.popitem(last=False)
