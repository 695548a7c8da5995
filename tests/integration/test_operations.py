"""What an operator meets: cluster up/down, SIGTERM, key permissions, restarts on the data dir."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from node.cluster import init_cluster, node_command
from node.software import SOFTWARE
from tests.integration.harness import (
    REPO,
    LocalCluster,
    aidchain,
    sign_batch,
    submit_all,
    wait_committed,
)

pytestmark = pytest.mark.integration


def test_cluster_up_prints_urls_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    manifest = init_cluster(tmp_path / "c", base_port=0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "cluster", "up", "--dir", str(tmp_path / "c")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        text = "".join(lines)
        for node in manifest["nodes"]:
            assert node["rpc_url"] in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # every node process is gone and closed its database cleanly (it can be reopened)
    out = subprocess.run(["pgrep", "-f", str(tmp_path / "c")], capture_output=True, text=True)
    assert out.stdout.strip() == ""
    for i in range(4):
        log = (tmp_path / "c" / f"node{i}" / "node.log").read_text()
        assert "stopped at height" in log
        # the start-up line names the release and the interpreter (docs/operations.md)
        assert f"(aidchain {SOFTWARE['aidchain']} on {SOFTWARE['python']})" in log


async def test_sigterm_exits_zero_and_restart_resumes_height(cluster: LocalCluster) -> None:
    keys = cluster.accounts
    hashes = await submit_all(
        cluster.url(0), sign_batch(keys[0], cluster.chain_id, 0, 50, keys[1].public_hex)
    )
    await wait_committed(cluster, 3, hashes)
    height = (await cluster.status(3))["height"]
    assert cluster.kill(3, signal.SIGTERM) == 0
    await cluster.restart(3)
    status = await cluster.status(3)
    assert status["height"] >= height
    assert (await cluster.block_hashes(3, height)) == (await cluster.block_hashes(0, height))


def test_node_refuses_key_readable_by_others(tmp_path: Path) -> None:
    init_cluster(tmp_path / "c", base_port=0)
    key = tmp_path / "c" / "node0" / "node.key"
    key.chmod(0o644)
    out = aidchain(
        "node", "start", "--config", str(tmp_path / "c" / "node0" / "config.toml"), timeout=60
    )
    assert out.returncode == 2
    assert "chmod 600" in out.stderr


def test_node_refuses_foreign_data_dir(tmp_path: Path) -> None:
    init_cluster(tmp_path / "a", base_port=0)
    init_cluster(tmp_path / "b", base_port=0)
    cfg_a = tmp_path / "a" / "node0" / "config.toml"
    # start node0 of cluster a once so its data dir belongs to chain a
    proc = subprocess.Popen(
        node_command(cfg_a),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # point cluster b's node0 at cluster a's data dir: refused, not silently mixed
    cfg_b = tmp_path / "b" / "node0" / "config.toml"
    cfg_b.write_text(
        cfg_b.read_text().replace(
            'data_dir = "data"', f'data_dir = "{tmp_path / "a" / "node0" / "data"}"'
        )
    )
    out = aidchain("node", "start", "--config", str(cfg_b), timeout=60)
    assert out.returncode == 2, out.stderr
    assert "belongs to chain" in out.stderr
    assert json.loads((tmp_path / "a" / "cluster.json").read_text())["chain_id"] in out.stderr


async def test_the_log_says_every_interval_how_the_node_is_doing(new_cluster) -> None:  # type: ignore[no-untyped-def]
    """INFO while it commits; WARNING once transactions wait with no quorum to commit them."""
    cluster = new_cluster()
    path = cluster.config_path(0)
    path.write_text(path.read_text().replace("[node]\n", "[node]\nstatus_log_s = 1\n", 1))
    await cluster.start_all()
    keys, to = cluster.accounts, cluster.accounts[-1].public_hex
    hashes = await submit_all(cluster.url(0), sign_batch(keys[0], cluster.chain_id, 0, 20, to))
    await wait_committed(cluster, 0, hashes)
    await asyncio.sleep(1.5)
    log = (cluster.config_path(0).parent / "node.log").read_text()
    assert "INFO" in log and "status: height " in log and "+20 txs" in log, log[-2000:]
    cluster.kill(2)
    cluster.kill(3)  # no quorum: the next transfers wait
    await submit_all(cluster.url(0), sign_batch(keys[1], cluster.chain_id, 0, 3, to))
    await asyncio.sleep(2.5)
    log = (cluster.config_path(0).parent / "node.log").read_text()
    assert "transactions wait and no block committed (is a quorum of validators up?)" in log
    assert "WARNING" in log.split("transactions wait and no block")[0].splitlines()[-1]
    assert "peers 1/3" in log
