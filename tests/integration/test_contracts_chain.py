"""Contracts on a real cluster: deploy, call, revert, query, identical receipts everywhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from chain.crypto import KeyPair
from chain.tx import make_transfer, sign_tx
from tests.integration.harness import LocalCluster, aidchain, wait_committed

pytestmark = pytest.mark.integration

SOURCE = """
def init(limit):
    storage["limit"] = limit
    storage["total"] = 0


def pay(to, amount):
    require(amount <= storage["limit"], "over the per-payment limit")
    storage["total"] += amount
    transfer(to, amount)
    emit("paid", to=to, amount=amount)
    return storage["total"]


def boom(to, amount):
    storage["total"] += amount
    transfer(to, amount)
    return amount // 0


def total():
    return storage["total"]
"""


async def _send(cluster: LocalCluster, node: int, tx: Any) -> dict[str, Any]:
    await cluster.call(node, "tx_send", tx=tx.to_dict())
    info = (await wait_committed(cluster, node, [tx.hash]))[tx.hash]
    return dict(info["receipt"])


async def _call(
    cluster: LocalCluster,
    node: int,
    key: KeyPair,
    nonce: int,
    contract: str,
    method: str,
    args: dict[str, Any],
    *,
    gas: int,
) -> dict[str, Any]:
    payload = {"contract": contract, "method": method, "args": args, "gas": gas}
    return await _send(cluster, node, sign_tx(key, cluster.chain_id, nonce, "call", payload))


async def _balance(cluster: LocalCluster, node: int, addr: str) -> int:
    return int((await cluster.call(node, "account_get", address=addr))["balance"])


async def test_deploy_call_revert_query(cluster: LocalCluster) -> None:
    owner: KeyPair = cluster.accounts[0]
    payee = cluster.accounts[5].public_hex
    cid = cluster.chain_id

    deploy = sign_tx(
        owner, cid, 0, "deploy", {"source": SOURCE, "init": {"limit": 500}, "gas": 200_000}
    )
    receipt = await _send(cluster, 0, deploy)
    assert receipt["ok"], receipt
    address = receipt["address"]
    assert len(address) == 64
    info = await cluster.call(1, "contract_get", address=address)
    assert info["source"] == SOURCE and info["deployer"] == owner.public_hex

    assert (await _send(cluster, 1, make_transfer(owner, cid, 1, address, 1000)))["ok"]
    payee_before = await _balance(cluster, 2, payee)

    ok = await _call(
        cluster, 2, owner, 2, address, "pay", {"to": payee, "amount": 100}, gas=100_000
    )
    assert ok["ok"] and ok["result"] == 100 and ok["gas_used"] > 0
    assert ok["events"][0]["name"] == "paid"

    # a failing call reverts its storage write and its transfer, but is committed with a receipt
    bad = await _call(
        cluster, 3, owner, 3, address, "boom", {"to": payee, "amount": 50}, gas=100_000
    )
    assert bad["ok"] is False and bad["error_type"] == "ZeroDivisionError" and bad["gas_used"] > 0
    over = await _call(
        cluster, 0, owner, 4, address, "pay", {"to": payee, "amount": 600}, gas=100_000
    )
    assert over["ok"] is False and over["error_type"] == "RequireFailed"
    assert "limit" in over["error"]
    starved = await _call(cluster, 1, owner, 5, address, "pay", {"to": payee, "amount": 1}, gas=5)
    assert starved["ok"] is False and starved["error_type"] == "OutOfGas"

    for i in range(cluster.n):
        assert await _balance(cluster, i, address) == 900
        assert await _balance(cluster, i, payee) == payee_before + 100
        q = await cluster.call(i, "contract_call", contract=address, method="total", args={})
        assert q["ok"] and q["result"] == 100
        assert (await cluster.call(i, "account_get", address=owner.public_hex))["nonce"] == 6
    # every node holds byte-identical receipts
    hashes = [deploy.hash]
    for i in range(cluster.n):
        got = await wait_committed(cluster, i, hashes)
        assert got[deploy.hash]["receipt"] == receipt
    # a query never writes
    q = await cluster.call(
        0, "contract_call", contract=address, method="pay", args={"to": payee, "amount": 1}
    )
    assert q["ok"] is True
    assert await _balance(cluster, 0, address) == 900


def test_cli_deploy_call_query(cluster: LocalCluster, tmp_path: Path) -> None:
    src = tmp_path / "c.py"
    src.write_text(SOURCE)
    key = str(cluster.info.root / cluster.manifest["accounts"][7])
    rpc = cluster.url(2)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return aidchain("contract", *args)

    assert run("check", str(src)).returncode == 0
    out = run("deploy", str(src), "--init", '{"limit": 10}', "--key", key, "--rpc", rpc, "--wait")
    assert out.returncode == 0, out.stderr
    deployed = json.loads(out.stdout)
    address = deployed["receipt"]["address"]
    out = run("query", address, "total", "--rpc", rpc)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == 0
    out = run(
        "call",
        address,
        "boom",
        "--args",
        json.dumps({"to": address, "amount": 1}),
        "--key",
        key,
        "--rpc",
        rpc,
        "--wait",
    )
    assert out.returncode == 1  # committed, but the call failed and was reverted
