"""Every method rpc.discover lists, called on a real cluster, answers per its published schema.

The document is fetched from a running node (not built in-process) and validated against the
OpenRPC meta-schema; then each method is called with parameter values that are valid per its
published parameter schemas, over HTTP (over the WebSocket for a method that answers
``ws_only``), and each result is validated against its result schema. The chain is first given
something to read: a contract, a transfer, a role granted by governance and a fund document, so
the reads answer real records rather than nulls. A method added to the table needs a value for
each of its required parameters in ``values`` below, else this test names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rpc.client import Client, RpcError, Signer
from tests.integration.aid_genesis import AREAS, COUNTY, VILLAGE, add_aid_genesis
from tests.integration.harness import LocalCluster
from tests.rpc.openrpc_meta import meta_validator, schema_validator

pytestmark = pytest.mark.integration

SOURCE = """
def init(limit):
    storage["limit"] = limit


def limit():
    return storage["limit"]
"""


async def grant(client: Client, admins: dict[str, Any], account: str, role: str) -> None:
    """A role for ``account`` over the county, by governance (fin proposes, two approve)."""
    fin = client.account(Signer(admins["fin"]))
    args = {
        "account": account,
        "role": role,
        "area": COUNTY,
        "org": "fin",
        "change": "grant",
        "as_admin_of": "fin",
    }
    proposal = (await fin.aid("role.propose", args)).new_id("proposal")
    for org in ("office", "audit"):
        approve = await client.account(Signer(admins[org])).aid(
            "role.approve", {"proposal": proposal, "as_admin_of": org}
        )
        await approve.wait(timeout=60)


async def populate(cluster: LocalCluster, client: Client, admins: dict[str, Any]) -> dict[str, Any]:
    """Records for the reads to find; the values each parameter name is called with."""
    deployer = client.account(Signer(cluster.accounts[7]))
    deploy = await deployer.send("deploy", {"source": SOURCE, "init": {"limit": 5}, "gas": 10**6})
    contract = (await deploy.wait(timeout=60)).receipt["address"]
    transfer = await deployer.transfer(cluster.accounts[1].public_hex, 1)
    await transfer.wait(timeout=60)
    allocator = client.account(Signer.generate())
    await grant(client, admins, allocator.address, "allocator")
    fund_args = {
        "doc_no": "Qing-Cai (2026) No. 1 (fictional)",
        "level": "county",
        "year": 2026,
        "purpose": "living",
        "amount": 500_000,
        "area": COUNTY,
    }
    fund_tx = await allocator.aid("fund.receive", fund_args)
    await fund_tx.wait(timeout=60)
    fresh = await deployer.sign("transfer", {"to": cluster.accounts[2].public_hex, "amount": 2})
    issue = await allocator.sign(
        "aid",
        {
            "action": "allocation.issue",
            "args": {"source": fund_tx.new_id("fund"), "area": COUNTY, "amount": 1_000},
        },
    )
    return {
        "hash": transfer.hash,
        "height": 1,
        "address": deployer.address,
        "contract": contract,
        "method": "limit",
        "args": {},
        "gas": 100_000,
        "sender": deployer.address,
        "kind": "fund",
        "id": fund_tx.new_id("fund"),
        "filters": {"area": COUNTY},
        "limit": 10,
        "topic": "blocks",
        "area": COUNTY,  # public_* reads (oversight-public)
        "village": VILLAGE,
        "period": "2026-11",
        "year": 2026,
        ("contract_get", "address"): contract,
        ("aid_report", "kind"): "funds",
        ("tx_send", "tx"): fresh.to_dict(),
        ("aid_check", "tx"): issue.to_dict(),
    }


def values_for(
    method: dict[str, Any], pool: dict[Any, Any], answers: dict[str, Any]
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for cd in method["params"]:
        key: Any = (method["name"], cd["name"])
        if key in pool:
            params[cd["name"]] = pool[key]
        elif cd["name"] in pool:
            params[cd["name"]] = pool[cd["name"]]
        elif cd["name"] == "subscription" and "subscribe" in answers:
            params[cd["name"]] = answers["subscribe"]
        elif cd.get("required"):
            raise AssertionError(f"no test value for {method['name']}.{cd['name']}: add one")
        if cd["name"] in params:
            schema_validator(cd["schema"]).validate(params[cd["name"]])
    return params


MUST_FIND: dict[str, Callable[[Any], bool]] = {
    "tx_get": lambda r: r["status"] == "committed" and r["receipt"]["ok"],
    "block_get": lambda r: r["height"] == 1 and len(r["commit"]) >= 3,
    "contract_call": lambda r: r["result"] == 5,
    "contract_get": lambda r: r is not None,
    "account_get": lambda r: r["balance"] > 0 and r["nonce"] >= 2,
    "aid_get": lambda r: r["kind"] == "fund" and r["amount"] == 500_000,
    "aid_list": lambda r: len(r["items"]) == 1,
    "aid_history": lambda r: [s["action"] for s in r["items"]] == ["fund.receive"],
    "aid_trace": lambda r: not r["truncated"] and r["nodes"],
    "aid_check": lambda r: r["ok"] is True,
    "aid_policy": lambda r: r["area_count"] == len(AREAS),
    "aid_report": lambda r: r["kind"] == "funds" and r["area"] == COUNTY,
}


async def test_every_listed_method_answers_per_its_schema(new_cluster: Any) -> None:
    cluster: LocalCluster = new_cluster()
    setup = add_aid_genesis(cluster)
    await cluster.start_all()
    async with Client(cluster.url(0)) as client, Client(cluster.url(1), websocket=True) as ws:
        pool = await populate(cluster, client, setup.admins)
        doc = await client.discover()
        assert await ws.discover() == doc  # the same document on another node, over /ws
        meta_validator().validate(doc)
        answers: dict[str, Any] = {}
        for method in doc["methods"]:
            name = method["name"]
            params = values_for(method, pool, answers)
            try:
                result = await client.call(name, **params)
            except RpcError as exc:
                if exc.reason != "ws_only":
                    raise AssertionError(f"{name}({params}) refused: {exc} {exc.data}") from exc
                result = await ws.call(name, **params)
            schema_validator(method["result"]["schema"]).validate(result)
            answers[name] = result
            if name in MUST_FIND:
                assert MUST_FIND[name](result), (name, result)
    assert set(answers) == {m["name"] for m in doc["methods"]}
    assert set(MUST_FIND) <= set(answers)
