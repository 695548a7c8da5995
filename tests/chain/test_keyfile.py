from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from chain.crypto import KeyPair
from chain.errors import KeyFileError
from chain.keyfile import load_key, save_key


def test_save_creates_0600_and_roundtrips(tmp_path: Path) -> None:
    key = KeyPair.generate()
    path = tmp_path / "k" / "node.key"
    save_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    obj = json.loads(path.read_text())
    assert obj == {"public_key": key.public_hex, "secret_key": key.seed_hex}
    assert load_key(path).public_hex == key.public_hex


def test_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    save_key(path, KeyPair.generate())
    with pytest.raises(KeyFileError):
        save_key(path, KeyPair.generate())
    save_key(path, KeyPair.generate(), overwrite=True)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_refuses_group_or_world_readable(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "node.key"
    save_key(path, KeyPair.generate())
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_key(path)


@pytest.mark.parametrize(
    "content",
    ["not json", "{}", '{"public_key": "00", "secret_key": "zz"}', "[]"],
)
def test_refuses_malformed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "node.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError):
        load_key(path)


def test_refuses_mismatched_public_key(tmp_path: Path) -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    path = tmp_path / "node.key"
    path.write_text(json.dumps({"public_key": b.public_hex, "secret_key": a.seed_hex}))
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="does not match"):
        load_key(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        load_key(tmp_path / "nope.key")
