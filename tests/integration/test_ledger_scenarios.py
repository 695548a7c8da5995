"""The acceptance scenarios of ../shared/domain.md (1-8 and 12) on one real 4-node cluster.

Each scenario is what a clerk, a bank or an auditor checks first, run through signed
transactions on real node processes. Every refusal is checked as a clerk meets it: ``aid_check``
answers -32020 with the reason in ``data.reason``, the committed receipt names the same reason,
and what ``aid_get``/``aid_list`` show is unchanged (nothing half-written). The scenarios share
one cluster and one set-up (clerks, rules contract, allocation, a pool of registered
households); each takes its own households and programs, so they pass in any order.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nacl.exceptions import CryptoError

from aid.cycles import entitlement_id
from aid.identity import account_commitment, person_commitment, unseal
from chain.keyfile import save_key
from tests.integration.aid_genesis import COUNTY, OTHER_VILLAGE, add_aid_genesis
from tests.integration.harness import LocalCluster, aidchain
from tests.integration.ledger_helpers import (
    PERIOD,
    Person,
    World,
    build_world,
    expect_refused,
    funding,
    get,
    listing,
    new_id,
    on_every_node,
    same_head,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

POOL = 18  # registered households the scenarios draw from
ENTITLEMENT = 30_000  # the demo rules for a one-member household of income 3,200 yuan


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    cluster = LocalCluster(tmp_path_factory.mktemp("ledger-scenarios"))
    setup = add_aid_genesis(cluster)
    try:
        await cluster.start_all()
        yield await build_world(cluster, setup, POOL)
    finally:
        cluster.stop_all()
        if request.session.testsfailed:
            for i in range(cluster.n):
                print(f"--- node{i} log tail ---\n{cluster.log_tail(i)}")


async def county_statistics(world: World, county: str) -> dict[str, int]:
    """The county's figures from its statistics report (``aid_report`` funds, aid/reports.py)."""
    report = await world.cluster.call(1, "aid_report", kind="funds", area=county)
    return {
        "funds_received_fen": report["received"],
        "committed_fen": report["programs_committed"],
        "paid_fen": report["paid"],
    }


async def ledger_sums(world: World, county: str) -> dict[str, int]:
    """The same figures summed from the ledger's own records over ``aid_list``."""
    totals = {"funds_received_fen": 0, "committed_fen": 0, "paid_fen": 0}
    for kind, fields in (
        ("fund", (("funds_received_fen", "amount"),)),
        ("program", (("committed_fen", "committed"), ("paid_fen", "paid"))),
    ):
        cursor = None
        while True:
            params: dict[str, Any] = {"kind": kind, "filters": {"area": county}, "limit": 200}
            if cursor is not None:
                params["cursor"] = cursor
            page = await world.cluster.call(0, "aid_list", **params)
            for item in page["items"]:
                for name, field in fields:
                    totals[name] += item[field]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    return totals


# --- 1. end to end ---------------------------------------------------------------------------------
def cli_change(world: World, command: str, household: str, tmp: Path, *args: str) -> Any:
    """``aidchain aid household <command>`` by the CLI-only registrar with the office's key;
    the finished process."""
    key, enc_key, registry = tmp / "cli-registrar.key", tmp / "office.enc.key", tmp / "reg.key"
    save_key(key, world.clerks["cli-registrar"], overwrite=True)
    enc_key.write_text(world.setup.enc_keys["office"] + "\n")
    registry.write_text(world.setup.registry_key.hex() + "\n")
    return aidchain(
        "aid", "household", command, household, *args, "--enc-key", str(enc_key),
        "--registry-key", str(registry), "--key", str(key), "--wait",
        "--rpc", world.cluster.url(1),
    )  # fmt: skip


def change_account(world: World, household: str, account: str, tmp: Path) -> str:
    """``aidchain aid household change-account``; the change's id."""
    reason = "the bank reported the account closed; a new account was opened"
    out = cli_change(
        world, "change-account", household, tmp, "--bank-account", account, "--reason", reason
    )
    assert out.returncode == 0, out.stderr
    return str(json.loads(out.stdout)["id"])


def bank_file(world: World, batch: str) -> list[dict[str, str]]:
    """``aidchain aid batch-file`` as the bank runs it: its own key, the registry key checking
    each account against the batch; the CSV's rows."""
    with tempfile.TemporaryDirectory() as tmp:
        enc_key, registry = Path(tmp) / "bank.enc.key", Path(tmp) / "registry.key"
        enc_key.write_text(world.setup.enc_keys["bank"] + "\n")
        registry.write_text(world.setup.registry_key.hex() + "\n")
        out = aidchain(
            "aid", "batch-file", batch, "--enc-key", str(enc_key),
            "--registry-key", str(registry), "--rpc", world.cluster.url(3),
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


async def test_1_end_to_end_every_step_traced_and_the_county_totals_move(world: World) -> None:
    ledger, clerks, cluster = world.ledger, world.clerks, world.cluster
    before = await county_statistics(world, COUNTY)
    summed_before = await ledger_sums(world, COUNTY)
    # finance receives a document's funds and allocates them to the county
    money = funding(
        ledger, clerks["alloc"], "Qing-Cai-Nong (2026) No. 101 (fictional)", "provincial",
        400_000, 300_000,
    )  # fmt: skip
    fund_tx, fund, allocation = money.receive_fund, money.fund, money.allocation
    await ledger.run(*money.txs)
    # the office registers a household through its public notice
    (household,) = await world.register([Person.make(900)])
    # a program on that allocation, a cycle through its stages, the bank pays
    program = await world.program(200_000, allocation)
    cycle = await world.approved_cycle(program, [household])
    batch, (ent,) = await world.batch(cycle)
    await world.report(batch, [world.paid_row(ent, "QS-E2E-0001")])

    assert ent["id"] == entitlement_id(program, PERIOD, household)
    where = {h: (r["height"], r["index"]) for h, r in ledger.committed.items()}
    await same_head(cluster)
    for trace in await on_every_node(cluster, "aid_trace", kind="household", id=household):
        nodes = {f"{n['kind']}/{n['id']}": n for n in trace["nodes"]}
        steps = {
            f"fund/{fund}": ["fund.receive", "allocation.issue"],
            f"allocation/{allocation}": [
                "allocation.issue",
                "allocation.receive",
                "program.create",
            ],
            f"program/{program}": ["program.create", "program.status", "cycle.add"],
            f"cycle/{cycle}": ["cycle.create", "cycle.add", "cycle.submit", "cycle.approve"],
            f"household/{household}": ["household.apply", "household.review"],
            f"entitlement/{ent['id']}": ["cycle.add", "batch.create", "payment.report"],
            f"batch/{batch}": ["batch.create", "payment.report"],
        }
        for ref, actions in steps.items():
            assert ref in nodes, ref
            history = nodes[ref]["history"]
            assert all(where[s["tx"]] == (s["height"], s["tx_index"]) for s in history), ref
            assert set(actions) <= {s["action"] for s in history}, (ref, history)
        approvals = nodes[f"cycle/{cycle}"]["record"]["approvals"]
        assert [(a[1], a[3]) for a in approvals] == [
            (clerks["rev"].public_hex, "approve"),
            (clerks["finappr"].public_hex, "approve"),
        ]
        assert nodes[f"entitlement/{ent['id']}"]["record"]["status"] == "paid"
        assert nodes[f"fund/{fund}"]["history"][0]["tx"] == fund_tx.hash
    after = await county_statistics(world, COUNTY)
    summed_after = await ledger_sums(world, COUNTY)
    # the county's statistics move by exactly what this flow received, committed and paid,
    # and so do the ledger's own records summed
    for figures, start in ((after, before), (summed_after, summed_before)):
        assert figures["funds_received_fen"] - start["funds_received_fen"] == 400_000
        assert figures["committed_fen"] - start["committed_fen"] == ENTITLEMENT
        assert figures["paid_fen"] - start["paid_fen"] == ENTITLEMENT
    assert (await cluster.call(0, "aid_get", kind="batch", id=batch))["paid_total"] == ENTITLEMENT


# --- 2. over budget --------------------------------------------------------------------------------
async def test_2_over_budget_is_refused_and_nothing_is_half_written(world: World) -> None:
    ledger, clerks = world.ledger, world.clerks
    (first, _), (second, _), (third, _) = world.take(3)
    program = await world.program(ENTITLEMENT + ENTITLEMENT // 2)  # room for one entitlement
    cycle, txs = world.cycle_txs(program, [first], submit=False)
    await ledger.run(*txs)
    too_many = ledger.sign(
        clerks["handler"], "cycle.add", gas=2_000_000, cycle=cycle, households=[second, third]
    )
    reads = [
        get("program", program),
        get("cycle", cycle),
        get("entitlement", entitlement_id(program, PERIOD, second)),
        listing("entitlement", program=program, period=PERIOD),
        listing("entitlement", household=second),
    ]
    data = await expect_refused(ledger, too_many, "over_budget", reads, match="budget")
    assert data["budget"] == ENTITLEMENT + ENTITLEMENT // 2
    assert data["needed"] == 3 * ENTITLEMENT
    # a program cannot draw more than its allocation has left, nor an allocation its fund
    allocation = await world.cluster.call(0, "aid_get", kind="allocation", id=world.allocation)
    left = allocation["amount"] - allocation["drawn"]
    greedy = ledger.sign(
        clerks["handler"],
        "program.create",
        name="Greedy (fictional)",
        purpose="living",
        category="cash",
        area=COUNTY,
        start_period="2026-01",
        end_period="2026-12",
        per_household_cap=100_000,
        rules=world.rules,
        funding=[[world.allocation, left + 1]],
        targets=[],
    )
    reads = [get("allocation", world.allocation), listing("program", allocation=world.allocation)]
    data = await expect_refused(ledger, greedy, "over_budget", reads, match="left")
    assert data["left"] == left
    overdraw = ledger.sign(
        clerks["alloc"],
        "allocation.issue",
        source=allocation["fund"],
        area=COUNTY,
        amount=10**12,
    )
    reads = [get("fund", allocation["fund"]), listing("allocation", source=allocation["fund"])]
    await expect_refused(ledger, overdraw, "over_budget", reads, match="left")


# --- 3. duplicates and malformed input ---------------------------------------------------------------
async def test_3_duplicate_id_in_another_county_and_bad_input_are_refused_clearly(
    world: World,
) -> None:
    ledger, clerks, setup = world.ledger, world.clerks, world.setup
    ((household, person),) = world.take(1)
    # the same person, applied for in another county by that county's registrar
    again = world.apply_tx(person, OTHER_VILLAGE, "registrar2")
    reads = [listing("household", area="530103000000"), get("household", household)]
    data = await expect_refused(ledger, again, "duplicate", reads, match=household)
    assert data["check"] == "same_person_two_households" and data["household"] == household
    # an area code that is not a division code
    bad_area = world.apply_tx(Person.make(950), "530102001", "maker")
    await expect_refused(
        ledger, bad_area, "unknown_area", [listing("household")], match="12 digits"
    )
    # a well-formed village the genesis tree does not list, inside the registrar's county
    no_village = world.apply_tx(Person.make(951), "530103001999", "registrar2")
    await expect_refused(
        ledger, no_village, "unknown_area", [listing("household")], match="not in this chain"
    )
    # negative and 2**64 amounts
    for amount in (-5, 2**64):
        fund = ledger.sign(
            clerks["alloc"],
            "fund.receive",
            doc_no=f"Bad amount {amount} (fictional)",
            level="county",
            year=2026,
            purpose="living",
            amount=amount,
            area=COUNTY,
        )
        await expect_refused(ledger, fund, "bad_args", [listing("fund")], match="amount")
    # a mistyped ID number never leaves the clerk's machine: the CLI refuses it, unechoed
    bad_id = person.id_number[:17] + ("0" if person.id_number[17] != "0" else "1")
    registry = world.cluster.root / "registry.key"
    registry.write_text(setup.registry_key.hex())
    readers = [f"{org}={setup.enc_public[org]}" for org in ("office", "audit")]
    before = await world.cluster.call(0, "aid_list", kind="household", filters={}, limit=200)
    out = aidchain(
        "aid", "household", "apply", "--key", str(world.cluster.info.root / "accounts" / "acct8.key"),
        "--rpc", world.cluster.url(0), "--registry-key", str(registry), "--readers", *readers,
        "--village", "530102001001", "--member", f"Fictional Name,{bad_id},13900000000",
        "--bank-account", "6222020000099999999", "--cause", "illness", "--income", "3000",
    )  # fmt: skip
    assert out.returncode == 2 and "check digit" in out.stderr
    assert bad_id not in out.stderr + out.stdout
    after = await world.cluster.call(0, "aid_list", kind="household", filters={}, limit=200)
    assert after == before


# --- 4. double pay -----------------------------------------------------------------------------------
async def test_4_no_second_entitlement_and_a_replayed_bank_report_changes_nothing(
    world: World,
) -> None:
    ledger, clerks = world.ledger, world.clerks
    ((household, _),) = world.take(1)
    program = await world.program(10 * ENTITLEMENT)
    cycle = await world.approved_cycle(program, [household])
    batch, (ent,) = await world.batch(cycle)
    row = world.paid_row(ent, "QS-DBL-0001")
    await world.report(batch, [row])
    # the same household and period in a second cycle of the program
    create = ledger.sign(clerks["handler"], "cycle.create", program=program, period=PERIOD)
    await ledger.run(create)
    second = new_id(create, "cycle")
    again = ledger.sign(
        clerks["handler"], "cycle.add", gas=2_000_000, cycle=second, households=[household]
    )
    reads = [
        get("cycle", second),
        get("program", program),
        get("entitlement", ent["id"]),
        listing("entitlement", household=household),
    ]
    data = await expect_refused(ledger, again, "already_paid", reads, match=f"cycle {cycle}")
    assert data["entitlement"] == ent["id"]
    # the bank sends the same report again
    replay = ledger.sign(clerks["bank"], "payment.report", batch=batch, results=[row])
    reads = [get("batch", batch), get("entitlement", ent["id"]), get("program", program)]
    await expect_refused(ledger, replay, "already_paid", reads, match="replayed")
    paid = await world.cluster.call(0, "aid_get", kind="program", id=program)
    assert paid["paid"] == ENTITLEMENT


# --- 5. who may not approve --------------------------------------------------------------------------
async def test_5_self_approval_another_county_and_the_bank_are_refused(world: World) -> None:
    ledger, clerks = world.ledger, world.clerks
    ((household, _),) = world.take(1)
    program = await world.program(10 * ENTITLEMENT)
    cycle, txs = world.cycle_txs(program, [household])
    await ledger.run(*txs)
    reads = [get("cycle", cycle), listing("cycle", program=program)]
    for who, reason, match in (
        ("handler", "wrong_role", "maker"),  # holds the reviewer role, but prepared the cycle
        ("rev2", "wrong_area", "530103000000"),  # a reviewer of the other county
        ("bank", "wrong_role", "reviewer"),  # a bank operator holds no approval role
    ):
        tx = ledger.sign(clerks[who], "cycle.approve", cycle=cycle, decision="approve")
        await expect_refused(ledger, tx, reason, reads, match=match)
    record = await world.cluster.call(0, "aid_get", kind="cycle", id=cycle)
    assert (record["status"], record["approvals"]) == ("in_approval", [])


# --- 6. bank failure, correction, re-issue, reversal -------------------------------------------------
async def test_6_failed_payment_corrected_reissued_paid_once_then_returned(
    world: World, tmp_path: Path
) -> None:
    ledger, clerks, cluster = world.ledger, world.clerks, world.cluster
    ((household, person),) = world.take(1)
    program = await world.program(10 * ENTITLEMENT)
    cycle = await world.approved_cycle(program, [household])
    batch, (ent,) = await world.batch(cycle)
    failed = {"entitlement": ent["id"], "outcome": "failed", "amount": ent["amount"]}
    await world.report(batch, [{**failed, "code": "account_closed"}])
    record = await cluster.call(0, "aid_get", kind="entitlement", id=ent["id"])
    assert record["status"] == "failed" and record["attempts"][-1]["code"] == "account_closed"
    # no re-issue to the same closed account
    early = ledger.sign(clerks["handler"], "payment.reissue", entitlement=ent["id"])
    await expect_refused(
        ledger, early, "wrong_state", [get("entitlement", ent["id"])], match="change request"
    )
    # the account is corrected by a change request the county approves: the registrar's office
    # opens the household's data, replaces the account and seals it again (the CLI)
    account = "6222020000088880000"
    change = change_account(world, household, account, tmp_path)
    await ledger.act(
        clerks["approver"], "household.change_review", change=change, decision="approve"
    )
    # the follow-up pays once
    await ledger.act(clerks["handler"], "payment.reissue", entitlement=ent["id"])
    batch2, (ent2,) = await world.batch(cycle)
    assert ent2["id"] == ent["id"] and ent2["account_commitment"] != ent["account_commitment"]
    # the bank's payment file: nothing owed by the first batch, the new account in the second
    assert bank_file(world, batch) == []
    assert bank_file(world, batch2) == [
        {
            "entitlement": ent["id"],
            "household": household,
            "amount_fen": str(ent["amount"]),
            "account": account,
            "holder": person.name,
        }
    ]
    row = world.paid_row(ent2, "QS-RE-0001")
    await world.report(batch2, [row])
    program_paid = (await cluster.call(0, "aid_get", kind="program", id=program))["paid"]
    assert program_paid == ENTITLEMENT
    twice = ledger.sign(clerks["bank"], "payment.report", batch=batch2, results=[row])
    await expect_refused(
        ledger, twice, "already_paid", [get("entitlement", ent["id"]), get("program", program)]
    )
    reissue = ledger.sign(clerks["handler"], "payment.reissue", entitlement=ent["id"])
    await expect_refused(ledger, reissue, "wrong_state", [get("entitlement", ent["id"])])
    # a later reversal shows as returned, and the totals follow
    returned = {**world.paid_row(ent2, "QS-RE-0001"), "outcome": "returned", "code": "other"}
    del returned["bank_ref"]
    await world.report(batch2, [returned])
    record = await cluster.call(0, "aid_get", kind="entitlement", id=ent["id"])
    assert record["status"] == "returned"
    assert [a.get("outcome") for a in record["attempts"]] == ["failed", "returned"]
    assert (await cluster.call(0, "aid_get", kind="program", id=program))["paid"] == 0
    assert (await cluster.call(0, "aid_get", kind="batch", id=batch2))["paid_total"] == 0


# --- 7. batch and amount mismatches ------------------------------------------------------------------
async def test_7_a_batch_or_a_bank_amount_that_does_not_add_up_is_refused(world: World) -> None:
    ledger, clerks = world.ledger, world.clerks
    households = [h for h, _ in world.take(2)]
    program = await world.program(10 * ENTITLEMENT)
    cycle = await world.approved_cycle(program, households)
    reads = [
        get("cycle", cycle),
        listing("batch", cycle=cycle),
        listing("entitlement", program=program),
    ]
    for count, total in ((2, 2 * ENTITLEMENT + 1), (3, 3 * ENTITLEMENT), (1, ENTITLEMENT)):
        wrong = ledger.sign(
            clerks["alloc"], "batch.create", cycle=cycle, bank="bank", count=count, total=total
        )
        data = await expect_refused(ledger, wrong, "bank_mismatch", reads, match="declares")
        assert data["actual"] == [2, 2 * ENTITLEMENT]
    batch, ents = await world.batch(cycle)
    assert len(ents) == 2
    short = {**world.paid_row(ents[0], "QS-MM-0001"), "amount": ents[0]["amount"] - 100}
    tx = ledger.sign(clerks["bank"], "payment.report", batch=batch, results=[short])
    reads = [get("batch", batch), get("entitlement", ents[0]["id"]), get("program", program)]
    await expect_refused(ledger, tx, "bank_mismatch", reads, match="issued for")


# --- 8. frozen snapshot, moving county -----------------------------------------------------------------
async def test_8_an_edit_after_approval_leaves_the_cycle_and_a_move_needs_both_counties(
    world: World,
) -> None:
    ledger, clerks, setup, cluster = world.ledger, world.clerks, world.setup, world.cluster
    (edited, _), (mover, _), (late, _) = world.take(3)
    program = await world.program(10 * ENTITLEMENT)
    cycle = await world.approved_cycle(program, [edited])
    frozen = await cluster.call(0, "aid_get", kind="cycle", id=cycle)
    ent_id = entitlement_id(program, PERIOD, edited)
    ent_before = await cluster.call(0, "aid_get", kind="entitlement", id=ent_id)
    # the registry edits the household (a bigger family, a new account) after the approval
    change_tx = ledger.sign(
        clerks["registrar"],
        "household.change",
        household=edited,
        reason="a child was born; the household opened a new account",
        size=3,
        account_commitment=account_commitment(setup.registry_key, "6222020000077770000"),
    )
    await ledger.run(change_tx)
    await ledger.act(
        clerks["approver"],
        "household.change_review",
        change=new_id(change_tx, "change"),
        decision="approve",
    )
    household = await cluster.call(0, "aid_get", kind="household", id=edited)
    assert household["size"] == 3 and household["version"] > ent_before["household_version"]
    assert await cluster.call(0, "aid_get", kind="cycle", id=cycle) == frozen
    assert await cluster.call(0, "aid_get", kind="entitlement", id=ent_id) == ent_before
    # nobody joins an approved cycle
    join = ledger.sign(
        clerks["handler"], "cycle.add", gas=2_000_000, cycle=cycle, households=[late]
    )
    await expect_refused(ledger, join, "snapshot_frozen", [get("cycle", cycle)], match="frozen")
    # the bank is paid the frozen amount to the frozen account
    _, (ent,) = await world.batch(cycle)
    assert (ent["amount"], ent["account_commitment"]) == (
        ent_before["amount"],
        ent_before["account_commitment"],
    )
    # a household moving county needs an approver of each county, never one for both
    move_tx = ledger.sign(
        clerks["registrar"],
        "household.change",
        household=mover,
        reason="the family moved to Lushan County (fictional)",
        village=OTHER_VILLAGE,
    )
    await ledger.run(move_tx)
    move = new_id(move_tx, "change")
    await ledger.act(clerks["approver"], "household.change_review", change=move, decision="approve")
    pending = await cluster.call(0, "aid_get", kind="change", id=move)
    assert pending["status"] == "pending" and pending["counties"] == [
        "530102000000",
        "530103000000",
    ]
    assert (await cluster.call(0, "aid_get", kind="household", id=mover))[
        "village"
    ] != OTHER_VILLAGE
    again = ledger.sign(
        clerks["approver"], "household.change_review", change=move, decision="approve"
    )
    reads = [get("change", move), get("household", mover)]
    await expect_refused(ledger, again, "wrong_role", reads, match="530103000000")
    await ledger.act(
        clerks["approver2"], "household.change_review", change=move, decision="approve"
    )
    moved = await cluster.call(0, "aid_get", kind="household", id=mover)
    assert moved["village"] == OTHER_VILLAGE
    assert (await cluster.call(0, "aid_get", kind="change", id=move))["status"] == "approved"
    listed = await cluster.call(0, "aid_list", kind="household", filters={"area": "530103000000"})
    assert mover in [h["id"] for h in listed["items"]]


def member_args(*people: Person) -> list[str]:
    return [a for p in people for a in ("--member", f"{p.name},{p.id_number},{p.phone}")]


async def test_8_a_birth_through_the_cli_and_one_person_stays_in_one_household(
    world: World, tmp_path: Path
) -> None:
    (home, person), (other, neighbour) = world.take(2)
    newborn = Person.make(970)
    out = cli_change(
        world, "change-members", home, tmp_path, *member_args(person, newborn),
        "--reason", "a daughter was born",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    change = str(json.loads(out.stdout)["id"])
    # the approver sees what it approves, checked against the commitments
    shown = aidchain(
        "aid", "household", "change-show", change, "--enc-key", str(tmp_path / "office.enc.key"),
        "--registry-key", str(tmp_path / "reg.key"), "--rpc", world.cluster.url(2),
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    review = json.loads(shown.stdout)
    assert [m["name"] for m in review["personal"]["members_joining"]] == [newborn.name]
    assert review["fields"] == {"size": {"before": 1, "after": 2}} and review["problems"] == []
    await world.ledger.act(
        world.clerks["approver"], "household.change_review", change=change, decision="approve"
    )
    household = await world.cluster.call(0, "aid_get", kind="household", id=home)
    key = world.setup.registry_key
    assert household["members"] == sorted(
        person_commitment(key, p.id_number) for p in (person, newborn)
    )
    assert household["size"] == 2
    opened = unseal(world.setup.enc_keys["bank"], household["sealed"], "bank")
    assert [m["name"] for m in opened["members"]] == [person.name, newborn.name]
    assert opened["bank_account"] == person.bank_account  # kept
    # the newborn cannot also be listed in the neighbour's household
    out = cli_change(
        world, "change-members", other, tmp_path, *member_args(neighbour, newborn),
        "--reason", "a relative moved in",
    )  # fmt: skip
    assert out.returncode == 1
    assert (
        f"refused (duplicate): a member of this household is already in active household {home}"
        in out.stderr
    )
    assert newborn.id_number not in out.stderr + out.stdout
    assert (await world.cluster.call(0, "aid_get", kind="household", id=other))["size"] == 1


# --- 12. personal data ---------------------------------------------------------------------------------
async def test_12_no_plaintext_on_any_node_and_an_auditors_view_is_on_chain(world: World) -> None:
    ledger, clerks, setup, cluster = world.ledger, world.clerks, world.setup, world.cluster
    ((household, person),) = world.take(1)
    receipt = await ledger.act(
        clerks["auditor"], "household.view", household=household, purpose="2026 annual audit"
    )
    (event,) = receipt["events"]
    assert event["name"] == "personal_data_viewed"
    assert (event["by"], event["org"]) == (clerks["auditor"].public_hex, "audit")
    await same_head(cluster)
    for history in await on_every_node(cluster, "aid_history", kind="household", id=household):
        assert history["items"][-1]["action"] == "household.view"
    # the auditor's organisation opens its own copy of the data key; no node holds the plain text
    record = await cluster.call(0, "aid_get", kind="household", id=household)
    opened = unseal(setup.enc_keys["audit"], record["sealed"], "audit")
    assert opened["members"][0]["id_number"] == person.id_number
    assert record["members"] == [person_commitment(setup.registry_key, person.id_number)]
    secrets = [setup.registry_key.hex().encode()]
    for _, p in world.pool:
        secrets += [p.name.encode(), p.id_number.encode(), p.phone.encode()]
        secrets += [p.bank_account.encode(), json.dumps(p.name).encode()]
    for i in range(cluster.n):
        scanned = 0
        for path in (cluster.data_dir(i) / "chain.db").rglob("*"):
            data = _read_if_still_there(path)
            scanned += data is not None
            for secret in secrets:
                assert data is None or secret not in data, (path, secret)
        assert scanned > 0


def _read_if_still_there(path: Path) -> bytes | None:
    """A LevelDB file's bytes; a running node may compact it away while we look."""
    try:
        return path.read_bytes() if path.is_file() else None
    except FileNotFoundError:
        return None


# --- organisation key rotation and role grants, through the CLI ---------------------------------------
def _cli_apply(world: World, person: Person, key_file: Path, registry: Path) -> dict[str, Any]:
    out = aidchain(
        "aid", "household", "apply", "--key", str(key_file), "--rpc", world.cluster.url(0),
        "--registry-key", str(registry), "--village", "530102001001",
        "--member", f"{person.name},{person.id_number},{person.phone}",
        "--bank-account", person.bank_account, "--cause", "illness", "--income", "3000", "--wait",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _cli_show(world: World, household: str, enc_key: Path) -> dict[str, Any]:
    out = aidchain(
        "aid", "household", "show", household, "--enc-key", str(enc_key),
        "--rpc", world.cluster.url(1),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


async def test_a_rotated_key_seals_new_data_and_the_old_key_still_opens_old_data(
    world: World, tmp_path: Path
) -> None:
    ledger, setup, cluster = world.ledger, world.setup, world.cluster
    key_file = tmp_path / "cli-registrar.key"
    save_key(key_file, world.clerks["cli-registrar"])
    registry = tmp_path / "registry.key"
    registry.write_text(setup.registry_key.hex())
    old_key = tmp_path / "civil.enc.key"
    old_key.write_text(setup.enc_keys["civil"])
    before = _cli_apply(world, Person.make(960), key_file, registry)
    # civil affairs makes a new key pair and proposes it; two more organisations approve
    new_key = tmp_path / "civil.enc.key.new"
    made = aidchain("aid", "enc-keygen", "--out", str(new_key))
    assert made.returncode == 0, made.stderr
    new_public = json.loads(made.stdout)["enc_key"]
    receipt = await ledger.act(
        setup.admins["civil"], "org.rotate_key", org="civil", enc_key=new_public
    )
    proposal = receipt["events"][0]["proposal"]
    for org in ("fin", "audit"):
        await ledger.act(setup.admins[org], "role.approve", proposal=proposal, as_admin_of=org)
    await same_head(cluster)
    for policy in await on_every_node(cluster, "aid_policy"):
        (civil,) = [o for o in policy["orgs"] if o["id"] == "civil"]
        assert civil["enc_key"] == new_public
        assert [k["key"] for k in civil["enc_keys_retired"]] == [setup.enc_public["civil"]]
    # new data is sealed to the new key (the CLI reads it from aid_policy), old data keeps opening
    after = _cli_apply(world, Person.make(961), key_file, registry)
    sealed = (await cluster.call(0, "aid_get", kind="household", id=after["id"]))["sealed"]
    assert unseal(new_key.read_text().strip(), sealed, "civil")["bank_account"]
    with pytest.raises(CryptoError):
        unseal(setup.enc_keys["civil"], sealed, "civil")
    old = _cli_show(world, before["id"], old_key)
    assert (old["org"], old["personal"]["bank_account"]) == ("civil", Person.make(960).bank_account)
    new = _cli_show(world, after["id"], new_key)
    assert new["personal"]["members"][0]["id_number"] == Person.make(961).id_number


async def test_role_grants_are_read_through_the_cli(world: World) -> None:
    clerks, url = world.clerks, world.cluster.url(2)
    out = aidchain("aid", "roles", "--account", clerks["handler"].public_hex, "--rpc", url)
    assert out.returncode == 0, out.stderr
    assert sorted((r["role"], r["area"], r["org"]) for r in json.loads(out.stdout)["items"]) == [
        ("handler", COUNTY, "office"),
        ("reviewer", COUNTY, "office"),
    ]
    out = aidchain("aid", "roles", "--area", "530103000000", "--rpc", url)
    assert out.returncode == 0, out.stderr
    other = {(r["account"], r["role"]) for r in json.loads(out.stdout)["items"]}
    assert other == {
        (clerks["registrar2"].public_hex, "registrar"),
        (clerks["rev2"].public_hex, "reviewer"),
        (clerks["approver2"].public_hex, "approver"),
    }
    out = aidchain("aid", "roles", "--role", "bank_operator", "--area", COUNTY, "--rpc", url)
    rows = json.loads(out.stdout)["items"]
    banks = sorted((clerks[name].public_hex, "bank") for name in ("bank", "cli-bank"))
    assert sorted((r["account"], r["org"]) for r in rows) == banks


async def test_a_clerk_finds_area_codes_through_the_cli(world: World) -> None:
    """The tree the genesis lists, level by level, as an action's area argument needs it."""
    url = world.cluster.url(1)
    out = aidchain("aid", "areas", "--rpc", url)
    assert out.returncode == 0, out.stderr
    assert [a["code"] for a in json.loads(out.stdout)["items"]] == ["530000000000"]
    out = aidchain("aid", "areas", "530100000000", "--rpc", url)
    counties = json.loads(out.stdout)["items"]
    assert [(a["code"], a["level"]) for a in counties] == [
        (COUNTY, "county"),
        ("530103000000", "county"),
    ]
    assert counties[0]["name"] == "Qingshan County (fictional)"
    out = aidchain("aid", "areas", "530102009000", "--rpc", url)
    assert out.returncode == 1 and "not in this chain's area tree" in out.stderr


async def test_the_bank_reports_a_batch_from_its_csv_and_a_rerun_sends_nothing(
    world: World, tmp_path: Path
) -> None:
    """batch-file out, the core system's outcomes in: ``aidchain aid batch-report`` sends the
    CSV as payment reports; run again (a bank's job restarted), it finds them recorded."""
    taken = world.take(2)
    program = await world.program(10 * ENTITLEMENT)
    cycle = await world.approved_cycle(program, [h for h, _ in taken])
    batch, ents = await world.batch(cycle)
    owed = bank_file(world, batch)
    assert sorted(r["entitlement"] for r in owed) == sorted(e["id"] for e in ents)
    paid, failed = owed
    results = tmp_path / "results.csv"
    results.write_text(
        "entitlement,outcome,amount_fen,bank_ref,code\n"
        f"{paid['entitlement']},paid,{paid['amount_fen']},QS-CSV-1,\n"
        f"{failed['entitlement']},failed,{failed['amount_fen']},,name_mismatch\n"
    )
    key_file = tmp_path / "cli-bank.key"
    save_key(key_file, world.clerks["cli-bank"])
    argv = ("aid", "batch-report", batch, "--results", str(results), "--key", str(key_file))
    first = aidchain(*argv, "--rpc", world.cluster.url(2))
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["sent"] == 2
    again = aidchain(*argv, "--rpc", world.cluster.url(0))
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["sent"], summary["already_recorded"], summary["reports"]) == (0, 2, [])
    record = await world.cluster.call(1, "aid_get", kind="batch", id=batch)
    assert (record["status"], record["reported"]) == ("settled", 2)
    assert record["paid_total"] == int(paid["amount_fen"])
    assert bank_file(world, batch) == []  # nothing left owed


async def test_a_sensitive_report_is_sealed_and_opened_through_the_cli(
    world: World, tmp_path: Path
) -> None:
    """A report of fraud travels only sealed: ``aid seal`` makes the envelope for the auditor,
    ``grievance.file`` sends it, ``aid open`` reads it with the auditor's key and no other."""
    url, note = world.cluster.url(2), "a village official inflated two households' incomes"
    out = aidchain("aid", "seal", "--text", note, "--to", "audit", "--rpc", url)
    assert out.returncode == 0, out.stderr
    envelope = out.stdout.strip()
    key = tmp_path / "cli-registrar.key"
    save_key(key, world.clerks["cli-registrar"])
    filed = aidchain(
        "aid", "grievance.file", "--key", str(key), "--arg", "category=fraud",
        "--arg", f'area="{COUNTY}"', "--arg", f"content_sealed={envelope}", "--wait", "--rpc", url,
    )  # fmt: skip
    assert filed.returncode == 0, filed.stderr
    grievance = json.loads(filed.stdout)["id"]
    record = await world.cluster.call(0, "aid_get", kind="grievance", id=grievance)
    assert record["sensitive"] is True and note not in json.dumps(record, ensure_ascii=False)
    for org, expected in (("audit", 0), ("office", 1)):
        enc_key = tmp_path / f"{org}.enc.key"
        enc_key.write_text(world.setup.enc_keys[org] + "\n")
        opened = aidchain(
            "aid", "open", "grievance", grievance, "--enc-key", str(enc_key), "--rpc", url
        )
        assert opened.returncode == expected, opened.stderr
    assert json.loads(aidchain(
        "aid", "open", "grievance", grievance, "--enc-key", str(tmp_path / "audit.enc.key"),
        "--rpc", url,
    ).stdout)["content"] == note  # fmt: skip
