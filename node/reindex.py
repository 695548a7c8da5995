"""``aidchain node reindex``: rebuild the ledger's read-side index and statistics from the blocks.

The index and the counters are derived data kept outside the state root; the state itself is
only kept as of the head, so the before/after records each block's edits were computed from no
longer exist. The robust rebuild is therefore to re-execute every stored block from genesis in
a scratch store (the same executor the node runs, so the same edits), check each block's result
against the state root the chain recorded for it, and then swap the scratch store's index and
counters in for the live ones (``ChainStore.replace_read_side``: bounded batches between two
synced marks; a store whose swap a crash interrupted opens only for another reindex, so no node
ever serves a half-replaced read side).

The node must be stopped: LevelDB's lock refuses a second opener, and that refusal is reported
as such. The scratch store lives under the data dir and is removed afterwards.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from chain.errors import AidchainError
from node.config import NodeConfig
from node.executor import Executor
from node.genesis import load_genesis
from storage.chainstore import ChainStore
from storage.errors import ChainStoreError

log = logging.getLogger(__name__)


class ReindexError(AidchainError):
    """The data dir cannot be reindexed (in use, empty, another chain, or blocks disagree)."""

    reason = "reindex_failed"


@dataclass(frozen=True, slots=True)
class ReindexSummary:
    height: int
    index_entries: int
    stats_entries: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "height": self.height,
            "index_entries": self.index_entries,
            "stats_entries": self.stats_entries,
            "seconds": round(self.seconds, 3),
        }


def _open_live(path: Path) -> ChainStore:
    if not path.exists():
        raise ReindexError(f"no chain data at {path}")
    try:
        return ChainStore.open(path, reindexing=True)
    except ChainStoreError as exc:
        raise ReindexError(
            f"cannot open {path}: {exc.message} -- stop the node before reindexing"
        ) from None


def rebuild(live: ChainStore, scratch: ChainStore, executor: Executor) -> None:
    """Re-execute ``live``'s blocks on ``scratch`` (initialised at the same genesis)."""
    for height in range(1, live.height + 1):
        block = live.get_block(height)
        cert = live.get_certificate(height)
        if block is None or cert is None:
            raise ReindexError(f"block {height} is missing from the store")
        result = executor.execute(block)
        following = live.get_header(height + 1)
        recorded = following.state_root if following is not None else live.state_root
        if result.state_root != recorded:
            raise ReindexError(
                f"re-executing block {height} gives state root {result.state_root[:12]}, "
                f"the chain recorded {recorded[:12]}"
            )
        scratch.commit_block(block, cert, result)


def reindex(cfg: NodeConfig) -> ReindexSummary:
    started = time.monotonic()
    genesis = load_genesis(cfg.genesis)
    live = _open_live(cfg.data_dir / "chain.db")
    try:
        if not live.is_initialised():
            raise ReindexError(f"{cfg.data_dir} holds no chain yet: nothing to reindex")
        if live.chain_id != genesis.chain_id:
            raise ReindexError(
                f"data dir {cfg.data_dir} belongs to chain {live.chain_id!r}, "
                f"genesis says {genesis.chain_id!r}"
            )
        folder = Path(tempfile.mkdtemp(prefix="reindex-", dir=cfg.data_dir))
        try:
            scratch = ChainStore.open(folder / "chain.db")
            try:
                scratch.init_genesis(genesis.doc, genesis.aid_records)
                executor = Executor(scratch, block_gas_limit=genesis.block_gas_limit)
                rebuild(live, scratch, executor)
                index_n, stats_n = live.replace_read_side(scratch)
            finally:
                scratch.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        height = live.height
    finally:
        live.close()
    summary = ReindexSummary(height, index_n, stats_n, time.monotonic() - started)
    log.info("reindexed %s to height %d", cfg.data_dir, height)
    return summary
