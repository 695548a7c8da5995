"""Recovery figures on a real local cluster (prints; asserts nothing about speed).

    .venv/bin/python tests/bench/bench_recovery.py [--txs 20000]

1. View change: steady load, SIGKILL the primary, time until the survivors commit a new block.
2. State transfer: wipe one node's data dir, restart it, time until it reaches the others'
   height; reports blocks/s and tx/s of catch-up.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rpc.client import RpcClient
from tests.integration.harness import LocalCluster, sign_batch, submit_all, wait_committed


async def _height(cluster: LocalCluster, i: int) -> int:
    return int((await cluster.status(i))["height"])


async def view_change(cluster: LocalCluster) -> float:
    keys = cluster.accounts
    primary = await cluster.primary_index()
    others = [i for i in range(cluster.n) if i != primary]
    load = asyncio.create_task(
        submit_all(
            cluster.url(others[0]),
            sign_batch(keys[0], cluster.chain_id, 0, 600, keys[1].public_hex),
            batch=5,
            pause=0.02,
        )
    )
    await asyncio.sleep(1.0)
    base = max([await _height(cluster, i) for i in others])
    killed = time.monotonic()
    cluster.kill(primary, signal.SIGKILL)
    while True:
        # first block committed after the kill whose proposer is not the dead primary
        heights = {i: await _height(cluster, i) for i in others}
        ahead = max(heights, key=heights.__getitem__)  # ask the node that holds the new block
        top = heights[ahead]
        if top > base:
            async with RpcClient(cluster.url(ahead)) as c:
                blk = await c.call("block_get", height=top)
            if blk["header"]["proposer"] != cluster.node_id(primary) or blk["commit_view"] > 0:
                elapsed = time.monotonic() - killed
                break
            base = top
        await asyncio.sleep(0.01)
    await load
    return elapsed


async def state_transfer(cluster: LocalCluster, txs: int) -> tuple[int, int, float]:
    keys = cluster.accounts
    per = txs // 4
    parts = await asyncio.gather(
        *(
            submit_all(
                cluster.url(a),
                sign_batch(keys[4 + a], cluster.chain_id, 0, per, keys[0].public_hex),
                batch=100,
            )
            for a in range(4)
        )
    )
    hashes = [h for p in parts for h in p]
    await wait_committed(cluster, 0, hashes, timeout=300)
    victim = 3
    top = await _height(cluster, 0)
    cluster.kill(victim, signal.SIGKILL)
    shutil.rmtree(cluster.data_dir(victim))
    started = time.monotonic()
    await cluster.restart(victim)
    await cluster.wait_height([victim], top, timeout=600)
    elapsed = time.monotonic() - started
    return top, len(hashes), elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = LocalCluster(
            Path(tmp), consensus={"view_change_timeout_ms": 1000, "request_timeout_ms": 1000}
        )
        try:
            await cluster.start_all()
            t = await view_change(cluster)
            print(
                "view change: primary SIGKILLed -> first commit by the new primary in "
                f"{t:.2f}s (view_change_timeout_ms=1000, request_timeout_ms=1000)"
            )
        finally:
            cluster.stop_all()
        cluster = LocalCluster(Path(tmp) / "b")
        try:
            await cluster.start_all()
            blocks, txs, t = await state_transfer(cluster, args.txs)
            print(
                f"state transfer: empty node caught up {blocks} blocks / {txs} txs in {t:.2f}s "
                f"= {blocks / t:.0f} blocks/s, {txs / t:.0f} tx/s (including process start)"
            )
        finally:
            cluster.stop_all()


if __name__ == "__main__":
    asyncio.run(main())
