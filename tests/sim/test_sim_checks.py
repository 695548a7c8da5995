"""The simulator's checks are real: deliberately broken replicas get caught, runs replay exactly."""

from __future__ import annotations

from typing import Any

import pytest

from consensus import replica as replica_module
from consensus.simulator import FaultMix, SimSettings, Simulation, run_seed

# Seeds that failed while the simulator was being built, pinned as regressions. Before the
# idle "probe" existed, a node restarted into an idle cluster never learned it was behind
# and these runs failed liveness.
PINNED = [
    # SAFETY bug: a backup restarted after preparing lost the prepared block body, dropped its
    # prepared certificate from its VIEW-CHANGE, and the new primary proposed another block at
    # a height already committed. Fixed by journaling the body and never dropping the cert.
    (5022, "byzchaos"),
    # SAFETY bug: after a NEW-VIEW proving height H committed, a new primary that was itself
    # behind proposed a fresh block at a height <= H instead of state-transferring it.
    (11232, "byzchaos"),
    (11414, "splitbyz"),
    (11429, "splitbyz"),
    (54, "partition"),
    (90, "byzchaos"),
    (120, "crash"),
    (185, "crash"),
    (198, "crash"),
    (220, "byzchaos"),
    (224, "crash"),
    (251, "chaos"),
    (289, "crash"),
]


@pytest.mark.parametrize("seed,mix", PINNED)
def test_pinned_regression_seeds(seed: int, mix: str) -> None:
    result = Simulation(seed, 4, mix).run()
    assert result.ok, result.failure


def test_same_seed_same_trace() -> None:
    first: list[str] = []
    second: list[str] = []
    a = Simulation(7, 4, "chaos", trace=first.append).run()
    b = Simulation(7, 4, "chaos", trace=second.append).run()
    assert a == b
    assert first == second and len(first) > 100


def test_different_seeds_differ() -> None:
    assert Simulation(1, 4, "lossy").run() != Simulation(2, 4, "lossy").run()


def _patch_init(monkeypatch: pytest.MonkeyPatch, after: Any = None, journal: bool = True) -> None:
    original = replica_module.Replica.__init__

    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        if not journal:
            kwargs["journal"] = ()
        original(self, *args, **kwargs)
        if after is not None:
            after(self)

    monkeypatch.setattr(replica_module.Replica, "__init__", patched)


def _failures(mixes: tuple[str, ...], seeds: range) -> list[str]:
    out = []
    for seed in seeds:
        result = run_seed(seed, 4, mixes)
        if not result.ok:
            out.append(result.failure or "")
    return out


def test_checker_catches_a_too_small_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_init(monkeypatch, after=lambda r: setattr(r, "_quorum", r._f + 1))
    failures = _failures(("twins", "equivocate"), range(4))
    assert failures and all("certificate" in f or "SAFETY" in f for f in failures)


def test_checker_catches_equivocation_after_journal_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_init(monkeypatch, journal=False)
    failures = _failures(("crash", "chaos"), range(40))
    assert any("EQUIVOCATION" in f for f in failures)


def test_checker_catches_new_view_that_drops_prepared_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        replica_module,
        "choose_prepared",
        lambda vcs: (max(vc.last_height for vc in vcs), None),
    )
    failures = _failures(("split", "splitbyz"), range(40, 56))
    assert any("SAFETY" in f for f in failures)


def test_liveness_failure_is_reported_when_too_many_nodes_are_down() -> None:
    # three silent (withholding) validators out of four: nothing can commit
    mix = FaultMix("toomany", byzantine="withhold")
    settings = SimSettings(fault_ms=500, liveness_ms=3_000)
    sim = Simulation(3, 4, mix, settings)
    keep = sim.honest[0]
    for node in sim.nodes:
        if node is not keep:
            node.byzantine = "withhold"
    sim.honest = [keep]
    result = sim.run()
    assert not result.ok and "LIVENESS" in (result.failure or "")
