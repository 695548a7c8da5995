from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.crypto import KeyPair
from cli.main import main
from node.genesis import load_genesis


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
