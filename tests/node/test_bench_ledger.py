"""The ledger workload of ``aidchain bench``: its plan, its signed streams, and a short real run.

The real run checks that the workload commits, every action accepted by the ledger; it asserts
no timing (figures are the benchmark's output, not a test's).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from aid.identity import normalise_id_number
from chain.crypto import KeyPair
from node.benchledger import (
    ENT_PER_ADD,
    PERIODS,
    SIGNERS,
    STREAMS,
    BenchSetupError,
    LedgerBench,
    LedgerPlan,
    Prepared,
    _Signer,
    fictional_member,
    measured_txs,
    period,
    run_ledger_bench,
)
from tests.integration.harness import LocalCluster

NOTICE_S = 2


@pytest.mark.parametrize("txs", [1, 4, 40, 400, 4_000, 40_000])
def test_the_plan_prepares_enough_in_distinct_periods(txs: int) -> None:
    plan = LedgerPlan.for_txs(txs)
    assert plan.per_stream == max(1, txs // 4)
    assert ENT_PER_ADD <= plan.pool <= max(ENT_PER_ADD, plan.per_stream)
    assert plan.bank_cycles * plan.pool >= plan.per_stream  # payments to report
    chunks_per_cycle = -(-plan.pool // ENT_PER_ADD)
    assert plan.entitlement_cycles * chunks_per_cycle >= plan.per_stream  # cycle.adds
    assert plan.periods_needed <= PERIODS


def test_too_many_for_the_program_window_is_refused_up_front() -> None:
    with pytest.raises(BenchSetupError, match="periods"):
        LedgerPlan.for_txs(10_000_000)


async def test_unknown_actions_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    for actions in (("household.apply", "fund.receive"), ()):
        with pytest.raises(BenchSetupError, match="ledger actions must be some of"):
            await run_ledger_bench(tmp_path, txs=4, clients=1, timeout_s=1, actions=actions)


def test_periods_are_months_in_order() -> None:
    assert [period(i) for i in (0, 11, 12, PERIODS - 1)] == [
        "2000-01",
        "2000-12",
        "2001-01",
        "2099-12",
    ]


def test_fictional_people_have_valid_distinct_id_numbers() -> None:
    people = [fictional_member(n) for n in range(0, 3_000_000, 7_919)]
    for member, account in people:
        assert normalise_id_number(member.id_number) == member.id_number
        assert account.isdigit() and 8 <= len(account) <= 34
    assert len({m.id_number for m, _ in people}) == len(people)


def test_the_streams_are_signed_per_signer_in_nonce_order() -> None:
    plan = LedgerPlan.for_txs(40)
    bench = LedgerBench(info=None, url="", plan=plan, client=None)  # type: ignore[arg-type]
    bench.chain_id = "bench-test"
    bench.registry_key = os.urandom(32)
    bench.readers = {"office": "ab" * 32}
    bench.villages = ["530102001001"]
    for s in range(SIGNERS):
        for role in ("registrar", "handler", "reviewer", "bank"):
            bench.signers[f"{role}-{s}"] = _Signer(KeyPair.generate(), nonce=3)
    pool = [f"h{i:02d}" for i in range(plan.pool)]
    prepared = Prepared(
        pool,
        drafts=[(f"handler-{c % SIGNERS}", f"c{c}") for c in range(plan.entitlement_cycles)],
        submitted=[f"s{i}" for i in range(plan.approval_cycles)],
        payments=[("b0", f"e{i}") for i in range(plan.pool * plan.bank_cycles)],
    )
    streams = measured_txs(bench, prepared)
    actions = Counter(t.payload["action"] for s in streams for t in s)
    assert actions == {a: plan.per_stream for a in STREAMS}
    for txs in streams:
        assert len({t.sender for t in txs}) == 1
        assert [t.nonce for t in txs] == list(range(3, 3 + len(txs)))
    adds = [t.payload for s in streams for t in s if t.payload["action"] == "cycle.add"]
    assert all(len(p["args"]["households"]) <= ENT_PER_ADD and p["gas"] > 0 for p in adds)
    reports = [
        t.payload["args"] for s in streams for t in s if t.payload["action"] == "payment.report"
    ]
    assert len({r["results"][0]["entitlement"] for r in reports}) == plan.per_stream


@pytest.mark.integration
async def test_the_ledger_workload_commits_on_a_real_cluster(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path)
    genesis_path = cluster.info.root / "genesis.json"
    genesis: dict[str, Any] = json.loads(genesis_path.read_text())
    genesis["aid"]["policy"]["notice_period_s"] = NOTICE_S
    genesis_path.write_text(json.dumps(genesis))
    try:
        await cluster.start_all()
        report = await run_ledger_bench(cluster.info.root, txs=80, clients=4, timeout_s=120)
        assert report.ok, report.render()
        assert (report.txs, report.committed, report.refused) == (80, 80, Counter())
        assert "80 ledger txs" in report.render() and "20 payment.report" in report.render()
        # the nodes' view changes during the run are read and printed (a figure, not a bound)
        assert report.views_entered >= 0 and "view changes completed" in report.render()
        # and what the nodes and this client spent, against the machine's cores
        assert report.client_cpu_s >= 0 and "CPU budget" in report.render()
        # on chain: the pool and the 20 measured registrations, 20 payments reported paid
        page = await cluster.call(0, "aid_list", kind="household", filters={}, limit=200)
        assert len(page["items"]) == LedgerPlan.for_txs(80).pool + 20
        batches = await cluster.call(0, "aid_list", kind="batch", filters={})
        assert sum(b["paid_total"] for b in batches["items"]) == 20 * 30_000
    finally:
        cluster.stop_all()
