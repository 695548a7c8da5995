"""The operator and client CLI against a real cluster."""

from __future__ import annotations

import asyncio
import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests.integration.harness import LocalCluster, aidchain

pytestmark = pytest.mark.integration


async def test_keys_transfer_get_status(cluster: LocalCluster, tmp_path: Path) -> None:
    rpc = cluster.url(1)
    out = aidchain("keys", "new", "--out", str(tmp_path / "me.key"))
    assert out.returncode == 0, out.stderr
    me = json.loads(out.stdout)["public_key"]
    assert aidchain("keys", "new", "--out", str(tmp_path / "me.key")).returncode == 2

    sender = str(cluster.info.root / cluster.manifest["accounts"][0])
    out = aidchain(
        "tx",
        "transfer",
        "--key",
        sender,
        "--to",
        me,
        "--amount",
        "250",
        "--memo",
        "扶贫",
        "--rpc",
        rpc,
        "--wait",
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["status"] == "committed" and info["receipt"]["ok"] is True
    assert info["tx"]["payload"] == {"to": me, "amount": 250, "memo": "扶贫"}

    out = aidchain("tx", "get", info["hash"], "--rpc", cluster.url(2))
    assert out.returncode == 0 and json.loads(out.stdout)["height"] == info["height"]
    out = aidchain("account", me, "--rpc", rpc)
    assert json.loads(out.stdout)["balance"] == 250

    # back-to-back transfers without waiting: the second uses the node's next_nonce
    first = aidchain("tx", "transfer", "--key", sender, "--to", me, "--amount", "1", "--rpc", rpc)
    second = aidchain("tx", "transfer", "--key", sender, "--to", me, "--amount", "2", "--rpc", rpc)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    out = aidchain("tx", "get", json.loads(second.stdout)["hash"], "--rpc", rpc)
    assert (
        json.loads(out.stdout)["tx"]["nonce"]
        == json.loads(aidchain("tx", "get", json.loads(first.stdout)["hash"], "--rpc", rpc).stdout)[
            "tx"
        ]["nonce"]
        + 1
    )

    out = aidchain("status", "--rpc", rpc)
    status = json.loads(out.stdout)
    assert status["chain_id"] == cluster.chain_id and status["primary"] in status["validators"]
    # the nodes run this interpreter (the harness starts them with it) and this release
    assert status["software"] == {
        "aidchain": metadata.version("aidchain"),
        "python": f"{platform.python_implementation()} {' '.join(sys.version.split())}",
    }

    # errors: bad amount (usage), unreachable node, unfunded key file with bad permissions
    assert (
        aidchain(
            "tx", "transfer", "--key", sender, "--to", me, "--amount", "0", "--rpc", rpc
        ).returncode
        == 2
    )
    assert aidchain("status", "--rpc", "http://127.0.0.1:9/").returncode == 3
    (tmp_path / "me.key").chmod(0o644)
    out = aidchain(
        "tx",
        "transfer",
        "--key",
        str(tmp_path / "me.key"),
        "--to",
        me,
        "--amount",
        "1",
        "--rpc",
        rpc,
    )
    assert out.returncode == 2 and "chmod 600" in out.stderr


async def test_bench_counts_only_committed(cluster: LocalCluster) -> None:
    out = aidchain(
        "bench", "--dir", str(cluster.info.root), "--txs", "400", "--clients", "4", "--rate", "400"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 clients (WebSocket)" in out.stdout  # the default transport, named
    assert f"every node runs CPython {platform.python_version()} (" in out.stdout
    assert "committed   400 in" in out.stdout
    assert "committed tx/s" in out.stdout and "p99" in out.stdout
    assert "NOT COMMITTED" not in out.stdout and "REJECTED" not in out.stdout
    # every transfer really is on chain: each account's nonce moved by its share
    total = 0
    for key in cluster.accounts:
        total += (await cluster.call(0, "account_get", address=key.public_hex))["nonce"]
    assert total == 400


async def test_bench_rides_through_the_loss_of_a_node(cluster: LocalCluster) -> None:
    """A tester kills a node mid-run: its clients and the block watcher (both on node0, the
    view's primary) move to the next node, everything commits, and the report says so."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "bench",
        "--dir",
        str(cluster.info.root),
        "--txs",
        "1500",
        "--clients",
        "4",
        "--rate",
        "300",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.sleep(2.5)  # set-up, and a second of the run
        cluster.kill(0)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode()
    assert proc.returncode == 0, text + err.decode()
    assert "committed   1500 in" in text
    assert "moves to the next node: " in text and ", 1 by the block watcher" in text
    assert f"silent      {cluster.url(0)}" in text  # no CPU figures from a partial cluster
    assert "Traceback" not in err.decode() and "never retrieved" not in err.decode()


async def test_bench_reports_what_did_not_commit(cluster: LocalCluster) -> None:
    # stop two of four validators: nothing can commit, and the bench must say so, not count it
    cluster.kill(2)
    cluster.kill(3)
    out = aidchain(
        "bench",
        "--dir",
        str(cluster.info.root),
        "--txs",
        "50",
        "--clients",
        "2",
        "--timeout",
        "5",
        "--transport",
        "http",
    )
    assert out.returncode == 1
    assert "2 clients (HTTP)" in out.stdout
    assert "committed   0 in" in out.stdout
    assert "NOT COMMITTED 50 accepted transactions" in out.stdout
