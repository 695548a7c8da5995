"""State values are read with msgspec's decoder: the same values json.loads gives, or an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from chain.encoding import canonical
from storage.db import P_STATE, Database
from storage.errors import ChainStoreError
from storage.state import put_writes, read_state
from tests.chain.test_encoding import wide_values


def _typed(value: Any) -> Any:
    """The value with each scalar's type beside it: 1 and True compare equal, but must not mix."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    database = Database(Path(tmp_path_factory.mktemp("state")) / "db")
    yield database
    database.close()


@settings(max_examples=500)
@given(wide_values)
def test_a_stored_value_reads_back_as_json_loads_reads_it(db: Database, value: Any) -> None:
    batch = db.batch()
    put_writes(batch, {"k/v": value})
    batch.write()
    got = read_state(db, "k/v")
    assert _typed(got) == _typed(json.loads(canonical(value))) == _typed(value)


def test_a_corrupt_value_is_a_store_error(db: Database) -> None:
    batch = db.batch()
    batch.put(P_STATE + b"k/bad", b'{"a":')
    batch.write()
    with pytest.raises(ChainStoreError, match="corrupt state value at 'k/bad'"):
        read_state(db, "k/bad")
