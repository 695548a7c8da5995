"""Scenario 10 on real nodes: a published disclosure served alike by every node over HTTP GET
(JSON and CSV, ETag, 304) with no personal data in any public answer; the audit export's counts
equal the chain's and the file is proven by its on-chain record; a bank statement with injected
mismatches is reconciled; an auditor's sample is recomputed alike from two nodes.

One demo county is loaded once for the module (a cluster per test would cost minutes of CPU).
"""

from __future__ import annotations

import asyncio
import collections
import csv
import hashlib
import importlib.util
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aid.disclosure import MASKED_NAME
from tests.integration.harness import (
    LocalCluster,
    aidchain,
    sign_batch,
    submit_all,
    wait_committed,
)
from tests.integration.test_demo import HOUSEHOLDS, plaintexts, shorten_notice

pytestmark = pytest.mark.integration

COUNTY = "530102000000"  # aid/demo_county.py's county


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path_factory.mktemp("public"))
    try:
        shorten_notice(cluster)
        asyncio.run(cluster.start_all())
        result = aidchain(
            "demo", "load", "--dir", str(cluster.info.root), "--households", str(HOUSEHOLDS),
            timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        yield cluster
    finally:
        cluster.stop_all()


def keyfile(cluster: LocalCluster, name: str) -> str:
    return str(cluster.info.root / "aid" / "demo" / f"{name}.key")


def run(*args: str) -> dict[str, Any]:
    result = aidchain(*args, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    return dict(json.loads(result.stdout))


async def list_all(cluster: LocalCluster, kind: str, filters: dict[str, str]) -> list[Any]:
    items, cursor = [], None
    while True:
        params: dict[str, Any] = {"kind": kind, "filters": filters, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = await cluster.call(0, "aid_list", **params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


async def first_cash_cycle(cluster: LocalCluster) -> dict[str, Any]:
    cycles = await list_all(cluster, "cycle", {"period": "2026-01"})
    return next(c for c in cycles if c["category"] == "cash")


async def publish_one(cluster: LocalCluster) -> tuple[str, int]:
    """Draft (names masked client side) and publish the busiest village's list; (village, rows)."""
    cycle = await first_cash_cycle(cluster)
    ents = await list_all(
        cluster, "entitlement", {"program": cycle["program"], "period": cycle["period"]}
    )
    villages = collections.Counter()
    for ent in ents:
        household = await cluster.call(0, "aid_get", kind="household", id=ent["household"])
        villages[household["village"]] += 1
    village, count = villages.most_common(1)[0]
    url = cluster.url(0)
    drafted = run(
        "audit", "disclose", "--rpc", url, "--village", village, "--cycle", cycle["id"],
        "--key", keyfile(cluster, "handler"),
        "--enc-key", str(cluster.info.root / "aid" / "office.enc.key"), "--wait",
    )  # fmt: skip
    run(
        "aid", "disclosure.publish", "--rpc", url, "--key", keyfile(cluster, "approver"),
        "--arg", f"disclosure={drafted['id']}", "--wait",
    )  # fmt: skip
    height = (await cluster.status(0))["height"]
    await cluster.wait_height(range(cluster.n), height)
    return village, count


def base(cluster: LocalCluster, i: int) -> str:
    return cluster.url(i).rstrip("/")


async def test_disclosure_alike_on_every_node_and_nothing_personal(demo: LocalCluster) -> None:
    village, count = await publish_one(demo)
    path = f"/public/disclosure/{village}/2026-01"
    status1, headers1, body1 = await get(base(demo, 1) + path)
    status2, _, body2 = await get(base(demo, 2) + path)
    assert status1 == status2 == 200
    doc1, doc2 = json.loads(body1), json.loads(body2)
    assert doc1["content_hash"] == doc2["content_hash"] == headers1["ETag"].strip('"')
    assert doc1["data"] == doc2["data"]
    content = doc1["data"]["disclosure"]["content"]
    assert content["count"] == count and len(content["rows"]) == count
    assert all(MASKED_NAME.match(r["masked_name"]) for r in content["rows"])
    assert int(headers1["X-Aidchain-Height"]) >= 1 and "max-age" in headers1["Cache-Control"]
    # the same resource over JSON-RPC, CSV, and a conditional GET
    rpc = await demo.call(3, "public_disclosure", village=village, period="2026-01")
    assert rpc["content_hash"] == doc1["content_hash"]
    status, headers, body = await get(base(demo, 3) + path + ".csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(table) == count and {int(r["amount_fen"]) for r in table} <= {
        r["amount_fen"] for r in content["rows"]
    }
    status, _, body = await get(base(demo, 3) + path, {"If-None-Match": headers1["ETag"]})
    assert status == 304 and body == b""
    assert (await get(base(demo, 3) + path + ".csv", {"If-None-Match": headers["ETag"]}))[0] == 304

    # every public answer, as JSON and CSV, holds no demo name, ID number, phone or account
    answers = [body1, body]
    for resource in (
        f"/public/funds/{COUNTY}/2026",
        f"/public/programs/{COUNTY}",
        f"/public/events/{COUNTY}",
        f"/public/events/{village}",
    ):
        for suffix in ("", ".csv"):
            status, _, raw = await get(base(demo, 0) + resource + suffix)
            assert status == 200, raw
            answers.append(raw)
    funds = json.loads(answers[2])["data"]
    assert len(funds["funds"]) >= 1 and funds["received_fen"] > 0
    secrets = plaintexts()
    for raw in answers:
        for secret in secrets:
            assert secret not in raw
    # no read takes an ID number: asking with one is refused the same as any bad code
    status, _, raw = await get(base(demo, 0) + "/public/disclosure/530102199001011234/2026-01")
    assert status == 400 and b"530102199001011234" not in raw


async def test_audit_export_counts_equal_the_chain_and_the_file_is_proven(
    demo: LocalCluster, tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    parquet = tmp_path / "export.parquet"
    with_parquet = importlib.util.find_spec("pyarrow") is not None  # the optional extra
    result = aidchain(
        "audit", "export", "--rpc", demo.url(1), "--area", COUNTY, "--record",
        "--key", keyfile(demo, "auditor"), *(["--parquet", str(parquet)] if with_parquet else []),
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out.write_text(result.stdout)
    lines = result.stdout.splitlines()
    height = int(re.search(r"height=(\d+)", lines[0]).group(1))  # type: ignore[union-attr]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:-1]))))
    summary = json.loads(result.stderr.rsplit("audit export: ", 1)[1])
    assert summary["height"] == height and summary["rows"] == len(rows)
    assert summary["file_hash"] == hashlib.sha256(result.stdout.encode()).hexdigest()
    assert len(summary["recorded_tx"]) == 64
    exported = collections.Counter((r["action"], r["outcome"]) for r in rows)
    # the chain's own count of ledger actions up to that height, from every block's receipts
    on_chain: collections.Counter[tuple[str, str]] = collections.Counter()
    for block in await demo.all_blocks(2, height):
        for tx_hash in block["txs"]:
            info = await demo.call(2, "tx_get", hash=tx_hash)
            tx, receipt = info["tx"], info["receipt"]
            if tx["type"] == "aid":
                outcome = "ok" if receipt["ok"] else f"refused:{receipt['error_type']}"
                on_chain[(tx["payload"]["action"], outcome)] += 1
    assert exported == on_chain
    assert exported[("payment.report", "ok")] >= 1
    assert all(r["area"].startswith("530102") and r["time_utc"].endswith("Z") for r in rows)
    if with_parquet:
        import pyarrow.parquet as pq

        assert pq.read_table(parquet).column("tx_hash").to_pylist() == [r["tx_hash"] for r in rows]

    verify = aidchain("audit", "verify", str(out), "--rpc", demo.url(3))
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["proven"] is True
    out.write_text(result.stdout.replace(",ok,", ",refused:x,", 1))
    assert aidchain("audit", "verify", str(out), "--rpc", demo.url(3)).returncode == 1


async def test_reconcile_lists_injected_mismatches(demo: LocalCluster, tmp_path: Path) -> None:
    cycle = await first_cash_cycle(demo)
    batches = await list_all(demo, "batch", {"cycle": cycle["id"]})
    batch = max(batches, key=lambda b: b["count"])["id"]  # not the small re-issue batch
    ents = await list_all(
        demo, "entitlement", {"program": cycle["program"], "period": cycle["period"]}
    )
    paid = []
    for ent in ents:
        attempt = next(
            (a for a in ent["attempts"] if a.get("batch") == batch and a["outcome"] == "paid"), None
        )
        if ent["status"] == "paid" and attempt:
            paid.append((ent["id"], attempt["bank_ref"], ent["amount"]))
    assert len(paid) >= 3
    statement = tmp_path / "bank.csv"
    lines = ["entitlement,bank_ref,amount_fen,value_date"]
    lines += [f"{e},{ref},{amount},2026-01-15" for e, ref, amount in paid[1:]]  # first missing
    lines[1] = lines[1].replace(f",{paid[1][2]},", f",{paid[1][2] + 100},")  # amount differs
    lines.append("ffffffffffffffffffff,X1,5000,2026-01-15")  # never paid
    statement.write_text("\n".join(lines) + "\n")
    result = aidchain(
        "audit", "reconcile", "--rpc", demo.url(2), "--statement", str(statement), "--batch", batch
    )
    assert result.returncode == 1, result.stderr
    found = {(m["kind"], m["entitlement"]) for m in json.loads(result.stdout)["mismatches"]}
    assert found == {
        ("paid_not_on_statement", paid[0][0]),
        ("amount_differs", paid[1][0]),
        ("on_statement_not_paid", "ffffffffffffffffffff"),
    }


async def test_sample_recomputed_alike_and_checks_recorded(demo: LocalCluster) -> None:
    cycle = await first_cash_cycle(demo)
    declared = aidchain(
        "audit", "sample", "declare", "--rpc", demo.url(0), "--cycle", cycle["id"], "--n", "4",
        "--purpose", "2026 annual audit", "--key", keyfile(demo, "auditor"),
    )  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    sample = json.loads(declared.stdout)["id"]
    height = json.loads(declared.stdout)["height"]
    # blocks are cut only for transactions: one transfer brings the seed block
    payer = demo.accounts[0]
    nonce = (await demo.call(0, "account_get", address=payer.public_hex))["next_nonce"]
    transfer = sign_batch(payer, demo.chain_id, nonce, 1, demo.accounts[1].public_hex)
    await wait_committed(demo, 0, await submit_all(demo.url(0), transfer))
    await demo.wait_height(range(demo.n), height + 1)
    shown = [run("audit", "sample", "show", sample, "--rpc", demo.url(i)) for i in (1, 3)]
    assert shown[0] == shown[1] and shown[0]["population_matches"]
    assert len(shown[0]["picks"]) == 4
    checked = run(
        "aid", "sample.verify", "--rpc", demo.url(0), "--key", keyfile(demo, "auditor"),
        "--arg", f"sample={sample}", "--arg", f"entitlement={shown[0]['picks'][0]}",
        "--arg", "result=received_with_issues", "--arg", "evidence=" + "ab" * 32, "--wait",
    )  # fmt: skip
    assert checked["receipt"]["ok"]


async def test_a_reversal_reopens_the_books_and_the_new_statement_is_recorded(
    demo: LocalCluster, tmp_path: Path
) -> None:
    """The demo reconciled and closed every cash cycle. The bank then reverses one payment of
    the re-issue batch: the batch and its cycle reopen, and finance reconciles the batch again
    from the CLI with the bank's new statement, whose SHA-256 goes on chain."""
    cycle = await first_cash_cycle(demo)
    assert cycle["status"] == "closed"
    batches = await list_all(demo, "batch", {"cycle": cycle["id"]})
    small = min(batches, key=lambda b: b["count"])  # the re-issue batch
    assert small["status"] == "reconciled"
    ents = await list_all(
        demo, "entitlement", {"program": cycle["program"], "period": cycle["period"]}
    )
    credits = [
        (e["id"], a["bank_ref"], e["amount"])
        for e in ents
        for a in e["attempts"]
        if a.get("batch") == small["id"] and a["outcome"] == "paid"
    ]
    reversed_id, _, amount = credits[0]
    results = [{"entitlement": reversed_id, "outcome": "returned", "amount": amount,
                "code": "account_frozen"}]  # fmt: skip
    run(
        "aid", "payment.report", "--rpc", demo.url(0), "--key", keyfile(demo, "bank-operator"),
        "--args", json.dumps({"batch": small["id"], "results": results}), "--wait",
    )  # fmt: skip
    assert (await demo.call(1, "aid_get", kind="cycle", id=cycle["id"]))["status"] == "paying"
    assert (await demo.call(1, "aid_get", kind="batch", id=small["id"]))["status"] == "settled"

    statement = tmp_path / "statement.csv"
    lines = ["entitlement,bank_ref,amount_fen"] + [f"{e},{r},{a}" for e, r, a in credits[1:]]
    statement.write_text("\n".join(lines) + "\n")
    reconciled = run(
        "audit", "reconcile", "--rpc", demo.url(2), "--statement", str(statement),
        "--batch", small["id"], "--record", "--key", keyfile(demo, "allocator"),
    )  # fmt: skip
    assert reconciled["mismatches"] == [] and reconciled["recorded_tx"]
    batch = await demo.call(3, "aid_get", kind="batch", id=small["id"])
    assert batch["status"] == "reconciled"
    assert (
        batch["reconciled"]["statement_hash"] == hashlib.sha256(statement.read_bytes()).hexdigest()
    )
    # the reversed payment is still open: the cycle cannot close until it is cancelled or paid
    closing = aidchain(
        "aid", "cycle.close", "--rpc", demo.url(0), "--key", keyfile(demo, "allocator"),
        "--arg", f"cycle={cycle['id']}", "--wait",
    )  # fmt: skip
    assert closing.returncode != 0 and "1 returned" in closing.stderr
