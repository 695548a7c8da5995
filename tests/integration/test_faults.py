"""Byzantine fault tolerance on real processes: primary crash, empty-disk rejoin, repeated
SIGKILLs, and a lying validator."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import time

import pytest

from tests.integration.harness import (
    LocalCluster,
    aidchain,
    sign_batch,
    submit_all,
    wait_committed,
)

pytestmark = pytest.mark.integration


async def _committed_everywhere(cluster: LocalCluster, nodes: list[int], hashes: list[str]) -> None:
    for i in nodes:
        await wait_committed(cluster, i, hashes, timeout=90)


async def _same_chain(cluster: LocalCluster, nodes: list[int]) -> int:
    heights = [(await cluster.status(i))["height"] for i in nodes]
    top = max(heights)
    await cluster.wait_height(nodes, top, timeout=60)
    ref = await cluster.block_hashes(nodes[0], top)
    for i in nodes[1:]:
        assert await cluster.block_hashes(i, top) == ref, f"node{i} diverged"
    return top


async def test_sigkill_primary_under_load_view_change(cluster: LocalCluster) -> None:
    keys = cluster.accounts
    to = keys[-1].public_hex
    primary = await cluster.primary_index()
    others = [i for i in range(cluster.n) if i != primary]

    before = await submit_all(
        cluster.url(others[0]), sign_batch(keys[0], cluster.chain_id, 0, 100, to)
    )
    committed_before = await wait_committed(cluster, others[0], before)

    load = asyncio.create_task(
        submit_all(
            cluster.url(others[1]),
            sign_batch(keys[1], cluster.chain_id, 0, 200, to),
            batch=5,
            pause=0.05,
        )
    )
    await asyncio.sleep(0.5)
    killed_at = time.monotonic()
    cluster.kill(primary, signal.SIGKILL)
    pending = await load
    # the survivors change view and commit everything that was pending
    await _committed_everywhere(cluster, others, pending)
    recovered = time.monotonic() - killed_at
    statuses = [await cluster.status(i) for i in others]
    assert all(s["view"] >= 1 for s in statuses)
    assert all(s["primary"] != cluster.node_id(primary) for s in statuses)
    # nothing reported committed before the crash was lost or moved
    for i in others:
        again = await wait_committed(cluster, i, before)
        for h, info in committed_before.items():
            assert (again[h]["height"], again[h]["index"]) == (info["height"], info["index"])
    await _same_chain(cluster, others)
    print(f"primary killed -> all pending committed on survivors in {recovered:.2f}s")


async def test_rejoin_on_empty_data_dir_state_transfers(cluster: LocalCluster) -> None:
    keys = cluster.accounts
    to = keys[-1].public_hex
    primary = await cluster.primary_index()
    victim = (primary + 2) % cluster.n
    others = [i for i in range(cluster.n) if i != victim]
    first = await submit_all(
        cluster.url(others[0]), sign_batch(keys[2], cluster.chain_id, 0, 300, to)
    )
    await wait_committed(cluster, others[0], first)
    cluster.kill(victim, signal.SIGKILL)
    shutil.rmtree(cluster.data_dir(victim))
    # the others keep committing while it is gone and while it catches up
    load = asyncio.create_task(
        submit_all(
            cluster.url(others[1]),
            sign_batch(keys[3], cluster.chain_id, 0, 300, to),
            batch=10,
            pause=0.05,
        )
    )
    started = time.monotonic()
    await cluster.restart(victim)
    second = await load
    await _committed_everywhere(cluster, [victim], first + second)
    elapsed = time.monotonic() - started
    top = await _same_chain(cluster, list(range(cluster.n)))
    roots = {(await cluster.status(i))["state_root"] for i in range(cluster.n)}
    assert len(roots) == 1
    print(f"empty node caught up {top} blocks / {len(first) + len(second)} txs in {elapsed:.2f}s")


async def test_repeated_sigkill_restart_never_equivocates(cluster: LocalCluster) -> None:
    keys = cluster.accounts
    to = keys[-1].public_hex
    rng = random.Random(1234)
    hashes: list[str] = []
    for round_ in range(4):
        victim = rng.randrange(cluster.n)
        survivor = (victim + 1) % cluster.n
        load = asyncio.create_task(
            submit_all(
                cluster.url(survivor),
                sign_batch(keys[4 + round_], cluster.chain_id, 0, 80, to),
                batch=4,
                pause=0.02,
            )
        )
        await asyncio.sleep(rng.uniform(0.05, 0.6))
        cluster.kill(victim, signal.SIGKILL)
        hashes += await load
        await cluster.restart(victim)
    await _committed_everywhere(cluster, list(range(cluster.n)), hashes)
    await _same_chain(cluster, list(range(cluster.n)))


@pytest.mark.parametrize("mode", ["equivocate", "garbage"])
async def test_byzantine_validator_cannot_stop_or_split_the_others(new_cluster, mode: str) -> None:  # type: ignore[no-untyped-def]
    cluster: LocalCluster = new_cluster()
    liar = 0  # validator 0 is the primary of view 0: the worst place for a liar
    cluster.make_byzantine(liar, mode)
    await cluster.start_all()
    honest = [1, 2, 3]
    keys = cluster.accounts
    hashes = []
    for k in range(3):
        hashes += await submit_all(
            cluster.url(honest[k]),
            sign_batch(keys[k], cluster.chain_id, 0, 60, keys[-1].public_hex),
        )
    await _committed_everywhere(cluster, honest, hashes)
    await _same_chain(cluster, honest)
    # the honest nodes saw the lies and counted them instead of acting on them
    stats = [(await cluster.status(i))["stats"] for i in honest]
    if mode == "garbage":
        assert all(
            s["node"]["bad_consensus_messages"] + s["node"]["bad_peer_messages"] > 0 for s in stats
        )


def test_a_node_with_test_mode_in_its_config_refuses_to_start(new_cluster) -> None:  # type: ignore[no-untyped-def]
    """Byzantine modes are not a production setting: the key is unknown, the node says which."""
    cluster: LocalCluster = new_cluster()
    cluster.set_node_option(0, "test_mode", "byzantine-equivocate")
    done = aidchain("node", "start", "--config", str(cluster.config_path(0)), timeout=60)
    assert done.returncode == 2
    assert "unknown key(s) in [node]: test_mode" in done.stderr
    assert not cluster.data_dir(0).exists()  # refused before anything was created
