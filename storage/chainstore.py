"""ChainStore: the node's one LevelDB, behind the few operations the daemon needs.

Everything a committed block changes -- the block, its commit certificate, the state writes, the
receipts, the tx index, the ledger's read-side index (with the events of the end-of-block
sweep, which are in no receipt) and the new head -- goes into ONE synced write batch, so after a
crash at any instant the store is exactly at the last fully committed block. The head is cached in memory
and only replaced after its batch is on disk.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from chain import limits
from chain.block import EMPTY_ROOT, Block, BlockHeader, CommitCertificate
from chain.checks import is_uint
from chain.crypto import is_pubkey_hex
from chain.encoding import canonical, canonical_unchecked, sha256_hex
from chain.errors import EncodingError
from chain.statekeys import account_key
from chain.tx import Transaction
from storage import blocks, index, state, stats
from storage.db import (
    META_GENESIS,
    META_HEAD,
    META_READ_SIDE_OFF,
    META_REINDEX,
    P_INDEX,
    P_STATS,
    Database,
    is_u64,
    state_key,
)
from storage.errors import READ_SIDE_OFF_MESSAGE, ChainStoreError, ReadSideOff
from storage.journal import Journal

log = logging.getLogger(__name__)

MAX_GENESIS_ACCOUNTS = 1_000_000
STATS_CACHE_ENTRIES = 200_000  # committed statistics counters kept in memory (~30 MB at most)
REINDEX_BATCH = 50_000  # read-side entries per synced batch while reindex swaps them in
MAX_GENESIS_VALIDATORS = 1_024
ZERO_HASH = "0" * 64


class BlockResult(Protocol):
    """What commit_block needs from an execution result (node.executor.ExecutionResult)."""

    @property
    def writes(self) -> Mapping[str, Any]: ...

    @property
    def receipts(self) -> Sequence[dict[str, Any]]: ...

    @property
    def state_root(self) -> str: ...

    @property
    def receipts_root(self) -> str: ...

    @property
    def index(self) -> index.IndexChanges: ...

    @property
    def stats(self) -> stats.StatsChanges: ...

    @property
    def end_block_events(self) -> Sequence[dict[str, Any]]: ...

    # canonical bytes the executor already encoded (None: encode here): every value written,
    # by key, and every receipt in block order
    @property
    def write_bytes(self) -> Mapping[str, bytes] | None: ...

    @property
    def receipt_bytes(self) -> Sequence[bytes] | None: ...


@dataclass(frozen=True, slots=True)
class Head:
    height: int
    hash: str
    state_root: str
    receipts_root: str  # of the head block's receipts: the next header must carry it
    time: int

    def encode(self) -> bytes:
        return canonical_unchecked(
            {
                "height": self.height,
                "hash": self.hash,
                "state_root": self.state_root,
                "receipts_root": self.receipts_root,
                "time": self.time,
            }
        )


def genesis_header(genesis: dict[str, Any]) -> BlockHeader:
    """The height-0 header; its state_root is sha256(canonical(genesis)), it has no txs."""
    return BlockHeader(
        height=0,
        prev_hash=ZERO_HASH,
        tx_root=EMPTY_ROOT,
        tx_count=0,
        state_root=sha256_hex(canonical(genesis)),
        receipts_root=EMPTY_ROOT,
        time=genesis["time"],
        proposer=ZERO_HASH,
        view=0,
    )


def check_genesis(genesis: Any) -> None:
    """Raise ChainStoreError with a clear message unless ``genesis`` is well formed."""
    if not isinstance(genesis, dict):
        raise ChainStoreError("genesis must be a JSON object")
    missing = {"chain_id", "time", "validators", "accounts"} - set(genesis)
    if missing:
        raise ChainStoreError(f"genesis is missing fields: {sorted(missing)}")
    chain_id = genesis["chain_id"]
    if not isinstance(chain_id, str) or not 0 < len(chain_id) <= limits.MAX_CHAIN_ID_CHARS:
        raise ChainStoreError(
            f"genesis chain_id must be a string of 1..{limits.MAX_CHAIN_ID_CHARS} chars"
        )
    gtime = genesis["time"]
    if not is_uint(gtime):
        raise ChainStoreError("genesis time must be a non-negative integer (ms)")
    validators = genesis["validators"]
    if not isinstance(validators, list) or not 0 < len(validators) <= MAX_GENESIS_VALIDATORS:
        raise ChainStoreError(f"genesis validators must be a list of 1..{MAX_GENESIS_VALIDATORS}")
    for v in validators:
        if (
            not isinstance(v, dict)
            or not is_pubkey_hex(v.get("id"))
            or not isinstance(v.get("name"), str)
        ):
            raise ChainStoreError("each genesis validator must be {id: 64-hex key, name: str}")
    accounts = genesis["accounts"]
    if not isinstance(accounts, dict) or len(accounts) > MAX_GENESIS_ACCOUNTS:
        raise ChainStoreError(
            f"genesis accounts must be an object of at most {MAX_GENESIS_ACCOUNTS}"
        )
    for address, balance in accounts.items():
        if not is_pubkey_hex(address):
            raise ChainStoreError(f"genesis account {address!r} is not a 64-hex public key")
        if (
            not isinstance(balance, int)
            or isinstance(balance, bool)
            or not 0 <= balance < limits.MAX_AMOUNT
        ):
            raise ChainStoreError(
                f"genesis balance of {address[:12]} must be an integer in 0..2**53-1"
            )
    try:
        canonical(genesis)
    except EncodingError as exc:
        raise ChainStoreError(f"genesis is not canonical JSON: {exc.message}") from None


class StoreView:
    """A read-only view of state and the ledger's index at one block (a LevelDB snapshot).

    It has the ``get``/``set``/``delete`` of a state overlay (writes refused), so the ledger's
    reads and a simulated transaction run on it unchanged, and ``scan`` for ``aid.reads``.
    """

    __slots__ = ("_read_side", "_snap")

    def __init__(self, snap: Any, read_side: bool = True) -> None:
        self._snap = snap
        self._read_side = read_side

    def _require_read_side(self) -> None:
        if not self._read_side:
            raise ReadSideOff(READ_SIDE_OFF_MESSAGE)

    def get(self, key: str) -> Any | None:
        return state.read_state(self._snap, key)

    def get_raw(self, key: str) -> bytes | None:
        """The stored canonical JSON of a state value, for a reader with its own decoder."""
        raw: bytes | None = self._snap.get(state_key(key))
        return raw

    def block_tx_raw(self, height: int) -> list[tuple[str, bytes]] | None:
        """A committed block's (tx hash, stored ``{"height", "index", "receipt", "tx"}`` bytes)
        in block order, read from this snapshot (what a streaming export reads per block)."""
        if not is_u64(height):
            return None
        return blocks.read_tx_records_raw(self._snap, height)

    def tx_hash_at(self, height: int, tx_index: int) -> str | None:
        """The hash of the transaction at (height, index) in this view (None: none there)."""
        if not is_u64(height) or not is_u64(tx_index):
            return None
        return blocks.read_tx_hash_at(self._snap, height, tx_index)

    def set(self, key: str, value: Any) -> None:
        raise ChainStoreError("a store view is read-only")

    def delete(self, key: str) -> None:
        raise ChainStoreError("a store view is read-only")

    def scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, Any]]:
        self._require_read_side()
        return index.scan(self._snap, prefix, after, limit)

    def stat(self, key: str) -> int:
        self._require_read_side()
        return stats.read(self._snap, key)

    def stats_scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, int]]:
        self._require_read_side()
        return stats.scan(self._snap, prefix, after, limit)

    def head(self) -> tuple[int, int]:
        """(height, block time in ms) of the block this view shows."""
        raw = self._snap.get(META_HEAD)
        if raw is None:
            raise ChainStoreError("the store has no head yet")
        doc = json.loads(raw)
        return int(doc["height"]), int(doc["time"])


class ChainStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._read_side = db.get(META_READ_SIDE_OFF) is None
        self._stats_cache: dict[str, int] = {}  # committed counter values (get_stats)
        self._lock = threading.Lock()
        self._journal = Journal(db)
        self._head: Head | None = None
        self._chain_id: str | None = None
        raw_head = db.get(META_HEAD)
        raw_genesis = db.get(META_GENESIS)
        if raw_head is not None:
            try:
                h = json.loads(raw_head)
                if isinstance(h, dict) and "receipts_root" not in h:
                    raise ChainStoreError(
                        f"{db.path} was written by an aidchain whose block headers had no "
                        "receipts_root (before RFC 6962 roots), and such a chain cannot be "
                        "continued: start on an empty data dir (docs/operations.md, Upgrades)"
                    )
                self._head = Head(
                    int(h["height"]), h["hash"], h["state_root"], h["receipts_root"], int(h["time"])
                )
                self._chain_id = str(json.loads(raw_genesis or b"null")["chain_id"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ChainStoreError(
                    f"corrupt head/genesis metadata in {db.path}: {exc}"
                ) from None

    @classmethod
    def open(cls, path: str | Path, *, reindexing: bool = False) -> ChainStore:
        """Open the store; one a reindex left half-replaced opens only to be reindexed again."""
        db = Database(path)
        if db.get(META_REINDEX) is not None and not reindexing:
            db.close()
            raise ChainStoreError(
                f"{path} holds an interrupted reindex: run `aidchain node reindex` again"
            )
        store = cls(db)
        if store._head is not None:
            log.info("opened chain store %s at height %d", path, store._head.height)
        return store

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- genesis ---------------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return self._head is not None

    def init_genesis(
        self, genesis: dict[str, Any], records: Mapping[str, Any] | None = None
    ) -> None:
        """Write height 0: the accounts, plus ``records`` -- the state the node derives from
        sections of the genesis it validated itself (the ledger's areas, organisations, policy).
        """
        check_genesis(genesis)
        encoded = canonical(genesis)
        with self._lock:
            existing = self._db.get(META_GENESIS)
            if self._head is not None:
                if existing == encoded:
                    return
                raise ChainStoreError("store is already initialised with a different genesis")
            header = genesis_header(genesis)
            batch = self._db.batch()
            for address, balance in genesis["accounts"].items():
                state.put_writes(batch, {account_key(address): {"balance": balance, "nonce": 0}})
            if records:
                clash = sorted(set(records) & {account_key(a) for a in genesis["accounts"]})
                if clash:
                    raise ChainStoreError(f"genesis records overwrite accounts: {clash[:3]}")
                state.put_writes(batch, records)
            blocks.put_block(batch, Block(header, ()), None, [])
            batch.put(META_GENESIS, encoded)
            head = Head(0, header.hash, header.state_root, EMPTY_ROOT, header.time)
            batch.put(META_HEAD, head.encode())
            batch.write()
            self._head = head
            self._chain_id = genesis["chain_id"]
        log.info("initialised genesis for chain %s, hash %s", genesis["chain_id"], header.hash[:12])

    def get_genesis(self) -> dict[str, Any] | None:
        raw = self._db.get(META_GENESIS)
        return None if raw is None else dict(json.loads(raw))

    # --- head ------------------------------------------------------------------------------------
    def _require_head(self) -> Head:
        if self._head is None:
            raise ChainStoreError("the store has no genesis yet")
        return self._head

    @property
    def height(self) -> int:
        return self._require_head().height

    @property
    def head_hash(self) -> str:
        return self._require_head().hash

    @property
    def state_root(self) -> str:
        return self._require_head().state_root

    @property
    def receipts_root(self) -> str:
        """The root of the head block's receipts (EMPTY_ROOT for genesis or an empty block)."""
        return self._require_head().receipts_root

    @property
    def head_time(self) -> int:
        return self._require_head().time

    @property
    def chain_id(self) -> str:
        self._require_head()
        assert self._chain_id is not None
        return self._chain_id

    # --- reads -----------------------------------------------------------------------------------
    def get_header(self, height: int) -> BlockHeader | None:
        if not is_u64(height):
            return None
        return blocks.read_header(self._db, height)

    def get_block(self, height: int) -> Block | None:
        if not is_u64(height):
            return None
        return blocks.read_block(self._db, height)

    def get_block_and_receipts(self, height: int) -> tuple[Block, list[dict[str, Any]]] | None:
        """The block at ``height`` with its receipts in block order (for tx_proof)."""
        if not is_u64(height):
            return None
        return blocks.read_block_and_receipts(self._db, height)

    def get_block_tx_hashes(self, height: int) -> list[str] | None:
        """The block's tx hashes without decoding its transactions (for block_get)."""
        if not is_u64(height):
            return None
        return blocks.read_tx_hashes(self._db, height)

    def get_certificate(self, height: int) -> CommitCertificate | None:
        if not is_u64(height) or height == 0:
            return None
        return blocks.read_certificate(self._db, height)

    def get_tx(self, tx_hash: str) -> tuple[Transaction, int, int] | None:
        record = self._tx_record(tx_hash)
        if record is None:
            return None
        return blocks.decode_tx(record), int(record["height"]), int(record["index"])

    def get_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        record = self._tx_record(tx_hash)
        return None if record is None else dict(record["receipt"])

    def get_end_block_events(self, height: int) -> tuple[dict[str, Any], ...]:
        """The events of the end-of-block sweep of a committed block (escalations), if any."""
        if not is_u64(height):
            return ()
        return index.read_end_block_events(self._db.raw, height)

    def block_tx_records(self, height: int) -> list[tuple[str, dict[str, Any]]] | None:
        """A committed block's (tx hash, ``{"height", "index", "receipt", "tx"}``) in block
        order, as stored (no re-validation): what a streaming export reads per block."""
        if not is_u64(height):
            return None
        found = blocks.read_tx_records_raw(self._db.raw, height)
        if found is None:
            return None
        out = []
        for tx_hash, raw in found:
            try:  # str, not bytes: json skips sniffing the encoding of our own UTF-8
                out.append((tx_hash, json.loads(raw.decode("utf-8"))))
            except ValueError as exc:
                raise ChainStoreError(f"corrupt transaction record {tx_hash[:12]}: {exc}") from None
        return out

    def _tx_record(self, tx_hash: str) -> dict[str, Any] | None:
        if not is_pubkey_hex(tx_hash):  # same shape as a hash: 64 lowercase hex
            return None
        return blocks.read_tx_record(self._db, tx_hash)

    def get_state(self, key: str) -> Any | None:
        return state.read_state(self._db, key)

    def get_stat(self, key: str) -> int:
        """A statistics counter's committed value (0 if absent)."""
        return stats.read(self._db.raw, key)

    def get_stats(self, keys: list[str]) -> list[int]:
        """Committed values of many counters (0 if absent), in order.

        Every block reads the counters it moves, mostly the same ones as the block before (a
        county's, a month's), so committed values are kept in memory (``STATS_CACHE_ENTRIES``),
        updated by ``commit_block`` in the same step as the write and dropped by a reindex.
        """
        with self._lock:
            cache = self._stats_cache
            missing = [key for key in keys if key not in cache]
            if missing:
                if len(cache) + len(missing) > STATS_CACHE_ENTRIES:
                    cache.clear()
                cache.update(zip(missing, stats.read_many(self._db.raw, missing), strict=True))
            return [cache[key] for key in keys]

    @contextmanager
    def read_view(self) -> Iterator[StoreView]:
        """State and ledger index as of one committed block, however many commit meanwhile."""
        with self._lock:
            snap = self._db.snapshot()
        try:
            yield StoreView(snap, self._read_side)
        finally:
            snap.close()

    @property
    def read_side(self) -> bool:
        """Whether this store's ledger index and statistics are current (see ``keep_read_side``)."""
        return self._read_side

    def keep_read_side(self, keep: bool) -> None:
        """At start-up: whether this node keeps the ledger index and statistics from now on.

        Turning them off is recorded (synced) before any block commits without them, and from
        then on every read that needs them is refused (``ReadSideOff``). Turning them back on
        over such a store is refused: the index would silently miss every block since, so
        ``node reindex`` must rebuild it first (it clears the record).
        """
        with self._lock:
            stale = self._db.get(META_READ_SIDE_OFF) is not None
            if keep and stale:
                raise ChainStoreError(
                    "this node ran with [node] read_side = false, so its ledger index and "
                    "statistics miss blocks: run `aidchain node reindex` before starting it "
                    "with read_side = true"
                )
            if not keep and not stale:
                mark = self._db.batch()
                mark.put(META_READ_SIDE_OFF, b"1")
                mark.write()
            self._read_side = keep

    def account(self, address: str) -> tuple[int, int]:
        if not isinstance(address, str):
            raise ChainStoreError("account addresses must be strings")
        return state.account_of(state.read_state(self._db, account_key(address)))

    # --- the one write per block -----------------------------------------------------------------
    def commit_block(
        self, block: Block, certificate: CommitCertificate, result: BlockResult
    ) -> None:
        with self._lock:
            head = self._require_head()
            if block.height != head.height + 1:
                raise ChainStoreError(
                    f"cannot commit height {block.height}: head is at {head.height}"
                )
            if block.header.prev_hash != head.hash:
                raise ChainStoreError(
                    f"block {block.height} does not extend the head (prev_hash mismatch)"
                )
            block_hash = block.hash
            if certificate.height != block.height or certificate.block_hash != block_hash:
                raise ChainStoreError(
                    f"certificate is for ({certificate.height}, {certificate.block_hash[:12]}), not this block"
                )
            if len(result.receipts) != len(block.txs):
                raise ChainStoreError(
                    f"{len(result.receipts)} receipts for {len(block.txs)} transactions"
                )
            batch = self._db.batch()
            blocks.put_block(batch, block, certificate, result.receipts, result.receipt_bytes)
            state.put_writes(batch, result.writes, result.write_bytes)
            index.put_changes(batch, result.index)
            stats.put_changes(batch, result.stats)
            index.put_end_block_events(batch, block.height, result.end_block_events)
            new_head = Head(
                block.height, block_hash, result.state_root, result.receipts_root, block.header.time
            )
            batch.put(META_HEAD, new_head.encode())
            batch.write()
            self._head = new_head
            if result.stats:
                cache = self._stats_cache
                for key, value in result.stats.values:
                    if key in cache:
                        cache[key] = value
        log.debug("committed block %d (%d txs) %s", block.height, len(block.txs), block_hash[:12])

    # --- the read side (outside the state root) ---------------------------------------------------
    def replace_read_side(self, source: ChainStore) -> tuple[int, int]:
        """Replace this store's ledger index and statistics with ``source``'s.

        ``source`` is a scratch store rebuilt from this store's blocks (``node.reindex``); both
        must be at the same head, so the copy is exactly as current as the state. The read side
        of a large chain does not fit one batch in memory, so the swap runs in bounded batches
        between two synced marks: while ``META_REINDEX`` is set the store refuses to open for
        anything but another reindex, so a crash midway never leaves a node serving a half
        read side. Returns the (index, stats) entries written.
        """
        with self._lock:
            head = self._require_head()
            if (source.height, source.head_hash) != (head.height, head.hash):
                raise ChainStoreError(
                    f"the rebuilt read side is at height {source.height}, the chain at {head.height}"
                )
            mark = self._db.batch()
            mark.put(META_REINDEX, b"1")
            mark.write()
            counts = []
            for prefix in (P_INDEX, P_STATS):
                self._chunked(prefix, (key for key, _ in self._db.iterate(prefix)), None)
                counts.append(self._chunked(prefix, iter(()), source._db.iterate(prefix)))
            done = self._db.batch()
            done.delete(META_REINDEX)
            done.delete(META_READ_SIDE_OFF)  # rebuilt from every block: current again
            done.write()
            self._read_side = True
            self._stats_cache.clear()
        return counts[0], counts[1]

    def _chunked(
        self,
        prefix: bytes,
        deletes: Iterator[bytes],
        puts: Iterator[tuple[bytes, bytes]] | None,
    ) -> int:
        """Delete then put ``prefix`` keys in synced batches of REINDEX_BATCH; returns puts."""
        written = 0
        batch, queued = self._db.batch(), 0
        for key in deletes:
            batch.delete(prefix + key)
            queued += 1
            if queued >= REINDEX_BATCH:
                batch.write()
                batch, queued = self._db.batch(), 0
        for key, value in puts or ():
            batch.put(prefix + key, value)
            queued += 1
            written += 1
            if queued >= REINDEX_BATCH:
                batch.write()
                batch, queued = self._db.batch(), 0
        batch.write()
        return written

    # --- vote journal ----------------------------------------------------------------------------
    def journal_append(self, records: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            self._journal.append(records)

    def journal_load(self) -> list[dict[str, Any]]:
        return self._journal.load()

    def journal_prune(self, below_height: int) -> None:
        """Delete records with height < below_height; see storage/journal.py for the rule."""
        if not is_u64(below_height):
            raise ChainStoreError("journal_prune needs a non-negative integer height")
        with self._lock:
            self._journal.prune(below_height)
