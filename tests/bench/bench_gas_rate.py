"""Benchmark (not a test): how fast the VM spends gas on contracts that spin until out of gas.

    python tests/bench/bench_gas_rate.py

The genesis block gas limit bounds a block's execution time only as well as gas tracks CPU time,
so this prints gas per second for spinning loops of different shapes (best of a few runs, one
core). A full block takes ``block_gas_limit / rate`` seconds of a core; the slowest shape is
what an attacker would choose, and it must stay well under the view-change timeout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chain import limits
from contracts.runtime import run_local

REPEATS = 3
GAS = 5_000_000

SPINS: dict[str, str] = {
    "int_loop": "i = 0\n    while True:\n        i = i + 1",
    "calls": "while True:\n        f(1)",
    "list_str": "while True:\n        x = [1, 2, 3]\n        s = str(x)",
    "fstring": "i = 0\n    while True:\n        s = f'{i}-{i}'\n        i += 1",
    "dict_store": "d = {}\n    i = 0\n    while True:\n        d[str(i % 1000)] = i\n        i += 1",
    "deep_compare": "a = [[1, 2], [3, 4]] * 100\n    while True:\n        y = a == a[:]",
    "sort": "x = list(range(1000))\n    while True:\n        y = sorted(x)",
    "sha256": "while True:\n        y = sha256('x')",
    "join": "x = ['ab'] * 1000\n    while True:\n        y = ''.join(x)",
}


def rate(body: str) -> float:
    """Gas per second of one spinning shape, best of REPEATS."""
    source = f"def f(a):\n    return a\n\n\ndef spin():\n    {body}\n"
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        result, _ = run_local(source, "spin", {}, gas=GAS)
        best = min(best, time.perf_counter() - started)
        assert result.error is not None and result.error["type"] == "OutOfGas", result.error
    return GAS / best


def main() -> None:
    block = limits.DEFAULT_BLOCK_GAS_LIMIT
    print(f"{'shape':14s} {'Mgas/s':>8s} {'block of ' + format(block, ',') + ' gas':>26s}")
    for name, body in SPINS.items():
        r = rate(body)
        print(f"{name:14s} {r / 1e6:8.1f} {block / r:24.2f} s")


if __name__ == "__main__":
    main()
