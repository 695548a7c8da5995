"""Benchmark (not a test): the contract VM against CPython on real code nobody here wrote.

    python tests/bench/bench_realcode.py [--top N]

The corpus (``realcode_corpus.json``, built by ``realcode_extract.py`` from TheAlgorithms/Python,
MIT, see ``realcode_LICENSE.md``) holds small algorithm programs whose ``main()`` repeats one
doctest call 100 times. Each runs in process as a local contract call (``run_local``: checked and
compiled once, then metered, including the fixed per-call cost) and as plain CPython, alternately;
the best of REPEATS runs of each is compared. Printed: each program's VM/CPython time ratio, the median, p10 and p90,
the worst and median ratio per workload class (the directory the program came from), and the
fixed per-call cost, side by side with CPython's. Goals (issue 9): median <= 3, no class worse
than 10 (by its median), fixed per-call cost < 20 us.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts.runtime import run_local

CORPUS = Path(__file__).resolve().parent / "realcode_corpus.json"
REPEATS = 5
GAS = 10_000_000
TRIVIAL = "def main():\n    return 1\n"


def best(run: Any, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def vm_runner(source: str) -> Any:
    result, _ = run_local(source, "main", {}, gas=GAS)  # compile once (cached) and check it runs
    assert result.ok, result.error
    return lambda: run_local(source, "main", {}, gas=GAS)


def cpython_runner(source: str) -> Any:
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(source, "<realcode>", "exec"), namespace)
    return namespace["main"]


def paired_times(source: str) -> tuple[float, float]:
    """Best CPython and VM times, measured alternately so that a burst of load elsewhere on
    the machine hits both sides rather than one."""
    vm, cpython = vm_runner(source), cpython_runner(source)
    cpy_best = vm_best = float("inf")
    for _ in range(REPEATS):
        cpy_best = min(cpy_best, best(cpython, 1))
        vm_best = min(vm_best, best(vm, 1))
    return cpy_best, vm_best


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fixed_cost() -> tuple[float, float]:
    """Seconds per call of a trivial contract, in the VM and in CPython (best of many short
    batches, alternating)."""
    vm = vm_runner(TRIVIAL)
    main = cpython_runner(TRIVIAL)
    n = 50
    vm_best = cpy_best = float("inf")
    for _ in range(20):
        vm_best = min(vm_best, best(lambda: [vm() for _ in range(n)], 1) / n)
        cpy_best = min(cpy_best, best(lambda: [main() for _ in range(n)], 1) / n)
    return vm_best, cpy_best


def main() -> None:
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 15
    programs = json.loads(CORPUS.read_text(encoding="utf-8"))
    rows = []
    for program in programs:
        cpy, vm = paired_times(program["source"])
        rows.append((program["id"], program["class"], cpy, vm, vm / cpy))
    rows.sort(key=lambda r: -r[4])
    print(f"{'program':60} {'class':22} {'CPython ms':>10} {'VM ms':>9} {'VM/CPy':>7}")
    for ident, kind, cpy, vm, ratio in rows[:top]:
        print(f"{ident[:60]:60} {kind[:22]:22} {cpy * 1e3:10.3f} {vm * 1e3:9.3f} {ratio:7.2f}")
    if len(rows) > top:
        print(f"... {len(rows) - top} more (--top N to show them)")
    ratios = [r[4] for r in rows]
    print(
        f"\n{len(rows)} programs: median {statistics.median(ratios):.2f}x  "
        f"p10 {percentile(ratios, 0.10):.2f}x  p90 {percentile(ratios, 0.90):.2f}x  "
        f"(goal: median <= 3x)"
    )
    by_class: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_class[row[1]].append(row[4])
    print(f"\n{'class':24} {'programs':>8} {'median':>7} {'worst':>7}  (goal: no class > 10x)")
    for kind, values in sorted(by_class.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"{kind:24} {len(values):8} {statistics.median(values):7.2f} {max(values):7.2f}")
    vm, cpy = fixed_cost()
    print(
        f"\nfixed per-call cost: VM {vm * 1e6:.1f} us, CPython {cpy * 1e6:.2f} us "
        f"(goal: VM < 20 us)"
    )


if __name__ == "__main__":
    main()
