"""The examples in docs/client.md run, in order, against a real cluster with the ledger.

The cluster's genesis has the ledger (tests/integration/aid_genesis.py); the fixture, itself
written with the SDK, grants the clerks' roles by governance, registers two households through
their public notice, funds a program on the demo rules contract and submits one payment cycle
for approval. From there the documented examples take over: the stages approve it, the finance
bureau sends it to the bank, the bank's loop reports the payments, and the reads trace them.

Blocks fenced ``python subscriptions`` / ``python proofs`` need server methods that other parts
of issue 12 add (``subscribe``, ``tx_proof``); their tests skip while the node answers
"method not found" for them, and run as soon as it serves them.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from aid.identity import gb11643_check_digit
from chain.crypto import KeyPair
from chain.keyfile import save_key
from contracts import runtime
from node.aidclient import Member, household_args, readers_of
from rpc.client import Account, Client, MethodNotFoundError, Sent, Signer
from tests.integration.aid_genesis import COUNTY, TOWNSHIP, VILLAGE, AidSetup, add_aid_genesis
from tests.integration.harness import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
FENCE = re.compile(r"^```python( [a-z]+)?\n(.*?)^```$", re.MULTILINE | re.DOTALL)
KINDS = ("", "subscriptions", "proofs")
RULES_SOURCE = (Path(runtime.__file__).parent / "system" / "rules_living_subsidy.py").read_text()
RULES_INIT = {
    "line_yuan": 4000,
    "base_fen": 30_000,
    "per_member_fen": 10_000,
    "dibao_fen": 5_000,
    "large_cycle_fen": 10**9,
}
RULES_GAS = 2_000_000
NOTICE_S = 2  # tests/integration/aid_genesis.TEST_POLICY
ROLES = (  # clerk, role, area, organisation
    ("maker", "village_registrar", VILLAGE, "village"),
    ("vrev", "village_registrar", TOWNSHIP, "village"),
    ("trev", "reviewer", TOWNSHIP, "office"),
    ("approver", "approver", COUNTY, "office"),
    ("alloc", "allocator", COUNTY, "fin"),
    ("finappr", "approver", COUNTY, "fin"),
    ("handler", "handler", COUNTY, "office"),
    ("rev", "reviewer", COUNTY, "office"),
    ("bank", "bank_operator", COUNTY, "bank"),
)
KEY_NAMES = {
    "REGISTRAR_KEY": "maker",
    "APPROVER_KEY": "approver",
    "BANK_KEY": "bank",
    "REVIEWER_KEY": "rev",
    "FIN_APPROVER_KEY": "finappr",
    "ALLOCATOR_KEY": "alloc",
    "HANDLER_KEY": "handler",
}


def blocks(kind: str) -> list[str]:
    fences = [
        ((m.group(1) or "").strip(), m.group(2))
        for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))
    ]
    unknown = {k for k, _ in fences} - set(KINDS)
    assert not unknown, f"unknown python fence kinds in docs/client.md: {unknown}"
    return [code for k, code in fences if k == kind]


async def run_block(code: str, names: dict[str, Any]) -> None:
    namespace = dict(names)
    exec(compile(code, str(DOC), "exec"), namespace)
    await namespace["main"]()


async def all_ok(*sent: Sent) -> None:
    for s in sent:
        await s.wait(timeout=60)


async def grant_roles(client: Client, setup: AidSetup, clerks: dict[str, Signer]) -> None:
    fin = client.account(Signer(setup.admins["fin"]))
    proposals = []
    for name, role, area, org in ROLES:
        args = {
            "account": clerks[name].address,
            "role": role,
            "area": area,
            "org": org,
            "change": "grant",
            "as_admin_of": "fin",
        }
        proposals.append(await fin.aid("role.propose", args))
    await all_ok(*proposals)
    for org in ("office", "audit"):
        admin = client.account(Signer(setup.admins[org]))
        await all_ok(
            *[
                await admin.aid(
                    "role.approve", {"proposal": p.new_id("proposal"), "as_admin_of": org}
                )
                for p in proposals
            ]
        )


async def register_households(
    client: Client, setup: AidSetup, acct: dict[str, Account]
) -> list[str]:
    readers = readers_of((await client.aid_policy())["orgs"])
    applied = []
    for i in range(2):
        stem = f"53010219800101{i + 1}23"
        member = Member(f"Fictional Person {i}", stem + gb11643_check_digit(stem), "13800000000")
        args = household_args(
            setup.registry_key,
            readers,
            village=VILLAGE,
            members=[member],
            bank_account=f"62220200000123456{i}",
            cause="illness",
            income_per_head_yuan=3200,
        )
        applied.append(await acct["maker"].household_apply(args))
    await all_ok(*applied)
    ids = [s.new_id("household") for s in applied]
    await all_ok(*[await acct["vrev"].household_review(h, "village") for h in ids])
    await asyncio.sleep(NOTICE_S + 1)
    await all_ok(*[await acct["trev"].household_review(h, "township") for h in ids])
    await all_ok(*[await acct["approver"].household_review(h, "county") for h in ids])
    return ids


async def prepare(cluster: LocalCluster, setup: AidSetup) -> dict[str, Any]:
    """Everything up to a cycle in approval; the names the documented examples use."""
    clerks = {name: Signer.generate() for name, *_ in ROLES}
    async with Client(cluster.url(0)) as client:
        acct = {name: client.account(s) for name, s in clerks.items()}
        await grant_roles(client, setup, clerks)
        deployer = client.account(Signer(cluster.accounts[7]))
        deploy = await deployer.send(
            "deploy", {"source": RULES_SOURCE, "init": RULES_INIT, "gas": 5_000_000}
        )
        rules = (await deploy.wait(timeout=60)).receipt["address"]
        households = await register_households(client, setup, acct)
        fund = await acct["alloc"].aid(
            "fund.receive",
            {
                "doc_no": "Qing-Cai-Nong (2026) No. 7 (fictional)",
                "level": "central",
                "year": 2026,
                "purpose": "living",
                "amount": 1_000_000,
                "area": COUNTY,
            },
        )
        issue = await acct["alloc"].aid(
            "allocation.issue", {"source": fund.new_id("fund"), "area": COUNTY, "amount": 200_000}
        )
        allocation = issue.new_id("allocation")
        receive = await acct["alloc"].aid("allocation.receive", {"allocation": allocation})
        await all_ok(fund, issue, receive)
        program = await acct["handler"].aid(
            "program.create",
            {
                "name": "Living subsidy (fictional)",
                "purpose": "living",
                "category": "cash",
                "area": COUNTY,
                "start_period": "2026-01",
                "end_period": "2026-12",
                "per_household_cap": 100_000,
                "rules": rules,
                "funding": [[allocation, 200_000]],
                "targets": [{"metric": "households_paid", "target": 2}],
            },
        )
        await program.wait()
        activate = await acct["finappr"].aid(
            "program.status", {"program": program.new_id("program"), "move": "activate"}
        )
        await activate.wait()
        create = await acct["handler"].cycle_create(program.new_id("program"), "2026-11")
        cycle = create.new_id("cycle")
        add = await acct["handler"].cycle_add(cycle, households, gas=RULES_GAS)
        submit = await acct["handler"].cycle_submit(cycle, gas=RULES_GAS)
        await all_ok(create, add, submit)
    keydir = cluster.root / "docs-keys"
    names: dict[str, Any] = {
        "RPC_URL": cluster.url(0),
        "BANK": "bank",
        "CYCLE": cycle,
        "GENESIS_FILE": str(cluster.info.root / "genesis.json"),
    }
    for name, clerk in KEY_NAMES.items():
        save_key(keydir / f"{clerk}.key", clerks[clerk].key)
        names[name] = str(keydir / f"{clerk}.key")
    names["HOUSEHOLD"] = households[0]
    names["REGISTRY_KEY_FILE"] = str(keydir / "registry.key")
    names["OFFICE_ENC_KEY_FILE"] = str(keydir / "office.enc.key")
    (keydir / "registry.key").write_text(setup.registry_key.hex() + "\n")
    (keydir / "office.enc.key").write_text(setup.enc_keys["office"] + "\n")
    funded: KeyPair = cluster.accounts[8]
    save_key(keydir / "funded.key", funded)
    names["FUNDED_KEY"] = str(keydir / "funded.key")
    return names


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def prepared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    cluster = LocalCluster(tmp_path_factory.mktemp("client-docs"))
    setup = add_aid_genesis(cluster)
    try:
        await cluster.start_all()
        names = await prepare(cluster, setup)
        yield {**names, "_cluster": cluster}
    except BaseException:
        for i in range(cluster.n):
            print(f"--- node{i} log tail ---\n{cluster.log_tail(i)}")
        raise
    finally:
        cluster.stop_all()


async def test_the_examples_run_and_the_bank_reports_every_payment(
    prepared: dict[str, Any],
) -> None:
    plain = blocks("")
    assert len(plain) >= 6
    for code in plain:
        await run_block(code, prepared)
    async with Client(prepared["RPC_URL"]) as client:
        batches = [b async for b in client.aid_list("batch", {"cycle": prepared["CYCLE"]})]
        assert [b["status"] for b in batches] == ["settled"]
        assert batches[0]["reported"] == batches[0]["count"] == 2
        paid = [
            e
            async for e in client.aid_list(
                "entitlement", {"status": "paid", "program": batches[0]["program"]}
            )
        ]
        assert len(paid) == 2 and batches[0]["paid_total"] == sum(e["amount"] for e in paid)


async def _run_or_skip(kind: str, prepared: dict[str, Any], method: str) -> None:
    found = blocks(kind)
    assert found, f"docs/client.md has no python {kind} example"
    for code in found:
        try:
            await run_block(code, prepared)
        except MethodNotFoundError:
            pytest.skip(f"the node does not serve {method} yet (issue 12); example not run")


async def test_the_subscription_examples_run(prepared: dict[str, Any]) -> None:
    await _run_or_skip("subscriptions", prepared, "subscribe")


async def test_a_subscription_resumes_across_a_node_restart(prepared: dict[str, Any]) -> None:
    """The node under a subscription restarts: the client resumes with no gap, no duplicate."""
    cluster: LocalCluster = prepared["_cluster"]
    async with Client(cluster.url(1)) as client, Client(cluster.url(0)) as sender:
        head = (await client.status())["height"]
        start = max(head - 3, 1)
        try:
            sub = await client.blocks(from_height=start).start()
        except MethodNotFoundError:
            pytest.skip("the node does not serve subscribe yet (issue 12)")
        payer = sender.account(Signer(cluster.accounts[9]))
        heights: list[int] = []
        async with asyncio.timeout(90):
            async for block in sub:
                heights.append(block["height"])
                if len(heights) == 1:
                    cluster.kill(1, signal.SIGTERM)
                    await cluster.restart(1)
                    await (await payer.transfer(Signer.generate().address, 1)).wait()
                    await (await payer.transfer(Signer.generate().address, 1)).wait()
                if block["height"] >= head + 2:
                    break
        await sub.unsubscribe()
    assert heights == list(range(start, heights[-1] + 1))
    assert sub.resumed >= 1


async def test_the_proof_examples_run(prepared: dict[str, Any]) -> None:
    pytest.importorskip("chain.proof")
    await _run_or_skip("proofs", prepared, "tx_proof")
