from __future__ import annotations

import json
from pathlib import Path

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
