"""Benchmark (not a test): contract VM vs plain CPython on the same programs.

    python tests/bench/bench_contracts.py

Each program runs in the VM (checked, compiled, metered) and as plain Python; the best of
several runs is compared. The summary is the geometric mean of the per-program time ratios
(VM time / CPython time); the goal is a ratio of at most 5 (at least 1/5 of CPython's speed).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts.runtime import run_local

REPEATS = 5
GAS = 10_000_000

PROGRAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "int_loop": (
        """
def bench(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
""",
        {"n": 100_000},
    ),
    "while_arith": (
        """
def bench(n):
    a = 0
    b = 1
    i = 0
    while i < n:
        a, b = b, (a + b) % 1000003
        i += 1
    return a
""",
        {"n": 100_000},
    ),
    "gcd_calls": (
        """
def gcd(a, b):
    while b:
        a, b = b, a % b
    return a

def bench(n):
    s = 0
    for i in range(1, n):
        s += gcd(i * 7919, 104729)
    return s
""",
        {"n": 20_000},
    ),
    "dict_counts": (
        """
def bench(n):
    counts = {}
    for i in range(n):
        key = "k" + str(i % 100)
        counts[key] = counts.get(key, 0) + 1
    return len(counts), counts["k7"]
""",
        {"n": 50_000},
    ),
    "list_work": (
        """
def bench(n):
    xs = []
    for i in range(n):
        xs.append((i * 31) % 1000)
    evens = [x for x in xs if x % 2 == 0]
    ys = sorted(evens)
    return len(ys), ys[0], ys[-1], sum(ys)
""",
        {"n": 50_000},
    ),
    "ledger": (
        """
def bench(n):
    balances = {"acct" + str(i): 1000 for i in range(50)}
    log = []
    for i in range(n):
        src = "acct" + str(i % 50)
        dst = "acct" + str((i * 7 + 3) % 50)
        amount = (i % 13) + 1
        if balances[src] >= amount:
            balances[src] -= amount
            balances[dst] += amount
            log.append((src, dst, amount))
    return len(log), sum(balances.values())
""",
        {"n": 30_000},
    ),
    "string_build": (
        """
def bench(n):
    parts = []
    for i in range(n):
        parts.append(f"{i}:{i % 10}")
    s = ",".join(parts)
    return len(s), s[:20].upper()
""",
        {"n": 30_000},
    ),
    "string_concat": (
        """
def bench(n):
    s = ""
    for i in range(n):
        s += "ab"[i % 2]
    return len(s), s.count("ab")
""",
        {"n": 20_000},
    ),
    "nested_lists": (
        """
def bench(n):
    grid = [[0] * 50 for r in range(50)]
    for k in range(n):
        r = k % 50
        c = (k * 3) % 50
        grid[r][c] += k
    return sum([sum(row) for row in grid])
""",
        {"n": 50_000},
    ),
}


def time_cpython(source: str, args: dict[str, Any]) -> tuple[float, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<bench>", "exec"), namespace)
    best = math.inf
    result = None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = namespace["bench"](**args)
        best = min(best, time.perf_counter() - start)
    return best, result


def time_vm(source: str, args: dict[str, Any]) -> tuple[float, Any, int]:
    best = math.inf
    out = None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out, _ = run_local(source, "bench", args, gas=GAS)
        best = min(best, time.perf_counter() - start)
    assert out is not None
    if not out.ok:
        raise SystemExit(f"VM failed: {out.error}")
    return best, out.result, out.gas_used


def plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def main() -> None:
    ratios = []
    print(f"{'program':<14} {'cpython ms':>11} {'vm ms':>9} {'ratio':>7} {'gas':>10}")
    for name, (source, args) in PROGRAMS.items():
        cpy, expected = time_cpython(source, args)
        vm, got, gas = time_vm(source, args)
        if plain(expected) != got:
            raise SystemExit(f"{name}: VM result {got!r} != CPython {expected!r}")
        ratio = vm / cpy
        ratios.append(ratio)
        print(f"{name:<14} {cpy * 1000:>11.2f} {vm * 1000:>9.2f} {ratio:>7.2f} {gas:>10}")
    geo = statistics.geometric_mean(ratios)
    print(
        f"\ngeometric mean ratio VM/CPython: {geo:.2f} (VM runs at 1/{geo:.1f} of CPython speed;"
        f" goal: ratio <= 5)"
    )


if __name__ == "__main__":
    main()
