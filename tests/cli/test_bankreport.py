"""``aidchain aid batch-report``: the bank's outcome CSV, checked whole, sent in reports."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from aid.payments import MAX_REPORTS
from chain.crypto import KeyPair
from chain.keyfile import save_key
from cli import bankreport
from cli.common import CliError, UsageError
from node.cluster import init_cluster
from tests.cli.test_aid import FakeNode, serve

HEADER = "entitlement,outcome,amount_fen,bank_ref,code\n"


class BatchNode(FakeNode):
    """FakeNode that also holds one batch and the entitlements it carries."""

    def __init__(self, cluster: Path, entitlements: list[dict[str, Any]]) -> None:
        super().__init__(refuse=False, cluster=cluster)
        self.entitlements = entitlements

    def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        method, params = req["method"], req.get("params") or {}
        if method == "aid_get" and params["kind"] == "batch":
            self.calls.append(method)
            found = {"id": "b1", "bank": "bank"} if params["id"] == "b1" else None
            return {"jsonrpc": "2.0", "id": req["id"], "result": found}
        if method == "aid_list":
            self.calls.append(method)
            assert params["filters"] == {"batch": "b1"}
            page = {"items": self.entitlements, "next_cursor": None}
            return {"jsonrpc": "2.0", "id": req["id"], "result": page}
        return super().answer(req)


def ent(n: int, status: str = "batched", batch: str = "b1", **attempt: str) -> dict[str, Any]:
    return {"id": f"e{n}", "status": status, "batch": batch, "amount": 100, "attempts": [attempt]}


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    init_cluster(tmp_path / "c", base_port=0, accounts=1)
    return tmp_path / "c"


def args_for(url: str, tmp_path: Path, csv_text: str) -> argparse.Namespace:
    key = tmp_path / "bank.key"
    if not key.exists():
        save_key(key, KeyPair.generate())
    results = tmp_path / "results.csv"
    results.write_text(csv_text)
    return argparse.Namespace(batch="b1", results=str(results), key=str(key), rpc=url)


def test_the_file_is_checked_whole_with_line_numbers() -> None:
    good = bankreport.read_outcomes(
        HEADER + "e1,paid,100,QS1,\ne2,failed,100,,account_closed\n", "f"
    )
    assert [r.report_row() for r in good] == [
        {"entitlement": "e1", "outcome": "paid", "amount": 100, "bank_ref": "QS1"},
        {"entitlement": "e2", "outcome": "failed", "amount": 100, "code": "account_closed"},
    ]
    for body, why in (
        ("e1,paid,100,,\n", "line 2: bank_ref is empty"),
        ("e1,paid,100,QS1,\ne1,paid,100,QS2,\n", "line 3: entitlement e1 twice"),
        ("e1,lost,100,QS1,\n", "line 2: outcome must be paid, failed, returned"),
        ("e1,paid,1.5,QS1,\n", "line 2: amount_fen must be a whole number"),
        ("e1,failed,100,QS1,\n", "line 2: code is empty"),
    ):
        with pytest.raises(UsageError, match=why):
            bankreport.read_outcomes(HEADER + body, "f")
    with pytest.raises(UsageError, match="the header needs"):
        bankreport.read_outcomes("id,result\ne1,paid\n", "f")


async def test_rows_the_chain_records_are_skipped_and_the_rest_sent(
    cluster: Path, tmp_path: Path
) -> None:
    node = BatchNode(cluster, [ent(1), ent(2, "paid", bank_ref="QS2"), ent(3)])
    body = "e1,paid,100,QS1,\ne2,paid,100,QS2,\ne3,failed,100,,name_mismatch\n"
    async for url in serve(node):
        out = await bankreport.report(args_for(url, tmp_path, HEADER + body), [])
        assert out["sent"] == 0 and out["reports"] == []  # an empty file sends nothing
        rows = bankreport.read_outcomes(HEADER + body, "f")
        out = await bankreport.report(args_for(url, tmp_path, HEADER + body), rows)
    assert (out["rows"], out["sent"], out["already_recorded"]) == (3, 2, 1)
    (sent,) = node.sent
    assert [r["entitlement"] for r in sent["payload"]["args"]["results"]] == ["e1", "e3"]


async def test_a_large_file_goes_in_reports_of_the_ledgers_size(
    cluster: Path, tmp_path: Path
) -> None:
    count = MAX_REPORTS + 3
    node = BatchNode(cluster, [ent(n) for n in range(count)])
    body = "".join(f"e{n},paid,100,QS{n},\n" for n in range(count))
    async for url in serve(node):
        rows = bankreport.read_outcomes(HEADER + body, "f")
        out = await bankreport.report(args_for(url, tmp_path, HEADER + body), rows)
    assert [len(tx["payload"]["args"]["results"]) for tx in node.sent] == [MAX_REPORTS, 3]
    assert len(out["reports"]) == 2


async def test_an_entitlement_the_batch_does_not_carry_refuses_the_file(
    cluster: Path, tmp_path: Path
) -> None:
    node = BatchNode(cluster, [ent(1), ent(2, "batched", batch="b2")])
    body = "e1,paid,100,QS1,\ne2,paid,100,QS2,\n"
    async for url in serve(node):
        rows = bankreport.read_outcomes(HEADER + body, "f")
        with pytest.raises(CliError, match=r"does not carry 1 of the file's entitlements.*e2"):
            await bankreport.report(args_for(url, tmp_path, HEADER + body), rows)
        rows = bankreport.read_outcomes(HEADER + "e1,paid,100,QS1,\n", "f")
        args = args_for(url, tmp_path, HEADER)
        args.batch = "b9"
        with pytest.raises(CliError, match="no batch b9"):
            await bankreport.report(args, rows)
    assert node.sent == []
