"""The mempool: signed transactions waiting for a block, verified once, bounded everywhere.

Admission checks run cheapest first and the signature last, so a flood of bad or duplicate
transactions costs a dict lookup each; a signature is verified at most once per node and the
result is remembered (also for a while after the tx leaves the pool) so block validation can skip
it. Per sender the pool holds a window of future nonces; ``ready`` hands out, for each sender, the
run of consecutive nonces starting at its committed nonce, round-robin across senders, and senders
that just got transactions into a block move to the back of the line.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chain import limits
from chain.block import Block
from chain.errors import AidchainError, BadNonce, BadSignature, MempoolFull, WrongChain
from chain.tx import Transaction

log = logging.getLogger(__name__)

DEFAULT_MEMPOOL_MAX_BYTES = 256 * 1024 * 1024  # summed tx sizes held in the pool
VERIFIED_CACHE_SIZE = 100_000  # hashes remembered as verified after they left the pool


class Mempool:
    def __init__(
        self,
        chain_id: str,
        account_nonce: Callable[[str], int],
        *,
        max_txs: int = limits.DEFAULT_MEMPOOL_MAX_TXS,
        max_per_sender: int = limits.DEFAULT_MEMPOOL_MAX_PER_SENDER,
        max_bytes: int = DEFAULT_MEMPOOL_MAX_BYTES,
        verified_cache: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        if max_txs <= 0 or max_per_sender <= 0 or max_bytes <= 0 or verified_cache < 0:
            raise ValueError("mempool limits must be positive")
        self.chain_id = chain_id
        self._account_nonce = account_nonce
        self.max_txs = max_txs
        self.max_per_sender = max_per_sender
        self.max_bytes = max_bytes
        self._cache_size = verified_cache
        self._txs: dict[str, Transaction] = {}
        # signature -> pending tx: lets a replica decode a proposed block from txs it already
        # validated instead of re-encoding and re-hashing each one
        self._by_sig: dict[str, Transaction] = {}
        # sender -> {nonce: tx}; dict order is the round-robin order of senders
        self._senders: dict[str, dict[int, Transaction]] = {}
        self._base: dict[str, int] = {}  # committed nonce of each sender with pending txs
        self._recent: OrderedDict[str, bool] = OrderedDict()  # left the pool: hash -> committed?
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
        if h in self._txs or self._recent.get(h) is True:
            return False
        sender, nonce = tx.sender, tx.nonce
        base = self._base.get(sender)
        if base is None:
            base = self._account_nonce(sender)
        if nonce < base:
            raise BadNonce(
                f"nonce {nonce} is already used; the sender's next nonce is {base}", expected=base
            )
        if nonce >= base + self.max_per_sender:
            raise MempoolFull(
                f"nonce window full: nonce {nonce} is {self.max_per_sender} or more ahead of the "
                f"sender's next nonce {base}; retry later",
                expected=base,
            )
        pending = self._senders.get(sender)
        if pending is not None and nonce in pending:
            raise BadNonce(
                f"another pending transaction from this sender has nonce {nonce}", expected=base
            )
        if len(self._txs) >= self.max_txs:
            raise MempoolFull(
                f"mempool holds its maximum of {self.max_txs} transactions; retry later"
            )
        size = tx.size
        if self._bytes + size > self.max_bytes:
            raise MempoolFull(f"mempool holds its maximum of {self.max_bytes} bytes; retry later")
        if h not in self._recent:
            if not tx.verify_signature():
                raise BadSignature("signature does not verify for sender")
            self._counts["verified"] += 1
        if pending is None:
            pending = self._senders[sender] = {}
            self._base[sender] = base
        pending[nonce] = tx
        self._txs[h] = tx
        self._by_sig[tx.signature] = tx
        self._bytes += size
        return True

    # --- queries ---------------------------------------------------------------------------------
    def verified(self, tx_hash: str) -> bool:
        """True if this node already verified the signature of ``tx_hash``."""
        return tx_hash in self._txs or tx_hash in self._recent

    def get(self, tx_hash: str) -> Transaction | None:
        return self._txs.get(tx_hash)

    def next_nonce(self, sender: str, committed: int) -> int:
        """The nonce a new transaction from ``sender`` should use: past its pending run here."""
        pending = self._senders.get(sender)
        nonce = committed
        if pending:
            while nonce in pending:
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
        out.update(size=len(self._txs), bytes=self._bytes, senders=len(self._senders))
        return out

    def ready(
        self,
        max_txs: int,
        max_bytes: int,
        *,
        max_gas: int | None = None,
        start: Mapping[str, int] | None = None,
    ) -> list[Transaction]:
        """Proposable txs, at most ``max_txs`` totalling at most ``max_bytes`` and ``max_gas``.

        Gas is each tx's declared ``gas_limit`` (0 for transfers); ``None`` means unlimited.

        Per sender: consecutive nonces from its committed nonce (or from ``start[sender]`` if
        larger -- for a primary with blocks still in flight). One tx per sender per round.
        """
        out: list[Transaction] = []
        budget = max_bytes
        gas = limits.MAX_BLOCK_GAS if max_gas is None else max_gas
        if max_txs <= 0:
            return out
        cursors: list[list[Any]] = []  # [pending dict, next nonce]
        # round one walks the senders lazily so a full batch costs O(max_txs), not O(senders)
        for sender, pending in self._senders.items():
            nonce = self._base[sender]
            if start is not None:
                nonce = max(nonce, start.get(sender, nonce))
            tx = pending.get(nonce)
            if tx is None or tx.size > budget or tx.gas_limit > gas:
                continue
            out.append(tx)
            budget -= tx.size
            gas -= tx.gas_limit
            if nonce + 1 in pending:
                cursors.append([pending, nonce + 1])
            if len(out) >= max_txs:
                return out
        while cursors:
            alive = []
            for cursor in cursors:
                pending, nonce = cursor
                tx = pending[nonce]
                if tx.size > budget or tx.gas_limit > gas:
                    continue  # this sender's run stops; smaller txs of others may still fit
                out.append(tx)
                budget -= tx.size
                gas -= tx.gas_limit
                if len(out) >= max_txs:
                    return out
                cursor[1] = nonce + 1
                if nonce + 1 in pending:
                    alive.append(cursor)
            cursors = alive
        return out

    # --- after a commit --------------------------------------------------------------------------
    def on_block_committed(self, block: Block) -> None:
        """Drop the block's txs and any pending tx whose nonce is now used; rotate its senders."""
        touched: dict[str, None] = {}
        for tx in block.txs:
            touched[tx.sender] = None
            mine = self._txs.pop(tx.hash, None)
            if mine is not None:
                self._by_sig.pop(mine.signature, None)
                self._senders[tx.sender].pop(tx.nonce, None)
                self._bytes -= mine.size
                self._counts["committed"] += 1
            self._remember(tx.hash, committed=True)
        for sender in touched:
            pending = self._senders.get(sender)
            if pending is None:
                continue
            old_base = self._base[sender]
            base = self._account_nonce(sender)
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
                    self._remember(stale.hash, committed=False)
            del self._senders[sender]  # re-inserted at the back: round-robin across blocks
            if pending:
                self._senders[sender] = pending
                self._base[sender] = base
            else:
                del self._base[sender]

    def _remember(self, tx_hash: str, *, committed: bool) -> None:
        if self._cache_size == 0:
            return
        recent = self._recent
        recent[tx_hash] = committed
        recent.move_to_end(tx_hash)
        while len(recent) > self._cache_size:
            recent.popitem(last=False)
