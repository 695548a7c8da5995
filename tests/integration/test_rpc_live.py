"""Bad input against a real node: clear errors, nothing lost, the node keeps working."""

from __future__ import annotations

import copy
import json

import aiohttp
import pytest

from chain.crypto import KeyPair
from chain.tx import make_transfer
from rpc.client import RpcError
from tests.integration.harness import LocalCluster, wait_committed

pytestmark = pytest.mark.integration


async def _post(url: str, body: bytes) -> tuple[int, object]:
    async with (
        aiohttp.ClientSession() as s,
        s.post(url, data=body, headers={"Content-Type": "application/json"}) as r,
    ):
        text = await r.text()
        return r.status, (json.loads(text) if text else None)


async def _reason(cluster: LocalCluster, tx: dict) -> str | None:
    try:
        await cluster.call(0, "tx_send", tx=tx)
    except RpcError as exc:
        return exc.reason
    return None


async def test_bad_transactions_get_reasons_and_good_ones_still_commit(
    cluster: LocalCluster,
) -> None:
    key = cluster.accounts[0]
    to = cluster.accounts[1].public_hex
    good = make_transfer(key, cluster.chain_id, 0, to, 5)

    tampered = copy.deepcopy(good.to_dict())
    tampered["payload"]["amount"] = 6
    assert await _reason(cluster, tampered) == "bad_signature"
    assert (
        await _reason(cluster, make_transfer(key, "other-chain", 0, to, 5).to_dict())
        == "wrong_chain"
    )
    floaty = copy.deepcopy(good.to_dict())
    floaty["payload"]["amount"] = 5.0
    assert await _reason(cluster, floaty) in ("malformed_tx", "malformed_json")
    assert await _reason(cluster, {"nonsense": True}) == "malformed_tx"

    h = (await cluster.call(0, "tx_send", tx=good.to_dict()))["hash"]
    assert h == good.hash
    assert (await cluster.call(1, "tx_send", tx=good.to_dict()))["hash"] == h  # safe retry anywhere
    await wait_committed(cluster, 0, [h])
    assert (await cluster.call(0, "tx_send", tx=good.to_dict()))["hash"] == h  # retry after commit
    assert (
        await _reason(cluster, make_transfer(key, cluster.chain_id, 0, to, 7).to_dict())
        == "bad_nonce"
    )

    poor = KeyPair.generate()  # a key the chain does not know may not submit at all
    fail = make_transfer(poor, cluster.chain_id, 0, to, 2)
    assert await _reason(cluster, fail.to_dict()) == "unknown_account"
    fund = make_transfer(key, cluster.chain_id, 1, poor.public_hex, 1)
    await cluster.call(0, "tx_send", tx=fund.to_dict())
    await wait_committed(cluster, 2, [fund.hash])  # node 2 must know it before it admits
    # known now, but short of funds: committed with a failed receipt, only its nonce moves
    await cluster.call(2, "tx_send", tx=fail.to_dict())
    info = (await wait_committed(cluster, 3, [fail.hash]))[fail.hash]
    assert info["receipt"]["ok"] is False and "insufficient" in info["receipt"]["error"]
    acct = await cluster.call(3, "account_get", address=poor.public_hex)
    assert acct == {"address": poor.public_hex, "balance": 1, "nonce": 1, "next_nonce": 1}


async def test_protocol_errors_over_http(cluster: LocalCluster) -> None:
    url = cluster.url(0)
    status, body = await _post(url, b"{not json")
    assert body["error"]["code"] == -32700 and body["id"] is None  # type: ignore[index]
    status, body = await _post(url, b"[]")
    assert body["error"]["code"] == -32600  # type: ignore[index]
    status, body = await _post(url, b'{"jsonrpc":"2.0","method":"nope","id":1}')
    assert body["error"]["code"] == -32601  # type: ignore[index]
    status, body = await _post(
        url, b'{"jsonrpc":"2.0","method":"block_get","params":{"height":-1},"id":1}'
    )
    assert body["error"]["code"] == -32602  # type: ignore[index]
    status, body = await _post(url, b'{"jsonrpc":"2.0","method":"node_status"}')
    assert body is None  # notification: no response
    big = (
        b'{"jsonrpc":"2.0","method":"node_status","id":1,"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    )
    status, body = await _post(url, big)
    assert status == 413 and body["error"]["data"]["reason"] == "too_large"  # type: ignore[index]
    status, body = await _post(
        url, b'[{"jsonrpc":"2.0","method":"node_status","id":1},{"jsonrpc":"2.0","method":"x"},5]'
    )
    assert isinstance(body, list) and len(body) == 2
    assert body[0]["result"]["chain_id"] == cluster.chain_id
    assert body[1]["error"]["code"] == -32600
    # still healthy: connected to every peer and answering
    await cluster.wait_connected([0], timeout=10)
    assert (await cluster.status(0))["chain_id"] == cluster.chain_id
