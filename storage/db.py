"""The plyvel LevelDB wrapper and the one place where key prefixes are defined.

Every LevelDB key starts with a one-byte prefix naming its table. Integers inside keys are
big-endian and fixed width so that LevelDB's byte order is numeric order (heights, journal
sequence numbers). Writes that must be atomic go through ``Batch``, which is always written with
``sync=True``: after a crash (SIGKILL, power loss) the database holds either all of a batch or none
of it.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import plyvel

from chain.checks import is_uint
from storage.errors import ChainStoreError

log = logging.getLogger(__name__)

# --- key prefixes (one byte each; never reuse a byte) ------------------------------------------
P_META = b"m"  # m<name>            -> canonical JSON (head, genesis)
P_HEADER = b"h"  # h<u64 height>    -> canonical header JSON
P_BLOCK_TXS = b"b"  # b<u64 height> -> the block's tx hashes, 32 raw bytes each, in order
P_CERT = b"c"  # c<u64 height>      -> canonical certificate JSON
P_TX = b"t"  # t<32-byte tx hash>   -> its locator (u64 height, u32 index); before the
#                                     height-ordered layout: the record itself (still read)
P_TX_AT = b"r"  # r<u64 height><u32 index> -> canonical {"height", "index", "receipt", "tx"}
P_STATE = b"s"  # s<utf-8 state key> -> canonical JSON value
P_JOURNAL = b"j"  # j<u64 seq>      -> canonical journal record
P_INDEX = (
    b"x"  # x<utf-8 index key> -> canonical JSON (the ledger's read-side index, storage/index.py)
)

P_STATS = b"g"  # g<utf-8 stats key> -> decimal integer (the ledger's counters, storage/stats.py)

META_HEAD = P_META + b"head"
META_GENESIS = P_META + b"genesis"
META_REINDEX = P_META + b"reindex"  # set while `node reindex` swaps the read side in
# set while a node runs with ``[node] read_side = false``: its index and counters are stale from
# then on, until ``node reindex`` rebuilds them
META_READ_SIDE_OFF = P_META + b"read_side_off"

_U64 = struct.Struct(">Q")
U64_MAX = 2**64 - 1


def is_u64(value: object) -> bool:
    return is_uint(value, U64_MAX)


def u64(value: int) -> bytes:
    """Big-endian fixed-width encoding, so LevelDB iterates heights in numeric order."""
    if not is_u64(value):
        raise ChainStoreError(f"integer key {value} out of range 0..2**64-1")
    return _U64.pack(value)


def read_u64(data: bytes) -> int:
    return int(_U64.unpack(data)[0])


def height_key(prefix: bytes, height: int) -> bytes:
    return prefix + u64(height)


def tx_key(tx_hash: str) -> bytes:
    try:
        raw = bytes.fromhex(tx_hash)
    except (ValueError, TypeError):
        raise ChainStoreError("transaction hash must be 64 hex characters") from None
    if len(raw) != 32:
        raise ChainStoreError("transaction hash must be 64 hex characters")
    return P_TX + raw


def text_key(prefix: bytes, key: str, what: str, max_bytes: int | None = None) -> bytes:
    """``prefix`` + the UTF-8 of a string key (state, index, stats), refused with a clear error
    when it is not a string, not encodable, or longer than ``max_bytes`` once encoded."""
    if not isinstance(key, str):
        raise ChainStoreError(f"{what} keys must be strings, not {type(key).__name__}")
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise ChainStoreError(f"{what} key is not valid UTF-8 text") from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise ChainStoreError(f"{what} key of {len(raw)} bytes exceeds {max_bytes}")
    return prefix + raw


def state_key(key: str) -> bytes:
    return text_key(P_STATE, key, "state")


class Batch:
    """An atomic, synced group of writes; nothing is visible until ``write()``."""

    __slots__ = ("_db", "_wb")

    def __init__(self, db: plyvel.DB) -> None:
        self._db = db
        self._wb = db.write_batch(sync=True)

    def put(self, key: bytes, value: bytes) -> None:
        self._wb.put(key, value)

    def delete(self, key: bytes) -> None:
        self._wb.delete(key)

    def write(self) -> None:
        self._wb.write()

    def discard(self) -> None:
        """Drop every queued write (what a crash before ``write()`` amounts to)."""
        self._wb.clear()


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077  # what the node process runs with: LevelDB creates files all its life


def write_private_file(path: Path | str, text: str, *, exclusive: bool = False) -> None:
    """Write ``text`` to a file readable by its owner only: 0600 from creation on, whatever
    the umask. ``exclusive`` refuses an existing file (``FileExistsError``) instead of
    truncating it, for keys whose old copy may be the only one left."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), PRIVATE_FILE_MODE)
        f.write(text)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; tighten an existing wider directory.

    The chain's data is the agencies' ledger: nobody but the node's user should read it. An
    existing directory with group/other bits is tightened (and logged) rather than refused, so
    a data dir from an older version keeps working; one we cannot chmod is a clear error.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE)


def make_private_tree(path: Path) -> None:
    """``make_private_dir`` for ``path`` and 0600 for every file under it."""
    make_private_dir(path)
    for entry in sorted(path.rglob("*")):
        _tighten(entry, PRIVATE_DIR_MODE if entry.is_dir() else PRIVATE_FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.lstat().st_mode)
        if current & 0o077:
            os.chmod(path, current & mode)
            log.warning("tightened %s from %o to %o", path, current, current & mode)
    except OSError as exc:
        raise ChainStoreError(
            f"{path} is readable by other users ({exc.strerror}); make it 0700/0600"
        ) from None


# Bloom filters make lookups of absent keys (unknown tx hashes, new accounts) skip disk reads.
BLOOM_FILTER_BITS = 10
# LevelDB's 4 MiB default memtable flushes every few seconds under load, and each flush starts
# a compaction that rewrites level 1 into level 2: at 400 ledger tx/s that background work cost
# each node more CPU than executing the blocks (measured with ``aidchain bench``: 726 us of
# non-execution CPU per tx, 314 with this). A larger memtable means fewer, larger level-0
# tables and fewer rewrites; it is allocated only as writes fill it, so an idle or small node
# pays nothing. go-ethereum sizes its LevelDB write buffer the same way (a quarter of its cache).
WRITE_BUFFER_BYTES = 64 * 2**20
# Blocks are stored uncompressed. Compaction decompresses and recompresses every block it
# rewrites, and under a sustained ledger load (40,000 actions, 4 nodes on 2 cores) Snappy cost
# each node ~110 us of CPU per committed action -- 9 % of the cluster's throughput -- to save
# a quarter of the disk (144 -> 190 MiB per node for that run). CPU is what a validator runs
# short of; disk is cheap (RocksDB's tuning guide likewise leaves the busy levels uncompressed).
COMPRESSION: str | None = None


class Database:
    """A LevelDB handle that refuses use after close and turns plyvel errors into ours."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            make_private_tree(self.path)
            old_umask = os.umask(PRIVATE_UMASK)  # the files LevelDB creates while opening
            try:
                self._db: plyvel.DB | None = plyvel.DB(
                    str(self.path),
                    create_if_missing=True,
                    bloom_filter_bits=BLOOM_FILTER_BITS,
                    write_buffer_size=WRITE_BUFFER_BYTES,
                    compression=COMPRESSION,
                )
            finally:
                os.umask(old_umask)
        except plyvel.IOError as exc:
            raise ChainStoreError(
                f"cannot open LevelDB at {self.path} (in use by another process?): {exc}"
            ) from None
        except (plyvel.Error, OSError) as exc:
            raise ChainStoreError(f"cannot open LevelDB at {self.path}: {exc}") from None

    @property
    def raw(self) -> plyvel.DB:
        if self._db is None:
            raise ChainStoreError("the store is closed")
        return self._db

    @property
    def closed(self) -> bool:
        return self._db is None

    def get(self, key: bytes) -> bytes | None:
        value = self.raw.get(key)
        return None if value is None else bytes(value)

    def batch(self) -> Batch:
        return Batch(self.raw)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key without prefix, value) pairs under ``prefix`` in key order."""
        cut = len(prefix)
        for key, value in self.raw.iterator(prefix=prefix):
            yield key[cut:], value

    def last_key(self, prefix: bytes) -> bytes | None:
        """The greatest key (without prefix) under ``prefix``, or None."""
        with self.raw.iterator(prefix=prefix, reverse=True, include_value=False) as it:
            for key in it:
                return bytes(key[len(prefix) :])
        return None

    def snapshot(self) -> plyvel.Snapshot:
        """A consistent read view: every later batch stays invisible to it (close it after use)."""
        return self.raw.snapshot()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            log.debug("closed LevelDB at %s", self.path)
