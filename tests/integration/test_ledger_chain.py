"""The disbursement ledger end to end on a real 4-node cluster, through the transaction path.

Roles are granted by governance (three organisations), a household is registered through its
public notice, a program funded from a fund document runs on the demo rules contract (deployed
by an ordinary deploy tx), and one cycle goes through its approval stages, a bank batch and a
paid report. Then every node must agree on every receipt and the state root, answer the trace
from the entitlement up to the fund document, list by area, refuse a self-approval both as a
receipt and through ``aid_check``, and hold none of the household's personal data in plain text.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aid.cycles import entitlement_id
from aid.identity import account_commitment, gb11643_check_digit, person_commitment, seal, unseal
from chain.crypto import KeyPair
from rpc.client import RpcClient, RpcError
from tests.integration.aid_genesis import (
    AREAS,
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    add_aid_genesis,
)
from tests.integration.harness import LocalCluster
from tests.integration.ledger_helpers import (
    PERIOD,
    RULES_GAS,
    RULES_INIT,
    RULES_SOURCE,
    Ledger,
    approvals,
    funding,
    new_id,
    on_every_node,
    propose,
    same_head,
)

pytestmark = pytest.mark.integration

NAME = "Qiao Mingyuan-Fictional"
ID_NUMBER = "53010219800101123" + gb11643_check_digit("53010219800101123")
BANK_ACCOUNT = "6222020000012345678"
NOTICE_S = 6  # long enough that a review right after the village's falls inside the notice


async def test_a_cycle_from_fund_document_to_bank_report_on_every_node(new_cluster: Any) -> None:
    cluster: LocalCluster = new_cluster()
    setup = add_aid_genesis(cluster, {"notice_period_s": NOTICE_S})
    await cluster.start_all()
    await refusals_are_one_code_with_the_ledgers_reason(cluster)
    ledger = Ledger(cluster)
    roles = {
        name: KeyPair.generate()
        for name in (
            "maker",
            "vrev",
            "trev",
            "approver",
            "alloc",
            "finappr",
            "handler",
            "rev",
            "bank",
        )
    }
    wanted = [
        ("maker", "village_registrar", VILLAGE, "village"),
        ("vrev", "village_registrar", TOWNSHIP, "village"),
        ("trev", "reviewer", TOWNSHIP, "office"),
        ("approver", "approver", COUNTY, "office"),
        ("alloc", "allocator", COUNTY, "fin"),
        ("finappr", "approver", COUNTY, "fin"),
        ("handler", "handler", COUNTY, "office"),
        ("handler", "reviewer", COUNTY, "office"),  # so its own cycle's approval is a real test
        ("rev", "reviewer", COUNTY, "office"),
        ("bank", "bank_operator", COUNTY, "bank"),
    ]
    # 1. roles, by governance: fin proposes, office and audit approve (three organisations)
    proposes = [propose(ledger, setup, roles[n], r, a, o) for n, r, a, o in wanted]
    await ledger.run(*proposes)
    proposals = [new_id(t, "proposal") for t in proposes]
    await ledger.run(*approvals(ledger, setup, proposals, "office"))
    await ledger.run(*approvals(ledger, setup, proposals, "audit"))
    granted = await cluster.call(
        0, "aid_list", kind="proposal", filters={"status": "applied"}, limit=50
    )
    assert {p["account"] for p in granted["items"]} == {roles[n].public_hex for n, *_ in wanted}

    # 2. the rules contract, by an ordinary deploy tx from a funded account
    deployer = cluster.accounts[7]
    deploy = ledger.signed(
        deployer, "deploy", {"source": RULES_SOURCE, "init": RULES_INIT, "gas": 5_000_000}
    )
    (receipt,) = await ledger.run(deploy)
    rules = receipt["address"]

    # 3. a household through village review, its public notice, township and county
    sealed = seal({"office": setup.enc_public["office"]}, {"name": NAME, "id": ID_NUMBER})
    apply = ledger.sign(
        roles["maker"],
        "household.apply",
        village=VILLAGE,
        members=[person_commitment(setup.registry_key, ID_NUMBER)],
        size=1,
        cause="illness",
        income_per_head_yuan=3200,
        sealed=sealed,
        account_commitment=account_commitment(setup.registry_key, BANK_ACCOUNT),
    )
    household = new_id(apply, "household")
    await ledger.run(apply)
    await ledger.run(
        ledger.sign(roles["vrev"], "household.review", household=household, stage="village")
    )
    early = ledger.sign(roles["trev"], "household.review", household=household, stage="township")
    (refused,) = await ledger.run(early, ok=False)
    assert refused["error_type"] == "notice_not_over"
    await asyncio.sleep(NOTICE_S + 1)
    await ledger.run(
        ledger.sign(roles["trev"], "household.review", household=household, stage="township")
    )
    await ledger.run(
        ledger.sign(roles["approver"], "household.review", household=household, stage="county")
    )

    # 4. a fund document, allocated and received, drawn by a program on the rules contract
    money = funding(
        ledger, roles["alloc"], "Qing-Cai-Nong (2026) No. 12 (fictional)", "central",
        1_000_000, 200_000,
    )  # fmt: skip
    fund_tx, fund, allocation = money.receive_fund, money.fund, money.allocation
    await ledger.run(*money.txs)
    create = ledger.sign(
        roles["handler"],
        "program.create",
        name="Living subsidy (fictional)",
        purpose="living",
        category="cash",
        area=COUNTY,
        start_period="2026-01",
        end_period="2026-12",
        per_household_cap=100_000,
        rules=rules,
        funding=[[allocation, 200_000]],
        targets=[{"metric": "households_paid", "target": 1}],
    )
    program = new_id(create, "program")
    await ledger.run(create)
    await ledger.run(
        ledger.sign(roles["finappr"], "program.status", program=program, move="activate")
    )

    # 5. a cycle: entitlements by the rules (out of the declared gas), submitted for approval
    cycle_tx = ledger.sign(roles["handler"], "cycle.create", program=program, period=PERIOD)
    cycle = new_id(cycle_tx, "cycle")
    no_gas = ledger.sign(roles["handler"], "cycle.add", cycle=cycle, households=[household])
    add = ledger.sign(
        roles["handler"], "cycle.add", gas=RULES_GAS, cycle=cycle, households=[household]
    )
    submit = ledger.sign(roles["handler"], "cycle.submit", gas=RULES_GAS, cycle=cycle)
    receipts = await ledger.run(cycle_tx, no_gas, add, submit, ok=False)
    assert [r["ok"] for r in receipts] == [True, False, True, True]
    assert receipts[1]["error_type"] == "rule_failed" and "gas" in receipts[1]["error"]
    assert receipts[1]["error_data"]["rule"] == "assess"  # the demo rules answer in one hook
    assert receipts[2]["gas_used"] > 0 and receipts[3]["gas_used"] > 0

    # 6. the maker approving its own cycle: aid_check says wrong_role, the receipt too
    self_approval = ledger.sign(roles["handler"], "cycle.approve", cycle=cycle, decision="approve")
    for i in range(cluster.n):
        with pytest.raises(RpcError) as info:
            await cluster.call(i, "aid_check", tx=self_approval.to_dict())
        assert info.value.code == -32020 and info.value.data["reason"] == "wrong_role"
    (refused,) = await ledger.run(self_approval, ok=False)
    assert (refused["ok"], refused["error_type"]) == (False, "wrong_role")
    assert refused["touched"] == [] and refused["events"] == []

    # 7. the stages the rules named, the bank batch and the paid report
    first = ledger.sign(roles["rev"], "cycle.approve", cycle=cycle, decision="approve")
    check = await cluster.call(1, "aid_check", tx=first.to_dict())
    assert check["ok"] is True and f"cycle/{cycle}" in check["touched"]
    await ledger.run(first)
    await ledger.run(
        ledger.sign(roles["finappr"], "cycle.approve", cycle=cycle, decision="approve")
    )
    entitlement = entitlement_id(program, PERIOD, household)
    amount = 30_000
    batch_tx = ledger.sign(
        roles["alloc"], "batch.create", cycle=cycle, bank="bank", count=1, total=amount
    )
    batch = new_id(batch_tx, "batch")
    await ledger.run(batch_tx)
    row = {"entitlement": entitlement, "outcome": "paid", "amount": amount, "bank_ref": "QS-0001"}
    await ledger.run(ledger.sign(roles["bank"], "payment.report", batch=batch, results=[row]))

    # every node: the same receipts, the same state root
    statuses = await same_head(cluster)
    assert statuses[0]["height"] >= max(r["height"] for r in ledger.committed.values())
    for tx_hash, mine in ledger.committed.items():
        for i in range(1, cluster.n):
            theirs = await cluster.call(i, "tx_get", hash=tx_hash)
            assert (theirs["height"], theirs["index"], theirs["receipt"]) == (
                mine["height"],
                mine["index"],
                mine["receipt"],
            )
    where = {h: (r["height"], r["index"]) for h, r in ledger.committed.items()}

    # the trace from the entitlement reaches the fund document, every step with tx and height
    for trace in await on_every_node(cluster, "aid_trace", kind="entitlement", id=entitlement):
        nodes = {f"{n['kind']}/{n['id']}": n for n in trace["nodes"]}
        for ref in (
            f"entitlement/{entitlement}",
            f"cycle/{cycle}",
            f"household/{household}",
            f"batch/{batch}",
            f"program/{program}",
            f"allocation/{allocation}",
            f"fund/{fund}",
        ):
            assert ref in nodes, ref
            steps = nodes[ref]["history"]
            assert steps, ref
            assert all(where[s["tx"]] == (s["height"], s["tx_index"]) for s in steps), ref
        assert nodes[f"fund/{fund}"]["history"][0]["tx"] == fund_tx.hash
        assert nodes[f"entitlement/{entitlement}"]["record"]["status"] == "paid"
        assert not trace["truncated"]

    # lists by area, on every node
    for page in await on_every_node(
        cluster, "aid_list", kind="household", filters={"area": COUNTY}
    ):
        assert [h["id"] for h in page["items"]] == [household]
        assert page["items"][0]["status"] == "registered"
    for page in await on_every_node(
        cluster, "aid_list", kind="household", filters={"status": "registered", "area": TOWNSHIP}
    ):
        assert [h["id"] for h in page["items"]] == [household]
    history = await cluster.call(2, "aid_history", kind="household", id=household)
    assert [s["action"] for s in history["items"]][:4] == [
        "household.apply",
        "household.review",
        "household.review",
        "household.review",
    ]
    policy = await cluster.call(3, "aid_policy")
    assert policy["policy"]["notice_period_s"] == NOTICE_S and policy["area_count"] == len(AREAS)
    assert {o["id"] for o in policy["orgs"]} == set(setup.admins)
    got = await cluster.call(0, "aid_get", kind="household", id=household)
    assert unseal(setup.enc_keys["office"], got["sealed"], "office") == {
        "name": NAME,
        "id": ID_NUMBER,
    }

    # nothing personal in plain text in any node's LevelDB files
    cluster.stop_all()
    for i in range(cluster.n):
        files = [p for p in (cluster.data_dir(i) / "chain.db").rglob("*") if p.is_file()]
        assert files
        for path in files:
            data = path.read_bytes()
            for secret in (NAME, ID_NUMBER, BANK_ACCOUNT, setup.registry_key.hex()):
                assert secret.encode() not in data, (path, secret)


async def refusals_are_one_code_with_the_ledgers_reason(cluster: LocalCluster) -> None:
    async with RpcClient(cluster.url(0), timeout=10) as client:
        with pytest.raises(RpcError) as info:
            await client.call("aid_get", kind="no_such_kind", id="x")
        assert info.value.code == -32020 and info.value.data["reason"] == "bad_args"
        with pytest.raises(RpcError) as info:
            await client.call("aid_list", kind="household", filters={"program": "p"})
        assert info.value.code == -32020 and "filtered by" in info.value.message
        with pytest.raises(RpcError) as info:
            await client.call("aid_trace", kind="fund", id="0" * 20)
        assert info.value.code == -32020
        assert await client.call("aid_get", kind="fund", id="0" * 20) is None
        empty = await client.call("aid_list", kind="fund", filters={})
        assert empty == {"items": [], "next_cursor": None}
