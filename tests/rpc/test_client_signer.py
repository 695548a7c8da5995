"""The SDK reads key files as the node does, and predicts ledger ids as the ledger makes them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from aid.context import Context
from chain.crypto import KeyPair
from chain.errors import KeyFileError
from chain.keyfile import load_key, save_key
from chain.tx import tx_verified_from_dict
from rpc.client import Signer, new_id, read_key_file


def test_a_key_file_the_node_writes_is_read_the_same(tmp_path: Path) -> None:
    key = KeyPair.generate()
    save_key(tmp_path / "bank.key", key)
    signer = Signer.from_key_file(tmp_path / "bank.key")
    assert signer.address == key.public_hex == load_key(tmp_path / "bank.key").public_hex
    tx = signer.sign("c", 3, "aid", {"action": "payment.report", "args": {}})
    assert tx_verified_from_dict(tx.to_dict()).sender == key.public_hex


def _variants(tmp_path: Path) -> list[Path]:
    key, other = KeyPair.generate(), KeyPair.generate()
    cases = {
        "readable": ({"public_key": key.public_hex, "secret_key": key.seed_hex}, 0o644),
        "mismatch": ({"public_key": other.public_hex, "secret_key": key.seed_hex}, 0o600),
        "missing": ({"public_key": key.public_hex}, 0o600),
        "not_hex": ({"public_key": key.public_hex, "secret_key": "zz" * 32}, 0o600),
        "ok": ({"public_key": key.public_hex, "secret_key": key.seed_hex}, 0o600),
    }
    paths = []
    for name, (body, mode) in cases.items():
        path = tmp_path / f"{name}.key"
        path.write_text(json.dumps(body))
        os.chmod(path, mode)
        paths.append(path)
    (tmp_path / "garbage.key").write_text("{not json")
    os.chmod(tmp_path / "garbage.key", 0o600)
    return [*paths, tmp_path / "garbage.key", tmp_path / "absent.key"]


def test_the_same_verdicts_as_the_nodes_reader(tmp_path: Path) -> None:
    for path in _variants(tmp_path):
        for check in (True, False):
            try:
                expected = load_key(path, check_permissions=check).public_hex
            except KeyFileError:
                with pytest.raises(KeyFileError):
                    read_key_file(path, check_permissions=check)
                continue
            assert read_key_file(path, check_permissions=check).public_hex == expected, path


def test_ids_are_predicted_as_the_ledger_derives_them() -> None:
    tx_hash = "ab" * 32
    for kind, n in (("batch", 0), ("household", 0), ("proposal", 2)):
        assert new_id(tx_hash, kind, n) == Context("", 0, 0, tx_hash).new_id(kind, n)
