"""The runtime API the node executor calls: deploy, call, query, get_contract, atomicity."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chain.statekeys import account_key, code_key, storage_key
from contracts.runtime import (
    CallContext,
    ContractResult,
    MemoryState,
    call,
    contract_address,
    deploy,
    get_contract,
    query,
    run_local,
)
from contracts.vm import gas as schedule

CTX = CallContext(height=7, time=1_700_000_000_000, tx_hash="ab" * 32)
ALICE = "a1" * 32
BOB = "b0" * 32
GAS = 1_000_000

COUNTER = """
\"\"\"A counter with an owner.\"\"\"

def init(start=0):
    storage["count"] = start
    storage["owner"] = ctx.sender

def increment(by=1):
    require(by > 0, "by must be positive")
    storage["count"] += by
    emit("incremented", by=by, count=storage["count"])
    return storage["count"]

def get():
    return storage["count"]

def info():
    return {"sender": ctx.sender, "height": ctx.height, "time": ctx.time,
            "tx": ctx.tx_hash, "me": ctx.contract}

def fail_after_write():
    storage["count"] = -1
    emit("never", x=1)
    require(False, "nope")

def boom():
    storage["count"] = 123
    return 1 // 0

def pay(to, amount):
    transfer(to, amount)
    return balance(ctx.contract)

def pay_then_fail(to, amount):
    transfer(to, amount)
    return [1][5]

def loop():
    while True:
        storage["count"] += 1

def bad_result():
    return {1: 2}

def tuple_result():
    return (1, (2, "x"), [None, True])

def forward(target, method):
    return call(target, method)

def forward_increment(target, by):
    return call(target, "increment", by=by)

def forward_fail(target):
    storage["count"] = 999
    return call(target, "fail_after_write")

def hash_of(text):
    return sha256(text)

def remove():
    v = storage.pop("count")
    return v, "count" in storage, storage.get("count", "gone")

def store_none():
    storage["count"] = None
    return "count" in storage
"""


def deployed(state: MemoryState | None = None, start: int = 5) -> tuple[MemoryState, str]:
    state = state or MemoryState()
    result = deploy(
        state, sender=ALICE, nonce=0, source=COUNTER, init={"start": start}, gas=GAS, ctx=CTX
    )
    assert result.ok, result.error
    assert result.address is not None
    return state, result.address


def do(state: MemoryState, address: str, method: str, /, **args: Any) -> ContractResult:
    return call(state, sender=BOB, contract=address, method=method, args=args, gas=GAS, ctx=CTX)


def test_contract_address_is_deterministic() -> None:
    a = contract_address(ALICE, 3)
    assert a == contract_address(ALICE, 3)
    assert a != contract_address(ALICE, 4) != contract_address(BOB, 3)
    assert len(a) == 64 and int(a, 16) >= 0


def test_deploy_stores_code_and_runs_init() -> None:
    state, address = deployed()
    assert address == contract_address(ALICE, 0)
    assert state.data[code_key(address)] == {
        "source": COUNTER,
        "deployer": ALICE,
        "height": 7,
        "tx": CTX.tx_hash,
    }
    assert state.data[storage_key(address, "count")] == 5
    assert state.data[storage_key(address, "owner")] == ALICE
    info = get_contract(state, address)
    assert info == {
        "address": address,
        "source": COUNTER,
        "deployer": ALICE,
        "height": 7,
        "tx": CTX.tx_hash,
    }
    assert get_contract(state, BOB) is None


def test_deploy_invalid_source_writes_nothing() -> None:
    state = MemoryState()
    result = deploy(state, sender=ALICE, nonce=0, source="import os\n", init={}, gas=GAS, ctx=CTX)
    assert not result.ok
    assert result.error is not None and result.error["type"] == "ValidationError"
    assert "1:0" in result.error["message"] and "import" in result.error["message"]
    assert state.data == {}
    assert result.gas_used > 0


def test_deploy_twice_to_same_address_fails() -> None:
    state, _ = deployed()
    before = copy.deepcopy(state.data)
    again = deploy(state, sender=ALICE, nonce=0, source=COUNTER, init={}, gas=GAS, ctx=CTX)
    assert not again.ok and again.error is not None
    assert again.error["type"] == "ContractExists"
    assert state.data == before


def test_deploy_init_failure_reverts_everything() -> None:
    state = MemoryState()
    result = deploy(
        state,
        sender=ALICE,
        nonce=0,
        source=COUNTER,
        init={"start": "x", "bogus": 1},
        gas=GAS,
        ctx=CTX,
    )
    assert not result.ok and result.error is not None and result.error["type"] == "TypeError"
    assert state.data == {}


def test_deploy_without_init_refuses_init_args() -> None:
    state = MemoryState()
    source = "def get():\n    return 1\n"
    assert deploy(state, sender=ALICE, nonce=1, source=source, init={}, gas=GAS, ctx=CTX).ok
    bad = deploy(
        MemoryState(), sender=ALICE, nonce=1, source=source, init={"a": 1}, gas=GAS, ctx=CTX
    )
    assert not bad.ok and bad.error is not None and bad.error["type"] == "NoSuchMethod"


def test_call_updates_storage_and_emits_events() -> None:
    state, address = deployed()
    result = do(state, address, "increment", by=3)
    assert result.ok and result.result == 8
    assert result.events == [
        {"contract": address, "name": "incremented", "fields": {"by": 3, "count": 8}}
    ]
    assert state.data[storage_key(address, "count")] == 8
    receipt = result.to_receipt()
    assert receipt == {
        "ok": True,
        "error": None,
        "error_type": None,
        "error_location": None,
        "gas_used": result.gas_used,
        "events": result.events,
        "result": 8,
        "address": None,
    }


def test_ctx_fields() -> None:
    state, address = deployed()
    result = do(state, address, "info")
    assert result.result == {
        "sender": BOB,
        "height": 7,
        "time": CTX.time,
        "tx": CTX.tx_hash,
        "me": address,
    }


@pytest.mark.parametrize(
    ("method", "args", "error_type"),
    [
        ("fail_after_write", {}, "RequireFailed"),
        ("boom", {}, "ZeroDivisionError"),
        ("loop", {}, "OutOfGas"),
        ("bad_result", {}, "InvalidValue"),
        ("increment", {"by": -1}, "RequireFailed"),
        ("increment", {"nope": 1}, "TypeError"),
        ("missing", {}, "NoSuchMethod"),
        ("init", {}, "NoSuchMethod"),
    ],
)
def test_failed_call_leaves_state_untouched(
    method: str, args: dict[str, Any], error_type: str
) -> None:
    state, address = deployed()
    before = copy.deepcopy(state.data)
    result = do(state, address, method, **args)
    assert not result.ok
    assert result.error is not None and result.error["type"] == error_type
    assert result.events == [] and result.result is None
    assert state.data == before
    assert 0 < result.gas_used <= GAS
    if error_type == "OutOfGas":
        assert result.gas_used == GAS
    assert result.to_receipt()["error_type"] == error_type


def test_require_message_reported() -> None:
    state, address = deployed()
    result = do(state, address, "increment", by=0)
    assert result.error == {"type": "RequireFailed", "message": "by must be positive"}


def test_no_such_contract() -> None:
    result = do(MemoryState(), BOB, "get")
    assert result.error is not None and result.error["type"] == "NoSuchContract"


def test_tuples_become_lists() -> None:
    state, address = deployed()
    assert do(state, address, "tuple_result").result == [1, [2, "x"], [None, True]]


def test_query_never_writes() -> None:
    state, address = deployed()
    before = copy.deepcopy(state.data)
    result = query(state, contract=address, method="increment", args={"by": 2}, gas=GAS, ctx=CTX)
    assert result.ok and result.result == 7
    assert state.data == before
    read = query(state, contract=address, method="info", args={}, gas=GAS, ctx=CTX)
    assert read.result["sender"] == ""
    with_sender = query(
        state, contract=address, method="info", args={}, gas=GAS, ctx=CTX, sender=ALICE
    )
    assert with_sender.result["sender"] == ALICE


def test_storage_pop_and_none_deletes() -> None:
    state, address = deployed()
    assert do(state, address, "remove").result == [5, False, "gone"]
    assert storage_key(address, "count") not in state.data
    state2, address2 = deployed()
    assert do(state2, address2, "store_none").result is False
    assert storage_key(address2, "count") not in state2.data


def fund(state: MemoryState, address: str, amount: int) -> None:
    state.set(account_key(address), {"balance": amount, "nonce": 0})


def test_transfer_moves_balance() -> None:
    state, address = deployed()
    fund(state, address, 1_000)
    state.set(account_key(BOB), {"balance": 5, "nonce": 9})
    result = do(state, address, "pay", to=BOB, amount=300)
    assert result.ok and result.result == 700
    assert state.data[account_key(address)] == {"balance": 700, "nonce": 0}
    assert state.data[account_key(BOB)] == {"balance": 305, "nonce": 9}


@pytest.mark.parametrize(
    ("to", "amount", "error_type"),
    [
        (BOB, 5_000, "InsufficientFunds"),
        (BOB, 0, "ValueError"),
        (BOB, -5, "ValueError"),
        (BOB, 2**53, "ValueError"),
        (BOB, True, "ValueError"),
        ("not-an-address", 1, "ValueError"),
    ],
)
def test_bad_transfers_revert(to: Any, amount: Any, error_type: str) -> None:
    state, address = deployed()
    fund(state, address, 1_000)
    before = copy.deepcopy(state.data)
    result = do(state, address, "pay", to=to, amount=amount)
    assert result.error is not None and result.error["type"] == error_type
    assert state.data == before


def test_transfer_then_failure_reverts_balances() -> None:
    state, address = deployed()
    fund(state, address, 1_000)
    before = copy.deepcopy(state.data)
    result = do(state, address, "pay_then_fail", to=BOB, amount=10)
    assert result.error is not None and result.error["type"] == "IndexError"
    assert state.data == before


def two_contracts() -> tuple[MemoryState, str, str]:
    state, first = deployed()
    result = deploy(
        state, sender=ALICE, nonce=1, source=COUNTER, init={"start": 100}, gas=GAS, ctx=CTX
    )
    assert result.ok and result.address
    return state, first, result.address


def test_cross_contract_call_sender_and_events() -> None:
    state, first, second = two_contracts()
    result = do(state, first, "forward", target=second, method="info")
    assert result.ok
    assert result.result["sender"] == first and result.result["me"] == second
    inc = do(state, first, "forward_increment", target=second, by=4)
    assert inc.ok and inc.result == 104
    assert inc.events == [
        {"contract": second, "name": "incremented", "fields": {"by": 4, "count": 104}}
    ]
    assert state.data[storage_key(second, "count")] == 104


def test_nested_failure_reverts_caller_and_callee() -> None:
    state, first, second = two_contracts()
    before = copy.deepcopy(state.data)
    result = do(state, first, "forward_fail", target=second)
    assert result.error is not None and result.error["type"] == "RequireFailed"
    assert state.data == before


def test_cross_contract_recursion_is_depth_limited() -> None:
    state, _, _ = two_contracts()
    source = "def ping(target):\n    return call(target, 'ping', target=target)\n"
    deployed_ping = deploy(state, sender=BOB, nonce=0, source=source, init={}, gas=GAS, ctx=CTX)
    assert deployed_ping.ok and deployed_ping.address
    result = do(state, deployed_ping.address, "ping", target=deployed_ping.address)
    assert result.error is not None and result.error["type"] == "LimitExceeded"


def test_sha256_host_function() -> None:
    import hashlib

    state, address = deployed()
    result = do(state, address, "hash_of", text="salt:household-42")
    assert result.result == hashlib.sha256(b"salt:household-42").hexdigest()


def test_gas_is_deterministic_and_monotonic() -> None:
    state, address = deployed()
    a = do(state, address, "get")
    b = do(state, address, "get")
    assert a.gas_used == b.gas_used > schedule.GAS_CALL_BASE
    small = run_local(
        "def f(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n",
        "f",
        {"n": 10},
        gas=GAS,
    )[0]
    big = run_local(
        "def f(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n",
        "f",
        {"n": 1000},
        gas=GAS,
    )[0]
    assert big.gas_used > small.gas_used + 900


def test_low_gas_fails_cleanly() -> None:
    state = MemoryState()
    result = deploy(state, sender=ALICE, nonce=0, source=COUNTER, init={}, gas=100, ctx=CTX)
    assert result.error is not None and result.error["type"] == "OutOfGas"
    assert result.gas_used == 100 and state.data == {}


def test_args_must_be_json() -> None:
    state, address = deployed()
    result = call(
        state, sender=BOB, contract=address, method="increment", args={"by": 1.5}, gas=GAS, ctx=CTX
    )
    assert result.error is not None and result.error["type"] == "InvalidValue"


def test_contract_cannot_mutate_what_it_read() -> None:
    source = """
def init():
    storage["list"] = [1, 2]

def mutate():
    xs = storage["list"]
    xs.append(3)
    return storage["list"]
"""
    state = MemoryState()
    address = deploy(state, sender=ALICE, nonce=0, source=source, init={}, gas=GAS, ctx=CTX).address
    assert address
    assert do(state, address, "mutate").result == [1, 2]
    assert state.data[storage_key(address, "list")] == [1, 2]


def test_run_local_returns_storage() -> None:
    source = "def put(k, v):\n    storage[k] = v\n    return len(k)\n"
    result, after = run_local(source, "put", {"k": "a", "v": [1]}, gas=GAS, storage={"z": 1})
    assert result.ok and result.result == 1
    assert after == {"z": 1, "a": [1]}
    failed, unchanged = run_local(source, "put", {"k": 5, "v": 1}, gas=GAS, storage={"z": 1})
    assert not failed.ok and unchanged == {"z": 1}


REENTRANT = """
SEEN = []

def note(x):
    SEEN.append(x)
    return SEEN

def outer(other):
    SEEN.append("outer")
    inner = call(other, "bounce", back=ctx.contract)
    return {"inner": inner, "seen": SEEN, "sender": ctx.sender}

def inner():
    SEEN.append("inner")
    return {"seen": SEEN, "sender": ctx.sender}
"""

BOUNCE = """
def bounce(back):
    return call(back, "inner")
"""


def test_module_constants_are_fresh_on_every_call() -> None:
    """Namespaces are reused between calls: a mutated constant must not carry over."""
    state = MemoryState()
    made = deploy(state, sender=ALICE, nonce=0, source=REENTRANT, init={}, gas=GAS, ctx=CTX)
    assert made.ok and made.address
    first = do(state, made.address, "note", x=1)
    second = do(state, made.address, "note", x=2)
    assert (first.result, second.result) == ([1], [2])
    assert first.gas_used == second.gas_used


def test_reentrant_call_runs_in_its_own_instance() -> None:
    """A -> B -> A: the inner A sees its own sender and constants, the outer A keeps its own."""
    state = MemoryState()
    a = deploy(state, sender=ALICE, nonce=0, source=REENTRANT, init={}, gas=GAS, ctx=CTX)
    b = deploy(state, sender=ALICE, nonce=1, source=BOUNCE, init={}, gas=GAS, ctx=CTX)
    assert a.address and b.address
    result = do(state, a.address, "outer", other=b.address)
    assert result.ok, result.error
    assert result.result == {
        "inner": {"seen": ["inner"], "sender": b.address},
        "seen": ["outer"],
        "sender": BOB,
    }
    again = do(state, a.address, "outer", other=b.address)
    assert again.result == result.result and again.gas_used == result.gas_used
