"""The demo county loaded into a real 4-node cluster: counts, reads, a refused second load, and
no plaintext personal data in any node's LevelDB files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aid.demo_county import demo_county
from tests.integration.harness import LocalCluster, aidchain

pytestmark = pytest.mark.integration

HOUSEHOLDS = 60
NOTICE_S = 4  # the public notice, shortened so the test waits it out quickly


def shorten_notice(cluster: LocalCluster) -> None:
    path = cluster.info.root / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["aid"]["policy"]["notice_period_s"] = NOTICE_S
    for level in ("yellow", "orange", "red"):  # the demo waits for one alert to escalate
        genesis["aid"]["policy"][f"alert_deadline_{level}_s"] = NOTICE_S
    path.write_text(json.dumps(genesis, indent=2))


def plaintexts() -> list[bytes]:
    """Every personal datum of the demo households, as the bytes a careless node would store."""
    out: set[bytes] = set()
    for hh in demo_county(households=HOUSEHOLDS).households:
        out.add(hh.bank_account.encode())
        for person in hh.members:
            out.update({person.name.encode(), person.id_number.encode(), person.phone.encode()})
            # as JSON would escape a CJK name when ensure_ascii is on
            out.add(json.dumps(person.name).strip('"').encode())
    return sorted(out)


def leveldb_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_demo_load_through_real_transactions(new_cluster: object) -> None:
    cluster: LocalCluster = new_cluster()  # type: ignore[operator]
    shorten_notice(cluster)
    await cluster.start_all()
    directory = str(cluster.info.root)

    result = aidchain(
        "demo", "load", "--dir", directory, "--households", str(HOUSEHOLDS), timeout=600
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["households"] == HOUSEHOLDS
    assert summary["programs"] == 3 and summary["cycles"] == 4
    assert summary["failed"] >= 1 and summary["reissued"] == summary["failed"]
    assert summary["delivered"] == 1
    assert summary["paid"] > 0 and summary["paid_fen"] > 0
    # every cash cycle was paid in full (re-issues included), so finance closed its books
    closed = await cluster.call(2, "aid_list", kind="cycle", filters={"status": "closed"})
    assert len(closed["items"]) == summary["closed"] == 3
    reconciled = await cluster.call(1, "aid_list", kind="batch", filters={"status": "reconciled"})
    assert len(reconciled["items"]) == summary["reconciled"] == 4  # 3 cycles' and the re-issue

    # reads on another node than the one the demo sent through
    registered = 0
    cursor = None
    while True:
        params: dict[str, object] = {"kind": "household", "filters": {"status": "registered"}}
        if cursor:
            params["cursor"] = cursor
        page = await cluster.call(2, "aid_list", **params)
        registered += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # the oversight story lifts one household and holds another's lifting notice
    assert (summary["lifted"], summary["lifting"]) == (1, 1)
    assert registered == HOUSEHOLDS - 2
    assert summary["pairings"] >= 1 and summary["visits"] == summary["pairings"]
    assert summary["alerts"] >= 3 and summary["escalated"] >= 1
    assert summary["grievances"] == 3
    # a published masked list (公示): public, hash and height, no full name in it
    assert summary["disclosures"] == 1
    published = await cluster.call(
        2, "aid_list", kind="disclosure", filters={"status": "published"}
    )
    (disc,) = published["items"]
    public = await cluster.call(3, "public_disclosure", village=disc["village"], period="2026-01")
    shown = public["data"]["disclosure"]
    rows = shown["content"]["rows"]
    full_names = {
        p.name for hh in demo_county(households=HOUSEHOLDS).households for p in hh.members
    }
    assert rows and all("*" in r["masked_name"] for r in rows)
    assert not any(r["masked_name"] in full_names for r in rows)
    assert shown["content_hash"] == disc["content_hash"] and public["height"] > 0
    levels = await cluster.call(1, "aid_list", kind="alert", filters={"area": "530102000000"})
    assert {a["level"] for a in levels["items"]} >= {"orange", "red"}
    report = await cluster.call(2, "aid_assess", area="530102000000", period="2026")
    assert report["cadres"] and report["programs"] and report["alert_owners"]
    funds = await cluster.call(3, "aid_list", kind="fund", filters={})
    assert len(funds["items"]) == 3
    trace = await cluster.call(1, "aid_trace", kind="fund", id=funds["items"][0]["id"])
    assert trace
    cli = aidchain("aid", "list", "program", "--rpc", cluster.url(1))
    assert cli.returncode == 0, cli.stderr
    programs = json.loads(cli.stdout)["items"]
    assert sorted(p["category"] for p in programs) == ["cash", "cash", "in_kind"]
    paid = aidchain(
        "aid", "list", "entitlement", "--status", "paid", "--limit", "200", "--rpc", cluster.url(0)
    )
    assert paid.returncode == 0, paid.stderr
    assert len(json.loads(paid.stdout)["items"]) == min(200, summary["paid"])

    # a clerk's CLI on the loaded county: decrypt as the office, as the auditor (recorded first)
    household = (await cluster.call(1, "aid_list", kind="household", filters={}, limit=1))["items"][
        0
    ]
    aid_dir = cluster.info.root / "aid"
    show = ["aid", "household", "show", household["id"], "--rpc", cluster.url(1)]
    office = aidchain(*show, "--enc-key", str(aid_dir / "office.enc.key"))
    assert office.returncode == 0, office.stderr
    names = {p.name for hh in demo_county(households=HOUSEHOLDS).households for p in hh.members}
    members = json.loads(office.stdout)["personal"]["members"]
    assert members and all(m["name"] in names for m in members)
    audit = aidchain(
        *show, "--enc-key", str(aid_dir / "audit.enc.key"),
        "--key", str(aid_dir / "demo" / "auditor.key"), "--purpose", "integration test audit",
    )  # fmt: skip
    assert audit.returncode == 0, audit.stderr
    history = await cluster.call(1, "aid_history", kind="household", id=household["id"])
    assert "household.view" in [item["action"] for item in history["items"]]
    refused = aidchain(
        "aid", "cycle.create", "--key", str(aid_dir / "demo" / "reviewer.key"),
        "--arg", f"program={programs[0]['id']}", "--arg", "period=2026-05", "--rpc", cluster.url(0),
    )  # fmt: skip
    assert refused.returncode == 1
    assert "wrong_role" in refused.stderr and "handler" in refused.stderr

    # a second load is refused clearly and changes nothing
    again = aidchain("demo", "load", "--dir", directory, "--households", "5")
    assert again.returncode == 1
    assert "already holds ledger data" in again.stderr

    # no node stored any personal datum in plain text
    cluster.stop_all()
    secrets = plaintexts()
    for i in range(cluster.n):
        files = leveldb_files(cluster.data_dir(i))
        # the scan reads what the node stored: the household ids it wrote are found in plain
        assert any(household["id"].encode() in p.read_bytes() for p in files)
        for path in files:
            data = path.read_bytes()
            leaked = [s for s in secrets if s in data]
            assert not leaked, f"{path} holds plaintext personal data: {leaked[:3]!r}"
