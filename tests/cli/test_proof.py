"""``aidchain verify``: exit 0 with what was proven, 1 with the failed check, 2 for bad files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from cli.main import main
from tests.chain.test_proof import GENESIS, PROOF


@pytest.fixture
def genesis_file(tmp_path: Path) -> Path:
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(GENESIS), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_valid_proof_prints_what_it_proves(
    tmp_path: Path, genesis_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(PROOF), encoding="utf-8")
    code, out, _ = run(capsys, "verify", str(proof), "--genesis", str(genesis_file))
    assert code == 0
    shown = json.loads(out)
    assert shown["verified"] is True
    assert (shown["tx_hash"], shown["height"], shown["index"]) == (PROOF["tx_hash"], 5, 1)
    assert (shown["receipt_ok"], shown["receipt_error"]) == (False, "refused")


def test_a_tampered_proof_exits_1_naming_the_mismatch(
    tmp_path: Path, genesis_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = copy.deepcopy(PROOF)
    doc["receipt"]["ok"] = True
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = run(capsys, "verify", str(proof), "--genesis", str(genesis_file))
    assert (code, out) == (1, "")
    assert "does NOT verify (receipt_path)" in err and "receipts_root" in err


def test_unreadable_files(
    tmp_path: Path, genesis_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "verify", str(tmp_path / "none.json"), "--genesis", str(genesis_file)
    )
    assert code == 2 and "cannot read" in err
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(PROOF), encoding="utf-8")
    code, _, err = run(capsys, "verify", str(proof), "--genesis", str(tmp_path / "none.json"))
    assert code == 2 and "genesis" in err
    proof.write_text('{"version": 1.0}', encoding="utf-8")
    code, _, err = run(capsys, "verify", str(proof), "--genesis", str(genesis_file))
    assert code == 1 and "malformed" in err
