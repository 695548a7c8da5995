"""Int-specialized function bodies charge exactly what the general body charges.

The compiler compiles a function whose parameters are used as numbers twice (specialize.py);
the specialized body may only be faster, never cheaper or dearer: every program here runs
with specialization on and off and must give the same result, error and gas.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts import runtime
from contracts.runtime import run_local
from contracts.vm import compiler, machine

EDGE_CASES = [
    "def f(a, b):\n    return a * b\n\ndef main():\n    return f(2 ** 100, 2 ** 100), f(2 ** 100, 0), f(3, 5)",
    "def f(a, m):\n    return (a + 1) % m, (a * 3) // m\n\ndef main():\n    return f(2 ** 300, 7), f(5, 3)",
    "def f(x, y):\n    x *= y\n    x //= 3\n    x %= y + 1\n    return x\n\ndef main():\n    return f(2 ** 200, 2 ** 90), f(7, 3)",
    "def f(a, b):\n    return a & b, a | b, a ^ b, -a, a + b, a - b\n\ndef main():\n    return f(2 ** 70, 3), f(12, 10)",
    "def f(n):\n    return [i * n for i in range(3)], sorted([3, 1], key=lambda v: v * n)\n\ndef main():\n    return f(2 ** 80), f(4)",
    "def f(a, b):\n    return a * b\n\ndef main():\n    return f(2 ** 3000, 2 ** 3000)",
]


def forget_programs() -> None:
    """Drop compiled programs and this thread's namespaces so the next run compiles anew."""
    machine._cache.clear()
    kit = getattr(runtime._kits, "kit", None)
    if kit is not None:
        kit.instances.clear()


def run(source: str) -> dict[str, Any]:
    result, _ = run_local(source, "main", {}, gas=1_000_000)
    return {"ok": result.ok, "result": result.result, "error": result.error, "gas": result.gas_used}


@pytest.mark.parametrize("source", EDGE_CASES)
def test_specialized_bodies_charge_like_the_general_body(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    forget_programs()
    specialized = run(source)
    forget_programs()
    monkeypatch.setattr(compiler, "numeric_params", lambda fn, params: set())
    try:
        general = run(source)
    finally:
        forget_programs()
    assert specialized == general


def test_the_whole_corpus_charges_the_same_with_and_without_specialization(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.contracts.corpus import all_sources, run_vm

    sources = all_sources()
    forget_programs()
    specialized = [run_vm(source) for _, source in sources]
    forget_programs()
    monkeypatch.setattr(compiler, "numeric_params", lambda fn, params: set())
    try:
        general = [run_vm(source) for _, source in sources]
    finally:
        forget_programs()
    differing = [
        ident for (ident, _), a, b in zip(sources, specialized, general, strict=True) if a != b
    ]
    assert differing == []
