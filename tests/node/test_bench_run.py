"""The bench's run after a node was lost: what was accepted and not committed goes again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chain.crypto import KeyPair
from chain.tx import Transaction, make_transfer
from node import bench
from node.bench import BenchReport, _Run

KEY = KeyPair.from_seed(b"r" * 32)


class Recorder:
    """A Sender that accepts everything and remembers the nonces it was sent."""

    def __init__(self) -> None:
        self.nonces: list[int] = []
        self.lost = 0

    async def batch(self, calls: list[Any]) -> list[Any]:
        self.nonces.extend(params["tx"]["nonce"] for _, params in calls)
        return [{"hash": "h"} for _ in calls]


def _txs(n: int) -> list[Transaction]:
    return [make_transfer(KEY, "c", nonce, "ee" * 32, 1) for nonce in range(n)]


async def _one_round(run: _Run, sender: Recorder) -> None:
    task = asyncio.create_task(run.resend_lost(sender))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "RESEND_S", 0.01)


async def test_after_a_failover_the_uncommitted_go_again_in_nonce_order() -> None:
    txs = _txs(6)
    run = _Run(BenchReport(txs=6, clients=1, nodes=4), txs, 0.0, ["u"])
    moved = Recorder()
    moved.lost = 1
    run.connections.append(moved)  # type: ignore[arg-type]  # a client that moved once
    for tx in reversed(txs):  # answered out of nonce order, as concurrent batches are
        run.submit_time[tx.hash] = 0.0
    run.commit_time[txs[1].hash] = 1.0
    run.commit_time[txs[4].hash] = 1.0
    sender = Recorder()
    await _one_round(run, sender)
    assert sender.nonces[:4] == [0, 2, 3, 5]
    assert run.report.resent >= 4
    assert run.submit_time[txs[0].hash] == 0.0  # latency still counts from the first acceptance


async def test_nothing_goes_again_while_no_client_lost_its_node() -> None:
    txs = _txs(3)
    run = _Run(BenchReport(txs=3, clients=1, nodes=4), txs, 0.0, ["u"])
    run.connections.append(Recorder())  # type: ignore[arg-type]
    for tx in txs:
        run.submit_time[tx.hash] = 0.0
    sender = Recorder()
    await _one_round(run, sender)
    assert sender.nonces == [] and run.report.resent == 0


async def test_the_snapshot_names_each_nodes_interpreter_and_tolerates_older_nodes() -> None:
    """An older node without node_status "software" still gives its counters; a dead one none."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    def status(software: dict[str, str] | None) -> dict[str, Any]:
        node = {"cpu_ms": 10, "exec_cpu_ms": 4, "commit_cpu_ms": 1, "started_ms": 7}
        result: dict[str, Any] = {"view": 0, "stats": {"node": node, "consensus": {}}}
        if software is not None:
            result["software"] = software
        return result

    def server(result: dict[str, Any]) -> TestServer:
        async def handle(request: web.Request) -> web.Response:
            call = await request.json()
            return web.json_response({"jsonrpc": "2.0", "id": call["id"], "result": result})

        app = web.Application()
        app.router.add_post("/", handle)
        return TestServer(app)

    python = "CPython 3.11.2 (main, Apr 28 2025, 14:11:48) [GCC 12.2.0]"
    async with (
        server(status({"aidchain": "0.1.0", "python": python})) as new,
        server(status(None)) as old,
    ):
        urls = [str(new.make_url("/")), str(old.make_url("/")), "http://127.0.0.1:9/"]
        snap = await bench._snapshot(urls)
    assert snap.python == [python, "not reported", ""]
    assert snap.silent == [2] and snap.cpu_ms == [10, 10, 0]
