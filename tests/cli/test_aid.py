"""``aidchain aid``: argument handling, transaction building, the check-before-send flow, privacy."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from nacl.exceptions import CryptoError

from aid.catalog import CATALOG
from aid.context import Context
from aid.identity import account_commitment, gb11643_check_digit, person_commitment, unseal
from aid.ledger import ACTIONS
from aid.reads import LIST_SPECS
from chain import limits
from chain.crypto import KeyPair, verify
from chain.encoding import canonical, sha256_hex
from chain.keyfile import save_key
from cli import aid as cli_aid
from cli import household as cli_household
from cli import sending
from cli.common import CliError, UsageError
from cli.main import build_parser, main
from node.aidclient import (
    FINGERPRINT_ID_NUMBER,
    READER_KINDS,
    aid_tx,
    read_registry_key,
    readers_of,
    registry_fingerprint,
)
from node.cluster import init_cluster, load_cluster
from tests.cli.test_main import closed_port_url

COUNTY, TOWNSHIP, VILLAGE = "530102000000", "530102001000", "530102001001"
GOOD_ID = "53010219800101101" + gb11643_check_digit("53010219800101101")
SECOND_ID = "53010220100304102" + gb11643_check_digit("53010220100304102")
BAD_ID = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")  # a mistyped check digit


# --- arguments ------------------------------------------------------------------------------------
def test_args_json_overlaid_by_name_value_pairs() -> None:
    out = cli_aid.parse_action_args(
        '{"cycle": "c1", "decision": "reject"}',
        ["decision=approve", 'households=["a","b"]', "count=3", "reason=not done yet"],
    )
    assert out == {
        "cycle": "c1",
        "decision": "approve",
        "households": ["a", "b"],
        "count": 3,
        "reason": "not done yet",
    }


def test_an_id_of_digits_alone_stays_text() -> None:
    """Ids are 20 hex characters; now and then one holds no letter (a CI run drew one)."""
    out = cli_aid.parse_action_args(
        None,
        ["program=31415926535897932384", "amount=9007199254740991", 'area="530102001001"'],
    )
    assert out == {
        "program": "31415926535897932384",  # past every ledger integer: an id
        "amount": limits.MAX_AMOUNT - 1,  # the largest amount is still a number
        "area": "530102001001",  # digits meant as text below that bound are quoted
    }


@pytest.mark.parametrize(
    ("args_json", "pairs", "match"),
    [
        ("[1]", [], "JSON object"),
        ("{bad", [], "--args"),
        (None, ["novalue"], "NAME=VALUE"),
        (None, ["=x"], "NAME=VALUE"),
    ],
)
def test_malformed_action_args_are_usage_errors(
    args_json: str | None, pairs: list[str], match: str
) -> None:
    with pytest.raises(UsageError, match=match):
        cli_aid.parse_action_args(args_json, pairs)


def test_every_ledger_action_is_a_command() -> None:
    parser = build_parser()
    for action in ACTIONS:
        args = parser.parse_args(["aid", action, "--key", "k", "--arg", "x=1", "--gas", "5"])
        assert args.action == action
        assert args.func is cli_aid.cmd_action
        assert args.gas == 5


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_an_actions_help_says_who_may_send_it_and_its_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["aid", "cycle.approve"], capsys)
    doc = CATALOG["cycle.approve"]
    flat = " ".join(text.split())  # the help wraps lines
    assert f"cycle.approve: {doc.summary}." in flat
    assert " ".join(doc.who.split()) in flat
    for arg in doc.args:
        assert f"  {arg.name} " in text
    assert "reject (optional)" in flat or "(optional)" in flat  # reason is optional
    assert doc.reference in text


def test_the_aid_overview_lists_every_action_by_its_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(_help(["aid"], capsys).split())
    assert "usage: aidchain aid [-h] COMMAND ..." in text  # not a brace list of 70 names
    for action, doc in CATALOG.items():
        assert f"{action} {doc.summary}" in text


def test_every_list_filter_of_the_ledger_is_an_option() -> None:
    """Each filter an index serves (aid/reads.py LIST_SPECS) can be given from the command line:
    alerts by level, visits by pairing, programs by allocation, proposals by account."""
    for kind, specs in LIST_SPECS.items():
        for _, names in specs:
            argv = ["aid", "list", kind]
            for name in names:
                argv += [f"--{name}", f"{name}-value"]
            params = cli_aid.list_params(build_parser().parse_args(argv))
            assert params["filters"] == {name: f"{name}-value" for name in names}


def test_the_list_help_shows_each_kinds_filters(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["aid", "list"], capsys)
    assert "  cycle       --program [--period] | --status | --period" in text
    assert "  alert       --status [--area] | --level [--area] | --household | --area" in text


def test_every_rpc_option_says_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["status"], ["aid", "list"], ["aid", "cycle.add"], ["audit", "export"]):
        text = " ".join(_help(argv, capsys).split())
        assert "--rpc URL the node's JSON-RPC URL (default: $AIDCHAIN_RPC, else" in text


def test_gas_bounds() -> None:
    assert cli_aid.check_gas(0) == 0
    assert cli_aid.check_gas(None) is None
    with pytest.raises(UsageError):
        cli_aid.check_gas(-1)
    with pytest.raises(UsageError):
        cli_aid.check_gas(10**12)


def test_list_params_from_flags() -> None:
    args = build_parser().parse_args(
        ["aid", "list", "household", "--status", "registered", "--area", VILLAGE, "--limit", "20"]
    )
    assert cli_aid.list_params(args) == {
        "kind": "household",
        "filters": {"status": "registered", "area": VILLAGE},
        "limit": 20,
    }
    args = build_parser().parse_args(["aid", "list", "cycle", "--limit", "999"])
    with pytest.raises(UsageError, match="--limit"):
        cli_aid.list_params(args)


def test_member_and_reader_parsing() -> None:
    assert cli_household.parse_member("王伟, 1234,139").name == "王伟"
    with pytest.raises(UsageError, match="name,id_number,phone"):
        cli_household.parse_member("王伟,1234")
    assert cli_household.parse_readers(["office=" + "AB" * 32]) == {"office": "ab" * 32}
    with pytest.raises(UsageError, match="ORG="):
        cli_household.parse_readers(["office=zz"])


# --- transaction building -------------------------------------------------------------------------
def test_aid_tx_is_signed_hashed_and_predicts_the_new_id() -> None:
    key = KeyPair.generate()
    signed = aid_tx(key, "chain-x", 7, "cycle.add", {"cycle": "c", "households": ["h"]}, 2_000)
    body = {k: v for k, v in signed.tx.items() if k != "signature"}
    assert body == {
        "chain_id": "chain-x",
        "sender": key.public_hex,
        "nonce": 7,
        "type": "aid",
        "payload": {
            "action": "cycle.add",
            "args": {"cycle": "c", "households": ["h"]},
            "gas": 2_000,
        },
    }
    assert signed.hash == sha256_hex(canonical(body))
    assert verify(key.public_hex, canonical(body), signed.tx["signature"])
    assert signed.new_id("household") == Context("", 0, 0, signed.hash).new_id("household")
    assert "gas" not in aid_tx(key, "chain-x", 0, "fund.receive", {}).tx["payload"]


# --- households: privacy --------------------------------------------------------------------------
@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    init_cluster(tmp_path / "c", base_port=0, accounts=1)
    return tmp_path / "c"


def apply_argv(cluster: Path, id_number: str, rpc: str) -> list[str]:
    return [
        "aid", "household", "apply", "--key", str(cluster / "accounts" / "acct0.key"),
        "--rpc", rpc, "--cluster", str(cluster), "--village", VILLAGE,
        "--member", f"张秀英,{id_number},13812345678", "--member", f"李强,{SECOND_ID},13987654321",
        "--bank-account", "6228480012345678", "--cause", "illness", "--income", "3100",
    ]  # fmt: skip


def genesis_readers(cluster: Path) -> dict[str, str]:
    return readers_of(json.loads((cluster / "genesis.json").read_text())["aid"]["orgs"])


def test_household_args_carry_no_plain_personal_data(cluster: Path) -> None:
    good_second = SECOND_ID
    args = build_parser().parse_args(apply_argv(cluster, GOOD_ID, "http://x/"))
    built = cli_household.build_apply_args(args, genesis_readers(cluster))
    text = json.dumps(built, ensure_ascii=False)
    for secret in ("张秀英", "李强", GOOD_ID, good_second, "13812345678", "6228480012345678"):
        assert secret not in text
    registry_key = bytes.fromhex((cluster / "aid" / "registry.key").read_text().strip())
    assert person_commitment(registry_key, GOOD_ID) in built["members"]
    genesis = json.loads((cluster / "genesis.json").read_text())
    readers = {o["id"] for o in genesis["aid"]["orgs"] if o["kind"] in READER_KINDS}
    assert set(built["sealed"]["keys"]) == readers and "fin" not in readers
    private = (cluster / "aid" / "audit.enc.key").read_text().strip()
    opened = unseal(private, built["sealed"], "audit")
    assert opened["members"][0] == {"name": "张秀英", "id_number": GOOD_ID, "phone": "13812345678"}
    assert opened["bank_account"] == "6228480012345678"


def test_a_bad_id_number_exits_2_before_sending_and_is_not_echoed(
    cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # nothing listens at the RPC URL: had anything been sent, the exit code would be 3
    assert main(apply_argv(cluster, BAD_ID, closed_port_url())) == 2
    err = capsys.readouterr().err
    assert "check digit" in err
    assert BAD_ID not in err and BAD_ID[:17] not in err


def test_apply_needs_keys_from_somewhere(cluster: Path) -> None:
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    i = argv.index("--cluster")
    del argv[i : i + 2]
    with pytest.raises(UsageError, match="--registry-key"):
        cli_household.build_apply_args(build_parser().parse_args(argv), genesis_readers(cluster))


# --- the check-before-send flow against a fake node -----------------------------------------------
class FakeNode:
    """A JSON-RPC endpoint answering the calls the CLI makes; records every method called."""

    def __init__(self, refuse: bool, cluster: Path) -> None:
        self.refuse = refuse
        self.calls: list[str] = []
        self.sent: list[dict[str, Any]] = []
        genesis = json.loads((cluster / "genesis.json").read_text())
        self.orgs = genesis["aid"]["orgs"]
        self.household: dict[str, Any] | None = None
        self.change: dict[str, Any] | None = None  # aid_get kind=change answers this
        self.grants: list[dict[str, Any]] = []  # aid_list kind=grants answers this page
        self.params: list[dict[str, Any]] = []
        self.checked: list[dict[str, Any]] = []  # the transactions aid_check simulated
        self.gas_used = 0  # what aid_check says the rules used
        # aid_check's refusal when ``refuse``: the ledger's error object
        self.refusal: dict[str, Any] = {
            "code": -32020,
            "message": "account 1234… does not hold the handler role",
            "data": {"reason": "wrong_role", "role": "handler"},
        }

    def answer(self, req: dict[str, Any]) -> dict[str, Any]:
        method, params = req["method"], req.get("params") or {}
        self.calls.append(method)
        self.params.append(params)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": req["id"]}
        if method == "node_status":
            reply["result"] = {"chain_id": "fake-chain"}
        elif method == "account_get":
            reply["result"] = {"next_nonce": 4, "balance": 0}
        elif method == "aid_check" and self.refuse:
            reply["error"] = self.refusal
        elif method == "aid_check":
            self.checked.append(params["tx"])
            reply["result"] = {"ok": True, "events": [], "touched": [], "gas_used": self.gas_used}
        elif method == "tx_send":
            self.sent.append(params["tx"])
            reply["result"] = {"hash": "h"}
        elif method == "tx_get":
            reply["result"] = {"status": "committed", "height": 9, "receipt": {"ok": True}}
        elif method == "aid_policy":
            reply["result"] = {"orgs": self.orgs}
        elif method == "aid_get" and params["kind"] == "grants":
            found = [g for g in self.grants if g["id"] == params["id"]]
            reply["result"] = found[0] if found else None
        elif method == "aid_get" and params["kind"] == "change":
            reply["result"] = self.change
        elif method == "aid_get":
            reply["result"] = self.household
        elif method == "aid_list":
            reply["result"] = {"items": self.grants, "next_cursor": "c1"}
        else:
            reply["error"] = {"code": -32601, "message": "no such method"}
        return reply

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        if isinstance(body, list):
            return web.json_response([self.answer(r) for r in body])
        return web.json_response(self.answer(body))


async def serve(node: FakeNode) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/", node.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def test_a_refused_action_exits_1_with_the_reason_and_is_not_sent(cluster: Path) -> None:
    node = FakeNode(refuse=True, cluster=cluster)
    async for url in serve(node):
        with pytest.raises(CliError, match=r"refused \(wrong_role\): .*handler role") as info:
            await sending.send_action(url, KeyPair.generate(), "cycle.create", {"program": "p"})
    assert info.value.code == 1
    assert "tx_send" not in node.calls


def test_a_refused_number_from_unquoted_digits_gets_the_quoting_advice() -> None:
    hint = cli_aid.quoting_hint("area", ["stage=village", "area=530102001001"])
    assert hint == (
        "--arg area=530102001001 went as a number; to send it as text, quote it as JSON: "
        "--arg 'area=\"530102001001\"'"
    )
    # the advice is for that one mistake only
    assert cli_aid.quoting_hint("area", ['area="530102001001"']) == ""  # quoted: it was text
    assert cli_aid.quoting_hint("area", ["area=0530"]) == ""  # not a JSON number: sent as text
    assert cli_aid.quoting_hint("program", ["program=31415926535897932384"]) == ""  # an id: text
    assert cli_aid.quoting_hint("area", ["area=5301", "area=x"]) == ""  # the last one was sent
    assert cli_aid.quoting_hint("size", ["area=5301"]) == ""  # another argument was refused
    assert cli_aid.quoting_hint(None, ["area=5301"]) == ""  # the refusal names no argument
    assert cli_aid.quoting_hint("area", None) == ""  # it came from --args


async def test_a_bad_args_refusal_of_unquoted_digits_exits_1_with_the_advice(
    cluster: Path, tmp_path: Path
) -> None:
    node = FakeNode(refuse=True, cluster=cluster)
    node.refusal = {
        "code": -32020,
        "message": "program.create: area must be a non-empty string of at most 256 characters",
        "data": {"reason": "bad_args", "argument": "area"},
    }
    key = tmp_path / "clerk.key"
    save_key(key, KeyPair.generate())
    async for url in serve(node):
        argv = ["aid", "program.create", "--key", str(key), "--rpc", url]
        args = build_parser().parse_args([*argv, "--arg", "area=530102001001"])
        with pytest.raises(CliError) as info:
            await asyncio.to_thread(cli_aid.cmd_action, args)
    assert info.value.code == 1
    first, advice = str(info.value).splitlines()
    assert first == f"refused (bad_args): {node.refusal['message']}"
    assert advice.endswith("""quote it as JSON: --arg 'area="530102001001"'""")
    assert "tx_send" not in node.calls


async def test_an_accepted_action_is_sent_with_the_next_nonce_and_its_new_id(
    cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    key = KeyPair.generate()
    async for url in serve(node):
        out = await sending.send_action(url, key, "fund.receive", {"doc_no": "d"}, wait=True)
    assert node.calls == ["node_status", "account_get", "aid_check", "tx_send", "tx_get"]
    tx = node.sent[0]
    assert (tx["nonce"], tx["type"], tx["chain_id"]) == (4, "aid", "fake-chain")
    expected = aid_tx(key, "fake-chain", 4, "fund.receive", {"doc_no": "d"})
    assert out["id"] == expected.new_id("fund") and out["hash"] == expected.hash
    assert json.loads(capsys.readouterr().out)["status"] == "committed"


async def test_no_check_skips_the_simulation(cluster: Path) -> None:
    node = FakeNode(refuse=True, cluster=cluster)
    async for url in serve(node):
        await sending.send_action(url, KeyPair.generate(), "cycle.create", {}, check=False)
    assert "aid_check" not in node.calls and node.calls[-1] == "tx_send"


def gas_of(tx: dict[str, Any]) -> int:
    return int(tx["payload"].get("gas", 0))


async def test_without_gas_the_check_estimates_it(cluster: Path) -> None:
    """The check runs with the most gas a call may have; the sent transaction declares what the
    rules used plus a fifth, and is the same action with the same nonce."""
    node = FakeNode(refuse=False, cluster=cluster)
    node.gas_used = 1000
    async for url in serve(node):
        await sending.send_action(url, KeyPair.generate(), "cycle.add", {"cycle": "c"})
    (probe,) = node.checked
    (sent,) = node.sent
    assert gas_of(probe) == limits.MAX_CALL_GAS
    assert gas_of(sent) == 1201
    assert sent["nonce"] == probe["nonce"]
    assert sent["payload"] == {**probe["payload"], "gas": 1201}


async def test_an_action_without_rules_declares_no_gas(cluster: Path) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    async for url in serve(node):
        await sending.send_action(url, KeyPair.generate(), "cycle.create", {"program": "p"})
    assert gas_of(node.sent[0]) == 0


@pytest.mark.parametrize(("gas", "check"), [(0, True), (5000, True), (None, False)])
async def test_a_given_gas_or_no_check_is_sent_as_is(
    cluster: Path, gas: int | None, check: bool
) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    node.gas_used = 1000
    async for url in serve(node):
        await sending.send_action(url, KeyPair.generate(), "cycle.add", {}, gas=gas, check=check)
    assert gas_of(node.sent[0]) == (gas or 0)
    assert [gas_of(tx) for tx in node.checked] == ([gas] if check else [])


async def test_show_opens_the_sealed_data_and_an_auditor_view_is_recorded_first(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    built = cli_household.build_apply_args(
        build_parser().parse_args(argv), genesis_readers(cluster)
    )
    node = FakeNode(refuse=False, cluster=cluster)
    node.household = {"kind": "household", "id": "hh1", "sealed": built["sealed"]}
    auditor = KeyPair.generate()
    save_key(tmp_path / "auditor.key", auditor)
    async for url in serve(node):
        show = ["aid", "household", "show", "hh1", "--rpc", url]
        office = build_parser().parse_args(
            [*show, "--enc-key", str(cluster / "aid/office.enc.key")]
        )
        result = await cli_household._show(office)
        assert result["personal"]["members"][0]["name"] == "张秀英"
        assert "tx_send" not in node.calls
        audit = build_parser().parse_args([*show, "--enc-key", str(cluster / "aid/audit.enc.key")])
        with pytest.raises(UsageError, match="--purpose"):
            await cli_household._show(audit)
        audit.key, audit.purpose = str(tmp_path / "auditor.key"), "annual audit 2026"
        result = await cli_household._show(audit)
        assert result["personal"]["bank_account"] == "6228480012345678"
        view = node.sent[-1]["payload"]
        assert view == {
            "action": "household.view",
            "args": {"household": "hh1", "purpose": "annual audit 2026"},
        }
        fin = build_parser().parse_args([*show, "--enc-key", str(cluster / "aid/fin.enc.key")])
        with pytest.raises(CliError, match="not sealed to organisation fin"):
            await cli_household._show(fin)
    capsys.readouterr()


async def test_change_account_reseals_the_data_with_the_new_account(cluster: Path) -> None:
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    built = cli_household.build_apply_args(
        build_parser().parse_args(argv), genesis_readers(cluster)
    )
    node = FakeNode(refuse=False, cluster=cluster)
    node.household = {"kind": "household", "id": "hh1", **built}
    registry = read_registry_key(load_cluster(cluster).aid_paths()["registry_key"])
    change = ["aid", "household", "change-account", "hh1", "--key", "k", "--reason", "closed"]
    async for url in serve(node):
        office = build_parser().parse_args(
            [*change, "--bank-account", "6228480099990000", "--rpc", url,
             "--enc-key", str(cluster / "aid/office.enc.key")]
        )  # fmt: skip
        out = await cli_household.change_account_args(office, registry)
        assert out["account_commitment"] == account_commitment(registry, "6228480099990000")
        opened = unseal((cluster / "aid/bank.enc.key").read_text().strip(), out["sealed"], "bank")
        assert opened["bank_account"] == "6228480099990000"
        assert opened["members"][0]["name"] == "张秀英"  # the rest of the data is kept
        assert "6228480099990000" not in json.dumps(out)
        office.bank_account = "6228480012345678"  # the account it has
        with pytest.raises(UsageError, match="already has this bank account"):
            await cli_household.change_account_args(office, registry)
        audit = build_parser().parse_args(
            [*change, "--bank-account", "6228480099990000", "--rpc", url,
             "--enc-key", str(cluster / "aid/audit.enc.key")]
        )  # fmt: skip
        with pytest.raises(UsageError, match="auditor"):
            await cli_household.change_account_args(audit, registry)
    assert "tx_send" not in node.calls


async def test_change_members_reseals_the_new_members_and_keeps_the_account(
    cluster: Path,
) -> None:
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    built = cli_household.build_apply_args(
        build_parser().parse_args(argv), genesis_readers(cluster)
    )
    node = FakeNode(refuse=False, cluster=cluster)
    node.household = {
        "kind": "household",
        "id": "hh1",
        **built,
        "members": sorted(built["members"]),
    }
    registry = read_registry_key(load_cluster(cluster).aid_paths()["registry_key"])
    change = ["aid", "household", "change-members", "hh1", "--key", "k", "--reason", "born"]
    newborn = "53010220260304103" + gb11643_check_digit("53010220260304103")
    async for url in serve(node):
        office = build_parser().parse_args(
            [*change, "--rpc", url, "--enc-key", str(cluster / "aid/office.enc.key"),
             "--member", f"张秀英,{GOOD_ID},13812345678", "--member", f"李强,{SECOND_ID},139",
             "--member", f"李小宝,{newborn},-"]
        )  # fmt: skip
        out = await cli_household.change_members_args(office, registry)
        assert out["members"] == [
            person_commitment(registry, n) for n in (GOOD_ID, SECOND_ID, newborn)
        ]
        assert out["size"] == 3
        opened = unseal((cluster / "aid/bank.enc.key").read_text().strip(), out["sealed"], "bank")
        assert [m["name"] for m in opened["members"]] == ["张秀英", "李强", "李小宝"]
        assert opened["bank_account"] == "6228480012345678"  # the rest of the data is kept
        assert newborn not in json.dumps(out) and "李小宝" not in json.dumps(out)
        office.member = office.member[:2]  # the members it has
        with pytest.raises(UsageError, match="already has exactly these members"):
            await cli_household.change_members_args(office, registry)
        office.member = [f"李小宝,{newborn[:17]}{'0' if newborn[17] != '0' else '1'},-"]
        with pytest.raises(UsageError, match="check digit") as info:
            await cli_household.change_members_args(office, registry)
        assert newborn[:17] not in str(info.value)
    assert "tx_send" not in node.calls


async def test_change_show_opens_both_sides_and_catches_data_that_disagrees_with_commitments(
    cluster: Path,
) -> None:
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    readers = genesis_readers(cluster)
    built = cli_household.build_apply_args(build_parser().parse_args(argv), readers)
    node = FakeNode(refuse=False, cluster=cluster)
    node.household = {"id": "hh1", **built, "members": sorted(built["members"]), "version": 3}
    registry = read_registry_key(load_cluster(cluster).aid_paths()["registry_key"])
    newborn = "53010220260304103" + gb11643_check_digit("53010220260304103")
    members = ["--member", f"张秀英,{GOOD_ID},138", "--member", f"李小宝,{newborn},-"]
    show = [
        "aid",
        "household",
        "change-show",
        "c1",
        "--enc-key",
        str(cluster / "aid/office.enc.key"),
    ]
    async for url in serve(node):
        edit = build_parser().parse_args(
            ["aid", "household", "change-members", "hh1", "--key", "k", "--reason", "born",
             "--rpc", url, "--enc-key", str(cluster / "aid/office.enc.key"), *members]
        )  # fmt: skip
        fields = await cli_household.change_members_args(edit, registry)
        del fields["household"], fields["reason"]
        node.change = {"household": "hh1", "fields": fields, "status": "pending", "reason": "born",
                       "maker_org": "office", "base_version": 3}  # fmt: skip
        args = build_parser().parse_args([*show, "--rpc", url])
        review = await cli_household.review_change(args, registry)
        diff = review["personal"]
        assert [m["name"] for m in diff["members_joining"]] == ["李小宝"]
        assert [m["name"] for m in diff["members_leaving"]] == ["李强"]
        assert "bank_account" not in diff and review["fields"] == {}  # size 2 both before and after
        assert (review["problems"], review["stale"], review["checked"]) == ([], False, True)
        # the maker commits the newborn but seals someone else's data: the reviewer sees it
        other = person_commitment(registry, SECOND_ID)
        node.change["fields"]["members"] = sorted([person_commitment(registry, GOOD_ID), other])
        review = await cli_household.review_change(args, registry)
        assert review["problems"] == [
            "the sealed data lists 2 members and the commitments 2; only 1 agree"
        ]
        # an account commitment changed while the sealed data keeps the old account
        node.change["fields"] = {
            "account_commitment": account_commitment(registry, "6228480099990000")
        }
        review = await cli_household.review_change(args, registry)
        assert review["problems"] == [
            "the sealed bank account is not the one the account commitment names"
        ]
        assert (
            await asyncio.to_thread(
                main, [*show, "--rpc", url, "--registry-key", str(cluster / "aid/registry.key")]
            )
            == 1
        )
        assert (await cli_household.review_change(args, None))["checked"] is False
        node.household["version"] = 4
        assert (await cli_household.review_change(args, None))["stale"] is True
        node.change["status"] = "approved"
        with pytest.raises(CliError, match="is approved; change-show compares a pending"):
            await cli_household.review_change(args, None)
        node.change["status"] = "pending"
        audit = build_parser().parse_args(
            ["aid", "household", "change-show", "c1", "--rpc", url,
             "--enc-key", str(cluster / "aid/audit.enc.key")]
        )  # fmt: skip
        with pytest.raises(UsageError, match="recorded on chain"):
            await cli_household.review_change(audit, None)
    assert "tx_send" not in node.calls


def test_cmd_action_reads_the_key_file(tmp_path: Path) -> None:
    args = argparse.Namespace(args=None, arg=["x=1"], key=str(tmp_path / "missing.key"))
    with pytest.raises(Exception, match=r"missing\.key"):
        cli_aid.cmd_action(args)


# --- key rotation, roles ----------------------------------------------------------------------------
def rotate(orgs: list[dict[str, Any]], org_id: str, new_public: str) -> list[dict[str, Any]]:
    """``aid_policy``'s orgs after ``org_id`` rotated to ``new_public``."""
    out = []
    for org in orgs:
        if org["id"] == org_id:
            retired = [{"key": org["enc_key"], "retired_ms": 1, "height": 9}]
            org = {**org, "enc_key": new_public, "enc_keys_retired": retired}
        out.append(org)
    return out


async def test_apply_seals_to_the_current_keys_and_a_retired_key_still_opens_old_data(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    argv = apply_argv(cluster, GOOD_ID, "http://x/")
    old_built = cli_household.build_apply_args(
        build_parser().parse_args(argv), genesis_readers(cluster)
    )
    assert main(["aid", "enc-keygen", "--out", str(tmp_path / "office.new")]) == 0
    new_public = json.loads(capsys.readouterr().out)["enc_key"]
    assert (tmp_path / "office.new").stat().st_mode & 0o777 == 0o600
    assert main(["aid", "enc-keygen", "--out", str(tmp_path / "office.new")]) == 2  # never over
    node.orgs = rotate(node.orgs, "office", new_public)
    async for url in serve(node):
        argv = apply_argv(cluster, GOOD_ID, url)
        assert await asyncio.to_thread(main, argv) == 0
        sealed = node.sent[-1]["payload"]["args"]["sealed"]
        assert unseal((tmp_path / "office.new").read_text().strip(), sealed, "office")
        with pytest.raises(CryptoError):
            unseal((cluster / "aid/office.enc.key").read_text().strip(), sealed, "office")
        # data sealed before the rotation: the retired key still finds its organisation
        node.household = {"kind": "household", "id": "hh0", "sealed": old_built["sealed"]}
        show = ["aid", "household", "show", "hh0", "--rpc", url, "--enc-key"]
        old = build_parser().parse_args([*show, str(cluster / "aid/office.enc.key")])
        assert (await cli_household._show(old))["personal"]["bank_account"] == "6228480012345678"
        new = build_parser().parse_args([*show, str(tmp_path / "office.new")])
        with pytest.raises(CliError, match="does not open with this key"):
            await cli_household._show(new)
    capsys.readouterr()


async def test_roles_lists_grants_of_an_account_or_an_area(
    cluster: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = FakeNode(refuse=False, cluster=cluster)
    a, b = "a" * 64, "b" * 64
    node.grants = [
        {"kind": "grants", "id": a, "grants": [["reviewer", TOWNSHIP, "office"],
                                                ["handler", COUNTY, "office"]]},
        {"kind": "grants", "id": b, "grants": [["village_registrar", VILLAGE, "village"]]},
        {"kind": "grants", "id": a, "grants": [["reviewer", TOWNSHIP, "office"],
                                                ["handler", COUNTY, "office"]]},
    ]  # fmt: skip
    async for url in serve(node):
        mine = build_parser().parse_args(["aid", "roles", "--account", a, "--rpc", url])
        assert (await cli_aid._roles(mine))["items"] == [
            {"account": a, "role": "reviewer", "area": TOWNSHIP, "org": "office"},
            {"account": a, "role": "handler", "area": COUNTY, "org": "office"},
        ]
        argv = ["aid", "roles", "--area", TOWNSHIP, "--role", "reviewer", "--rpc", url]
        page = await cli_aid._roles(build_parser().parse_args([*argv, "--limit", "5"]))
        assert node.params[-1] == {
            "kind": "grants",
            "filters": {"role": "reviewer", "area": TOWNSHIP},
            "limit": 5,
        }
        # deduplicated, narrowed to the area and role asked for, with the node's cursor
        assert page == {
            "items": [{"account": a, "role": "reviewer", "area": TOWNSHIP, "org": "office"}],
            "next_cursor": "c1",
        }
        nobody = build_parser().parse_args(["aid", "roles", "--account", "c" * 64, "--rpc", url])
        assert (await cli_aid._roles(nobody))["items"] == []
        bad = build_parser().parse_args(["aid", "roles", "--area", "53", "--rpc", url])
        with pytest.raises(UsageError, match="--area"):
            await cli_aid._roles(bad)
    capsys.readouterr()


def test_registry_keygen_writes_a_new_0600_file_and_prints_only_its_fingerprint(
    cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "registry.key"
    assert main(["aid", "registry-keygen", "--out", str(path)]) == 0
    made = json.loads(capsys.readouterr().out)
    key = read_registry_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key.hex() not in json.dumps(made)  # the secret is never printed
    assert made["fingerprint"] == person_commitment(key, FINGERPRINT_ID_NUMBER)[:16]
    assert main(["aid", "registry-keygen", "--out", str(path)]) == 2  # never overwritten
    assert read_registry_key(path) == key
    capsys.readouterr()
    # another agency's copy of the same key gives the same fingerprint; another key does not
    assert main(["aid", "registry-fingerprint", "--registry-key", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == {"fingerprint": made["fingerprint"]}
    assert main(["aid", "registry-fingerprint", "--cluster", str(cluster)]) == 0
    local = json.loads(capsys.readouterr().out)["fingerprint"]
    assert local != made["fingerprint"]
    assert local == registry_fingerprint(read_registry_key(cluster / "aid" / "registry.key"))


def test_the_fingerprint_id_number_is_a_valid_gb11643_number() -> None:
    body, check = FINGERPRINT_ID_NUMBER[:17], FINGERPRINT_ID_NUMBER[17]
    assert gb11643_check_digit(body) == check
