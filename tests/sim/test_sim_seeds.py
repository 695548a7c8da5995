"""The simulator's seed sweep: >= 300 seeds across every fault mix, n=4 and n=7.

Every seed checks safety and validity after every step and liveness after the network heals;
a failure names the seed so ``aidchain sim --nodes N --faults MIX --seed S --trace`` replays it.
"""

from __future__ import annotations

import pytest

from consensus.simulator import FAULT_MIXES, Simulation

MIXES = tuple(FAULT_MIXES)
SEEDS_N4 = 15  # per mix -> 15 * 15 = 225 seeds
SEEDS_N7 = 6  # per mix -> 6 * 15 = 90 seeds


def run_many(nodes: int, mix: str, seeds: range) -> None:
    failures = []
    for seed in seeds:
        result = Simulation(seed, nodes, mix).run()
        if not result.ok:
            failures.append(f"seed {seed}: {result.failure}")
        else:
            assert result.txs > 0 and result.blocks > 0
    assert not failures, (
        f"n={nodes} mix={mix}: replay with `aidchain sim --nodes {nodes} --faults {mix} "
        f"--seed S --trace`\n" + "\n".join(failures)
    )


@pytest.mark.parametrize("mix", MIXES)
def test_seeds_n4(mix: str) -> None:
    run_many(4, mix, range(1000, 1000 + SEEDS_N4))


@pytest.mark.parametrize("mix", MIXES)
def test_seeds_n7(mix: str) -> None:
    run_many(7, mix, range(2000, 2000 + SEEDS_N7))


def test_sweep_covers_at_least_300_seeds() -> None:
    assert len(MIXES) * (SEEDS_N4 + SEEDS_N7) >= 300
