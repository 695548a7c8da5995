"""Read-only contract calls: off the event loop, capped, limited in number, errors as documented."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chain import limits
from chain.errors import Busy, ConfigError, ContractError, NotFound
from contracts.runtime import CallContext, MemoryState, deploy
from node.config import RpcConfig, parse_config
from node.rpcapi import NodeRpc, QueryRunner

DEPLOYER = "cd" * 32
SOURCE = """
def spin():
    while True:
        x = [1, 2, 3]


def answer():
    return 42


def fail():
    require(False, "no")
"""


class FakeStore:
    """The committed state a query reads: one deployed contract."""

    height = 7
    head_time = 1_000

    def __init__(self) -> None:
        self.state = MemoryState()
        ctx = CallContext(height=1, time=1, tx_hash="")
        result = deploy(
            self.state, sender=DEPLOYER, nonce=0, source=SOURCE, init={}, gas=10**6, ctx=ctx
        )
        assert result.ok and result.address is not None
        self.address = result.address

    def get_state(self, key: str) -> Any | None:
        return self.state.get(key)


def make_rpc(**rpc: int) -> tuple[NodeRpc, str]:
    store = FakeStore()
    node = SimpleNamespace(
        store=store, cfg=SimpleNamespace(name="t", rpc=RpcConfig(**rpc)), genesis=None
    )
    return NodeRpc(node), store.address  # type: ignore[arg-type]


async def test_a_successful_call_returns_its_receipt() -> None:
    api, address = make_rpc()
    try:
        got = await api.contract_call(address, "answer", {}, None, None)
    finally:
        api.close()
    assert got["ok"] is True and got["result"] == 42 and got["error"] is None


async def test_a_missing_contract_is_not_found() -> None:
    api, _ = make_rpc()
    try:
        with pytest.raises(NotFound) as err:
            await api.contract_call("ef" * 32, "answer", {}, None, None)
    finally:
        api.close()
    assert err.value.data == {"contract": "ef" * 32}


async def test_a_failed_call_is_a_contract_error() -> None:
    api, address = make_rpc()
    try:
        with pytest.raises(ContractError) as err:
            await api.contract_call(address, "fail", {}, 5_000, None)
    finally:
        api.close()
    assert err.value.message == "no"
    assert err.value.data["error_type"] == "RequireFailed" and err.value.data["gas_limit"] == 5_000


async def test_gas_is_capped_by_the_node_query_cap() -> None:
    api, address = make_rpc(query_gas_cap=20_000)
    try:
        with pytest.raises(ContractError) as err:
            await api.contract_call(address, "spin", {}, limits.MAX_CALL_GAS, None)
    finally:
        api.close()
    data = err.value.data
    assert data["error_type"] == "OutOfGas" and data["gas_limit"] == data["gas_used"] == 20_000
    assert "out of gas" in err.value.message


async def test_the_default_cap_applies_when_no_gas_is_given() -> None:
    api, address = make_rpc()
    try:
        with pytest.raises(ContractError) as err:
            await api.contract_call(address, "spin", {}, None, None)
    finally:
        api.close()
    assert err.value.data["gas_limit"] == min(
        limits.DEFAULT_CALL_GAS, limits.DEFAULT_RPC_QUERY_GAS_CAP
    )


async def test_queries_run_off_the_event_loop_thread() -> None:
    runner = QueryRunner(1, "t")
    try:
        name = await runner.run(lambda: threading.current_thread().name)
    finally:
        runner.close()
    assert name.startswith("t-query") and name != threading.current_thread().name


async def test_a_query_over_the_concurrency_limit_is_busy() -> None:
    runner = QueryRunner(2, "t")
    release = threading.Event()
    try:
        held = [asyncio.ensure_future(runner.run(release.wait)) for _ in range(2)]
        await asyncio.sleep(0)  # both have taken their slots
        with pytest.raises(Busy) as err:
            await runner.run(lambda: True)
        assert err.value.data == {"limit": 2}
        assert runner.stats == {"queries": 2, "queries_refused_busy": 1}
        release.set()
        assert await asyncio.gather(*held) == [True, True]
        assert await runner.run(lambda: "free again") == "free again"
    finally:
        release.set()
        runner.close()


async def test_a_slot_is_held_until_the_thread_ends_even_if_the_caller_gives_up() -> None:
    runner = QueryRunner(1, "t")
    release = threading.Event()
    try:
        held = asyncio.ensure_future(runner.run(release.wait))
        await asyncio.sleep(0)
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held
        with pytest.raises(Busy):  # the thread is still running: its slot is still taken
            await runner.run(lambda: True)
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            try:
                assert await runner.run(lambda: 1) == 1
                break
            except Busy:
                continue
        else:
            pytest.fail("the slot was never released")
    finally:
        release.set()
        runner.close()


def _config(tmp_path: Path, rpc: dict[str, Any]) -> Any:
    return parse_config({"node": {"genesis": "g.json"}, "rpc": rpc}, tmp_path / "config.toml")


def test_query_keys_have_defaults_and_are_tunable(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {})
    assert cfg.rpc.query_gas_cap == limits.DEFAULT_RPC_QUERY_GAS_CAP <= limits.MAX_CALL_GAS
    assert cfg.rpc.max_concurrent_queries == limits.DEFAULT_RPC_MAX_CONCURRENT_QUERIES
    cfg = _config(tmp_path, {"query_gas_cap": 50_000, "max_concurrent_queries": 4})
    assert (cfg.rpc.query_gas_cap, cfg.rpc.max_concurrent_queries) == (50_000, 4)


@pytest.mark.parametrize(
    ("rpc", "message"),
    [
        ({"query_gas_cap": 0}, "query_gas_cap"),
        ({"query_gas_cap": limits.MAX_CALL_GAS + 1}, "query_gas_cap"),
        ({"max_concurrent_queries": 0}, "max_concurrent_queries"),
        ({"max_concurrent_queries": 9, "max_inflight": 8}, "max_concurrent_queries"),
    ],
)
def test_query_keys_out_of_range_are_refused(
    tmp_path: Path, rpc: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, rpc)
