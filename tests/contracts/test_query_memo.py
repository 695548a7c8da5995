"""QueryMemo: queries sharing program loads and argument conversions pay what fresh ones pay."""

from __future__ import annotations

from typing import Any

from contracts.runtime import CallContext, MemoryState, QueryMemo, deploy, query

CTX = CallContext(height=3, time=1_700_000_000_000, tx_hash="ab" * 32)
DEPLOYER = "a1" * 32
RULES = """
def init(line=100):
    storage["line"] = line
    storage["names"] = ["n" * 40] * 30

def from_storage(household):
    return household["income"] < storage["line"] and len(storage["names"]) == 30

def eligible(household, program):
    return household["income"] < program["line"] and len(household["members"]) > 0

def amount(household, program):
    return program["base"] + 10 * len(household["members"])

def mutate(household, program):
    household["members"].append("x" * 50)
    program["line"] = 0
    return len(household["members"])
"""


def _deployed() -> tuple[MemoryState, str]:
    state = MemoryState()
    result = deploy(state, sender=DEPLOYER, nonce=0, source=RULES, init={}, gas=10**6, ctx=CTX)
    assert result.ok and result.address is not None
    return state, result.address


def _args(members: int) -> dict[str, Any]:
    return {
        "household": {"income": 10, "members": [f"m{i}" * 8 for i in range(members)]},
        "program": {"line": 100, "base": 5},
    }


def _run(
    state: MemoryState, address: str, methods: list[str], args: dict[str, Any], gas: int, memo: Any
) -> list[tuple[bool, Any, int, str | None]]:
    out = []
    for method in methods:
        r = query(state, contract=address, method=method, args=args, gas=gas, ctx=CTX, memo=memo)
        out.append((r.ok, r.result, r.gas_used, None if r.error is None else r.error["type"]))
    return out


def test_memo_changes_no_result_and_no_gas() -> None:
    state, address = _deployed()
    methods = ["eligible", "amount", "mutate", "eligible", "amount"]
    args = _args(40)
    fresh = _run(state, address, methods, args, 10**6, None)
    shared = _run(state, address, methods, args, 10**6, QueryMemo())
    assert shared == fresh
    assert fresh[2][1] == 41 and fresh[3][1] is True  # the VM's copy was mutated, not ours
    assert len(args["household"]["members"]) == 40


def test_memo_runs_out_of_gas_exactly_where_a_fresh_query_does() -> None:
    state, address = _deployed()
    args = _args(400)
    first = _run(state, address, ["eligible"], args, 10**6, None)[0][2]
    for gas in (first // 3, first - 1, first, first + 1):
        memo = QueryMemo()
        _run(state, address, ["amount"], args, 10**6, memo)  # warms the memo
        assert _run(state, address, ["eligible"], args, gas, memo) == _run(
            state, address, ["eligible"], args, gas, None
        )


def test_storage_reads_are_charged_as_fresh_ones() -> None:
    state, address = _deployed()
    args = {"household": {"income": 10}}
    fresh = _run(state, address, ["from_storage"] * 3, args, 10**6, None)
    memo = QueryMemo()
    assert _run(state, address, ["from_storage"] * 3, args, 10**6, memo) == fresh
    assert fresh[0][:2] == (True, True)
    assert len(memo.storage) == 2  # both keys read once, then served from the memo


def test_memo_is_per_object_not_per_content() -> None:
    state, address = _deployed()
    memo = QueryMemo()
    small, large = _args(1), _args(300)
    a = _run(state, address, ["amount"], small, 10**6, memo)
    b = _run(state, address, ["amount"], large, 10**6, memo)
    assert b == _run(state, address, ["amount"], large, 10**6, None)
    assert a[0][2] < b[0][2]
