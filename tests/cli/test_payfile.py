"""``aidchain aid batch-file``: a batch's owed payments opened with the bank's key, as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from aid.identity import account_commitment
from cli import payfile
from cli.main import main
from node.aidclient import Member, household_args, read_registry_key, readers_of
from node.cluster import init_cluster, load_cluster
from tests.cli.test_aid import GOOD_ID, SECOND_ID, VILLAGE, serve

ACCOUNTS = ("6228480012345678", "6228480087654321", "6228480011112222")


class BankNode:
    """Answers what batch-file reads: a batch, its entitlements (paged), households, policy."""

    def __init__(self, cluster: Path) -> None:
        genesis = json.loads((cluster / "genesis.json").read_text())
        self.orgs = genesis["aid"]["orgs"]
        key = read_registry_key(load_cluster(cluster).aid_paths()["registry_key"])
        readers = readers_of(self.orgs)
        self.households: dict[str, dict[str, Any]] = {}
        self.entitlements: list[dict[str, Any]] = []
        for n, (account, holder) in enumerate(
            zip(ACCOUNTS, ("张秀英", "李强", "王芳"), strict=True)
        ):
            member = Member(holder, GOOD_ID if n % 2 == 0 else SECOND_ID, "13812345678")
            built = household_args(
                key, readers, village=VILLAGE, members=[member], bank_account=account,
                cause="illness", income_per_head_yuan=3100,
            )  # fmt: skip
            self.households[f"hh{n}"] = {"kind": "household", "id": f"hh{n}", **built}
            attempt = {"batch": "b1", "account_commitment": account_commitment(key, account)}
            self.entitlements.append(
                {
                    "id": f"e{n}",
                    "household": f"hh{n}",
                    "amount": 10_000 * (n + 1),
                    "status": "batched",
                    "batch": "b1",
                    "attempts": [attempt],
                }
            )
        # one already reported, one re-issued into a later batch: neither is owed by b1
        self.entitlements.append({**self.entitlements[0], "id": "e9", "status": "paid"})
        self.entitlements.append({**self.entitlements[1], "id": "e8", "batch": "b2"})

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "aid_policy":
            return {"orgs": self.orgs}
        if method == "aid_get" and params["kind"] == "batch":
            return {"kind": "batch", "id": "b1", "bank": "bank"} if params["id"] == "b1" else None
        if method == "aid_get":
            return self.households.get(params["id"])
        assert method == "aid_list" and params["filters"] == {"batch": "b1"}
        start = int(params.get("cursor", 0))
        end = start + 2  # pages of two: the file follows the cursor
        more = end < len(self.entitlements)
        return {"items": self.entitlements[start:end], "next_cursor": str(end) if more else None}

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        result = self.answer(body["method"], body.get("params") or {})
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    init_cluster(tmp_path / "c", base_port=0, accounts=1)
    return tmp_path / "c"


@pytest.fixture
async def node_url(cluster: Path) -> Any:
    node = BankNode(cluster)
    async for url in serve(node):  # type: ignore[arg-type]  # the same handle() as FakeNode's
        yield node, url


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_the_owed_payments_open_with_the_banks_key(
    cluster: Path, node_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = node_url
    bank_key = str(cluster / "aid" / "bank.enc.key")
    argv = ["aid", "batch-file", "b1", "--enc-key", bank_key, "--cluster", str(cluster)]
    code, out, err = await _in_thread([*argv, "--rpc", url], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["entitlement"], r["account"], r["holder"], r["amount_fen"]) for r in rows] == [
        ("e0", ACCOUNTS[0], "张秀英", "10000"),
        ("e1", ACCOUNTS[1], "李强", "20000"),
        ("e2", ACCOUNTS[2], "王芳", "30000"),
    ]
    assert '"rows": 3' in err and '"accounts_checked": true' in err


async def test_an_account_changed_after_the_batch_is_not_written(
    cluster: Path, node_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    node, url = node_url
    node.entitlements[1]["attempts"][-1]["account_commitment"] = "ab" * 32
    bank_key = str(cluster / "aid" / "bank.enc.key")
    argv = ["aid", "batch-file", "b1", "--enc-key", bank_key, "--cluster", str(cluster)]
    code, out, err = await _in_thread([*argv, "--rpc", url], capsys)
    assert code == 1
    assert [r["entitlement"] for r in csv.DictReader(io.StringIO(out))] == ["e0", "e2"]
    assert "not written: e1: household hh1's account changed after the batch was made" in err
    assert ACCOUNTS[1] not in out + err


async def test_another_organisations_key_is_refused(
    cluster: Path, node_url: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = node_url
    office_key = str(cluster / "aid" / "office.enc.key")
    code, out, err = await _in_thread(
        ["aid", "batch-file", "b1", "--enc-key", office_key, "--rpc", url], capsys
    )
    assert code == 2 and out == ""
    assert "batch b1 is for bank bank" in err and "office's" in err
    code, _, err = await _in_thread(
        ["aid", "batch-file", "nope", "--enc-key", office_key, "--rpc", url], capsys
    )
    assert code == 1 and "no batch nope" in err


async def test_the_file_is_private_and_never_overwritten(
    cluster: Path, node_url: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = node_url
    bank_key = str(cluster / "aid" / "bank.enc.key")
    out_file = tmp_path / "pay.csv"
    argv = ["aid", "batch-file", "b1", "--enc-key", bank_key, "--out", str(out_file), "--rpc", url]
    code, out, _ = await _in_thread(argv, capsys)
    assert code == 0 and out == ""
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    assert ACCOUNTS[2] in out_file.read_text()
    code, _, err = await _in_thread(argv, capsys)
    assert code == 2 and "cannot create" in err


def test_an_empty_file_still_has_its_header() -> None:
    assert (
        payfile.PaymentFile("b1", "bank").csv_text()
        == "entitlement,household,amount_fen,account,holder\n"
    )


async def _in_thread(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main`` runs its own event loop (asyncio.run), so it runs off this test's loop."""
    return await asyncio.to_thread(run, argv, capsys)
