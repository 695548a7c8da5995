"""A broken invariant stops a real node: exit code non-zero and a CRITICAL line naming it.

How it is provoked, from outside the process: the node runs, is stopped with SIGTERM, and while
it is down its vote journal (LevelDB, ``data/chain.db``) gets one more record -- a CHECKPOINT
signed with the node's own key for a height far above its executed chain. No honest run writes
that (a replica signs checkpoints only of blocks it executed, after they are stored), so on the
next start the replica's journal restore hits "checkpoint <= committed height" and the node must
refuse to run instead of going on with a journal that contradicts its chain.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from chain.keyfile import load_key
from consensus.invariants import CHECKPOINT_NOT_ABOVE_COMMITTED
from consensus.messages import make_checkpoint
from consensus.records import VoteRecord
from node.cluster import wait_ready
from node.config import load_config
from storage.chainstore import ChainStore
from tests.integration.harness import LocalCluster

pytestmark = pytest.mark.integration

EXIT_WAIT_S = 60


def corrupt_journal(cluster: LocalCluster, i: int) -> int:
    """Append our own checkpoint above the executed chain; returns its height."""
    cfg = load_config(cluster.config_path(i))
    key = load_key(cfg.key_file)
    store = ChainStore.open(cfg.data_dir / "chain.db")
    try:
        height = store.height + 1_000
        cp = make_checkpoint(key, cluster.chain_id, height, "aa" * 32, "bb" * 32)
        store.journal_append([VoteRecord(height, cp).to_dict()])
    finally:
        store.close()
    return height


def wait_exit(proc: subprocess.Popen[Any]) -> int:
    try:
        return proc.wait(timeout=EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(
            f"node still running {EXIT_WAIT_S}s after a broken invariant"
        ) from None


def log_text(cluster: LocalCluster, i: int) -> str:
    return (Path(cluster.config_path(i).parent) / "node.log").read_text(errors="replace")


async def test_a_corrupted_journal_stops_the_node_with_a_critical_line(
    new_cluster: Any,
) -> None:
    cluster: LocalCluster = new_cluster()
    cluster.start(0)
    await wait_ready([cluster.url(0)], timeout_s=60)
    assert cluster.kill(0, signal.SIGTERM) == 0  # a clean stop: the journal is ours to edit
    height = corrupt_journal(cluster, 0)
    before = len(log_text(cluster, 0))
    started = time.monotonic()
    cluster.start(0)
    code = wait_exit(cluster.procs.pop(0))
    assert code != 0
    log = log_text(cluster, 0)[before:]
    critical = [line for line in log.splitlines() if " CRITICAL " in line]
    assert critical, log[-2000:]
    line = critical[0]
    assert CHECKPOINT_NOT_ABOVE_COMMITTED in line
    assert f"checkpoint={height}" in line and "height=0" in line
    assert time.monotonic() - started < EXIT_WAIT_S
