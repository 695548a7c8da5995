"""``aidchain node reindex`` on a real node's data dir: refused while the node runs; once stopped,
it rebuilds the ledger index and statistics from the blocks, byte for byte what the node kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plyvel
import pytest

from aid.demo_county import COUNTY_CODE
from storage.db import P_INDEX, P_STATS
from tests.integration.harness import LocalCluster, aidchain
from tests.integration.test_demo import shorten_notice

pytestmark = pytest.mark.integration

HOUSEHOLDS = 12


def read_side(data_dir: Path) -> dict[bytes, bytes]:
    db = plyvel.DB(str(data_dir / "chain.db"))
    try:
        return {k: v for prefix in (P_INDEX, P_STATS) for k, v in db.iterator(prefix=prefix)}
    finally:
        db.close()


def tamper(data_dir: Path, keys: list[bytes]) -> None:
    """What a lost or stale read side looks like: some entries gone, a stray one added."""
    db = plyvel.DB(str(data_dir / "chain.db"))
    try:
        for key in keys:
            db.delete(key)
        db.put(P_STATS + b"c|" + COUNTY_CODE.encode() + b"|all|paid", b"1")
        db.put(P_INDEX + b"household/area/530102999999/stray", b"null")
    finally:
        db.close()


async def test_reindex_rebuilds_what_the_node_kept(new_cluster: Any) -> None:
    cluster: LocalCluster = new_cluster()
    shorten_notice(cluster)  # and the alert deadlines the demo waits out
    await cluster.start_all()
    load = aidchain(
        "demo", "load", "--dir", str(cluster.info.root), "--households", str(HOUSEHOLDS),
        timeout=600,
    )  # fmt: skip
    assert load.returncode == 0, load.stderr
    config = str(cluster.config_path(0))

    busy = aidchain("node", "reindex", "--config", config)
    assert busy.returncode == 1
    assert "stop the node" in busy.stderr

    before = await cluster.call(1, "aid_report", kind="overview", area=COUNTY_CODE)
    cluster.kill(0, 15)
    kept = read_side(cluster.data_dir(0))
    stats_keys = sorted(k for k in kept if k.startswith(P_STATS))
    index_keys = sorted(k for k in kept if k.startswith(P_INDEX))
    assert len(stats_keys) > 100 and len(index_keys) > 100
    tamper(cluster.data_dir(0), stats_keys[::7] + index_keys[::11])
    assert read_side(cluster.data_dir(0)) != kept

    done = aidchain("node", "reindex", "--config", config, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["height"] == before["height"]
    assert summary["stats_entries"] == len(stats_keys)
    assert summary["index_entries"] == len(index_keys)
    assert read_side(cluster.data_dir(0)) == kept
    assert not [p for p in cluster.data_dir(0).iterdir() if p.name.startswith("reindex-")]

    # the node starts on the rebuilt read side and answers as its peers do
    await cluster.restart(0)
    after = await cluster.call(0, "aid_report", kind="overview", area=COUNTY_CODE)
    assert after == before


def test_reindex_of_a_data_dir_without_a_chain_is_refused(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path)
    done = aidchain("node", "reindex", "--config", str(cluster.config_path(0)))
    assert done.returncode == 1
    assert "no chain data" in done.stderr
