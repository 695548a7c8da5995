"""The LevelDB directory and its files are private to the node's user (0700 / 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storage.db import Database, make_private_dir, make_private_tree
from storage.errors import ChainStoreError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_is_created_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = Database(tmp_path / "data" / "chain.db")
        db.close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "chain.db") == 0o700
    files = list((tmp_path / "data" / "chain.db").iterdir())
    assert files and all(_mode(f) == 0o600 for f in files), {f.name: oct(_mode(f)) for f in files}


def test_existing_wide_modes_are_tightened(tmp_path: Path) -> None:
    db = Database(tmp_path / "chain.db")
    db.close()
    root = tmp_path / "chain.db"
    for p in [root, *root.iterdir()]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    Database(root).close()
    assert _mode(root) == 0o700
    assert all(_mode(f) & 0o077 == 0 for f in root.iterdir())


def test_private_dir_keeps_narrower_modes_and_creates_parents(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir(mode=0o500)
    make_private_dir(tmp_path / "ro")
    assert _mode(tmp_path / "ro") == 0o500
    make_private_tree(tmp_path / "a" / "b")
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700


@pytest.mark.skipif(os.geteuid() == 0, reason="root may chmod anything")
def test_a_dir_that_cannot_be_tightened_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ChainStoreError, match="0700"):
        make_private_dir(Path("/tmp"))
