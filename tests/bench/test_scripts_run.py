"""Every in-process benchmark script still runs, at a size that takes seconds.

CI runs no benchmark for its figures, so nothing else would notice a script broken by a
rename elsewhere: ``Mempool.ready`` was removed while ``bench_ledger.py`` and
``bench_mempool.py`` still called it, and that surfaced only when someone measured. This
runs each script as a reader would (its own process, its documented command line) with
small arguments and requires a clean exit and output. The figures themselves are not
checked: they are measurements, never asserts.

Left out: the scripts that start clusters (``bench_recovery.py``, ``bench_subscriptions.py``,
``side_by_side.py``) and ``bench_replay.py``, which ``tests/node/test_bench_replay_script.py``
runs on the recorded ledger chain.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "bench_contracts.py": [],
    "bench_gas_rate.py": [],
    "bench_ledger.py": ["--txs", "40", "--block", "20"],
    "bench_mempool.py": ["--pool", "2000", "--attackers", "50"],
    "bench_peers.py": ["--seconds", "0.2"],
    "bench_proofs.py": ["--txs", "50", "--rounds", "1"],
    "bench_public.py": ["--households", "200", "--villages", "5", "--txs", "500", "--block", "100"],
    "bench_realcode.py": ["--top", "3"],
    "bench_scale.py": ["--households", "500", "--block", "100", "--skip-stream"],
    "bench_wire.py": ["--txs", "50", "--rounds", "1"],
}


def test_every_benchmark_script_is_listed_or_excused() -> None:
    excused = {"bench_recovery.py", "bench_subscriptions.py", "bench_replay.py"}
    present = {p.name for p in HERE.glob("bench_*.py")}
    assert present == set(SCRIPTS) | excused, "a benchmark script is neither run nor excused"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_script_runs(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *SCRIPTS[script]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # a script must not depend on the directory it is started from
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    assert done.stdout.strip(), f"{script} printed nothing"
