from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chain import limits
from chain.crypto import KeyPair
from chain.errors import ConfigError
from cli.main import main
from node.cluster import init_cluster
from node.genesis import build_genesis, load_genesis, validate_genesis


def test_genesis_new_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vals = [KeyPair.generate().public_hex for _ in range(4)]
    funded = KeyPair.generate().public_hex
    out = tmp_path / "genesis.json"
    argv = [
        "genesis",
        "new",
        "--chain-id",
        "county-fund-2027",
        "--time",
        "1700000000000",
        "--out",
        str(out),
    ]
    for name, v in zip(["finance", "poverty-office", "bank", "civil-affairs"], vals, strict=True):
        argv += ["--validator", f"{name}={v}"]
    argv += ["--account", f"{funded}=500000000"]
    assert main(argv) == 0
    written = json.loads(capsys.readouterr().out)
    genesis = load_genesis(out)
    assert written["hash"] == genesis.hash and genesis.validators == tuple(vals)
    assert genesis.doc["accounts"] == {funded: 500_000_000}
    assert main(["genesis", "show", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["hash"] == genesis.hash and shown["total_supply"] == 500_000_000
    assert genesis.doc["block_gas_limit"] == limits.DEFAULT_BLOCK_GAS_LIMIT  # always written
    assert shown["block_gas_limit"] == limits.DEFAULT_BLOCK_GAS_LIMIT
    assert [v["name"] for v in shown["validators"]] == [
        "finance",
        "poverty-office",
        "bank",
        "civil-affairs",
    ]
    assert main(argv) == 2  # refuses to overwrite


@pytest.mark.parametrize(
    "extra",
    [
        [],  # no validators
        ["--validator", "a=" + "1" * 64] * 4,  # duplicates
        ["--validator", "broken"],
        ["--account", "x=1"],
    ],
)
def test_genesis_new_refuses_bad_input(
    tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["genesis", "new", "--chain-id", "c", "--out", str(tmp_path / "g.json"), *extra]
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def _validators() -> list[tuple[str, str]]:
    return [(f"v{i}", KeyPair.generate().public_hex) for i in range(4)]


def test_genesis_new_sets_the_block_gas_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "g.json"
    argv = ["genesis", "new", "--chain-id", "c", "--out", str(out), "--block-gas-limit", "25000000"]
    for name, v in _validators():
        argv += ["--validator", f"{name}={v}"]
    assert main(argv) == 0
    assert load_genesis(out).block_gas_limit == 25_000_000
    capsys.readouterr()
    assert main(["genesis", "show", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["block_gas_limit"] == 25_000_000


@pytest.mark.parametrize(
    "value",
    [limits.MIN_BLOCK_GAS_LIMIT - 1, 0, -1, limits.MAX_BLOCK_GAS + 1, True, "10000000", 1.5e7],
)
def test_a_block_gas_limit_below_one_call_or_not_an_int_is_refused(value: object) -> None:
    doc = build_genesis("c", _validators(), {}, 1).doc
    doc["block_gas_limit"] = value
    with pytest.raises(ConfigError, match="block_gas_limit"):
        validate_genesis(doc)


def test_genesis_new_refuses_a_block_gas_limit_below_one_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["genesis", "new", "--chain-id", "c", "--out", str(tmp_path / "g.json")]
    argv += ["--block-gas-limit", str(limits.MIN_BLOCK_GAS_LIMIT - 1)]
    for name, v in _validators():
        argv += ["--validator", f"{name}={v}"]
    assert main(argv) == 2
    assert "block_gas_limit" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def test_a_genesis_without_the_key_keeps_its_hash_and_gets_the_default() -> None:
    doc = build_genesis("c", _validators(), {}, 1).doc
    del doc["block_gas_limit"]
    genesis = validate_genesis(doc)
    assert genesis.block_gas_limit == limits.DEFAULT_BLOCK_GAS_LIMIT
    assert "block_gas_limit" not in genesis.doc  # the hashed document is what was written


def test_cluster_init_writes_the_block_gas_limit(tmp_path: Path) -> None:
    init_cluster(tmp_path / "c", base_port=0, block_gas_limit=30_000_000)
    genesis = load_genesis(tmp_path / "c" / "genesis.json")
    assert genesis.doc["block_gas_limit"] == genesis.block_gas_limit == 30_000_000


def _aid_section() -> dict[str, Any]:
    """One county with a township and a village, and four organisations (docs/operations.md)."""
    county, township, village = "530102000000", "530102001000", "530102001001"
    kinds = (
        ("fin", "finance"),
        ("office", "poverty_office"),
        ("bank", "bank"),
        ("audit", "auditor"),
    )
    return {
        "policy": {"notice_period_s": 7 * 86_400},
        "areas": [
            {"code": county, "name": "a county"},
            {"code": township, "name": "a township"},
            {"code": village, "name": "a village", "population": 812},
        ],
        "orgs": [
            {
                "id": ident,
                "kind": kind,
                "name": f"the county's {kind}",
                "area": county,
                "admins": [KeyPair.generate().public_hex],
                "enc_key": KeyPair.generate().public_hex,  # any 32 bytes in hex, as X25519's
            }
            for ident, kind in kinds
        ],
    }


def _new_argv(out: Path, aid: Path) -> list[str]:
    argv = ["genesis", "new", "--chain-id", "county-fund-2027", "--out", str(out)]
    argv += ["--aid", str(aid)]
    for name, v in _validators():
        argv += ["--validator", f"{name}={v}"]
    return argv


def test_genesis_new_takes_the_ledger_section_and_show_lists_its_organisations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section = _aid_section()
    aid = tmp_path / "aid.json"
    aid.write_text(json.dumps(section, ensure_ascii=False))
    out = tmp_path / "genesis.json"
    assert main(_new_argv(out, aid)) == 0
    capsys.readouterr()
    genesis = load_genesis(out)
    assert genesis.doc["aid"] == section
    assert genesis.aid_admins == {admin for org in section["orgs"] for admin in org["admins"]}
    assert main(["genesis", "show", str(out)]) == 0
    ledger = json.loads(capsys.readouterr().out)["ledger"]
    assert ledger["areas"] == 3
    assert [o["id"] for o in ledger["orgs"]] == ["fin", "office", "bank", "audit"]
    assert ledger["orgs"][1]["enc_key"] == section["orgs"][1]["enc_key"]
    assert ledger["policy"]["notice_period_s"] == 7 * 86_400
    assert ledger["policy"]["governance_quorum"] == 3  # a default, filled in


def test_genesis_show_says_a_chain_has_no_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "g.json"
    build = build_genesis("c", _validators(), {}, 1_700_000_000_000)
    out.write_text(json.dumps(build.doc))
    assert main(["genesis", "show", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["ledger"] is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["orgs"][0].update(area="530102009000"), "is not in aid.areas"),
        (lambda s: s["orgs"][1].update(kind="ministry"), "kind must be one of"),
        (lambda s: s["orgs"][2].update(admins=[]), "admins must be 1.."),
        (lambda s: s.update(extra=1), "must be an object with policy, areas and orgs"),
        # one organisation could grant no role, whatever the quorum
        (lambda s: s.update(orgs=s["orgs"][:1], policy={"governance_quorum": 2}), "at least 2"),
        (lambda s: s.update(policy={"governance_quorum": 5}), "must be 2..4 organisations"),
    ],
)
def test_genesis_new_refuses_a_bad_ledger_section_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict[str, Any]], object],
    message: str,
) -> None:
    section = _aid_section()
    edit(section)
    aid = tmp_path / "aid.json"
    aid.write_text(json.dumps(section))
    out = tmp_path / "genesis.json"
    assert main(_new_argv(out, aid)) == 2
    err = capsys.readouterr().err
    assert "genesis.aid: " in err and message in err
    assert not out.exists()


def test_genesis_new_refuses_an_unreadable_ledger_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aid = tmp_path / "aid.json"
    aid.write_text("{not json")
    assert main(_new_argv(tmp_path / "g.json", aid)) == 2
    assert "cannot read --aid" in capsys.readouterr().err
    aid.write_text("[]")
    assert main(_new_argv(tmp_path / "g.json", aid)) == 2
    assert "must hold a JSON object" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()
