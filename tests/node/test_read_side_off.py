"""``[node] read_side = false``: no ledger index or statistics, reads refused, no stale revival."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.config import parse_config
from node.executor import Executor
from node.genesis import validate_genesis
from node.reindex import reindex
from node.statsapi import StatsRpc
from rpc.errors import error_object
from storage.chainstore import ChainStore
from storage.errors import ChainStoreError, ReadSideOff
from tests.aid.helpers import VILLAGE
from tests.node.test_aidapi import Api, apply_household
from tests.node.test_executor_aid import (
    CLERK,
    Signer,
    commit,
    genesis,
    grant_txs,
    new_id,
    next_block,
    open_store,
)


def _load(store: ChainStore, read_side: bool) -> tuple[Executor, list[str]]:
    """Grants and three registrations, committed by an executor keeping the read side or not."""
    executor = Executor(store, read_side=read_side)
    sign = Signer()
    commit(
        store, grant_txs(sign, CLERK, "village_registrar", VILLAGE, "village"), executor=executor
    )
    applies = [apply_household(sign, n) for n in range(3)]
    commit(store, applies, executor=executor)
    return executor, [new_id(t, "household") for t in applies]


def test_same_state_without_index_or_counters(tmp_path: Path) -> None:
    kept, off = open_store(tmp_path / "kept"), open_store(tmp_path / "off")
    off.keep_read_side(False)
    try:
        _load(kept, True)
        _load(off, False)
        assert off.state_root == kept.state_root and off.head_hash == kept.head_hash
        with kept.read_view() as view:
            assert view.scan("", None, 10) and view.stats_scan("c|", None, 10)
        with off.read_view() as view, pytest.raises(ReadSideOff):
            view.scan("", None, 10)
    finally:
        kept.close()
        off.close()


async def test_reads_are_refused_with_a_reason_and_code(tmp_path: Path) -> None:
    store = open_store(tmp_path / "db")
    store.keep_read_side(False)
    try:
        _, households = _load(store, False)
        api = Api(store, validate_genesis(genesis()))
        grants = await api.aid_get("grants", CLERK.public_hex)
        assert grants is not None  # state reads still work
        stats = StatsRpc()
        stats._stats_setup(store, api.runner)
        reads = (
            lambda: api.aid_list("household", {"area": VILLAGE}, None, None),
            lambda: api.aid_trace("household", households[0]),
            lambda: stats.aid_report("overview", VILLAGE, None),
        )
        for read in reads:
            with pytest.raises(ReadSideOff) as info:
                await read()
            err = error_object(info.value)
            assert err["code"] == -32032 and err["data"]["reason"] == "read_side_off"
            assert "read_side = false" in err["message"]
    finally:
        store.close()


def test_turning_it_back_on_needs_a_reindex(tmp_path: Path) -> None:
    (tmp_path / "genesis.json").write_text(json.dumps(genesis()))
    cfg = parse_config({"node": {"genesis": "genesis.json"}}, tmp_path / "node.toml")
    path = cfg.data_dir / "chain.db"
    cfg.data_dir.mkdir()
    store = open_store(path)
    store.keep_read_side(False)
    _load(store, False)
    store.close()
    store = ChainStore.open(path)  # the record survives a restart
    assert not store.read_side
    with pytest.raises(ChainStoreError, match="node reindex"):
        store.keep_read_side(True)
    store.close()
    reindex(cfg)
    store = ChainStore.open(path)
    try:
        store.keep_read_side(True)
        assert store.read_side
        with store.read_view() as view:
            assert len(view.scan("household/area/", None, 10)) == 3
    finally:
        store.close()


def test_config_key_is_a_boolean(tmp_path: Path) -> None:
    base = {"node": {"genesis": "g.json"}}
    assert parse_config(base, tmp_path / "node.toml").read_side is True
    off = {"node": {"genesis": "g.json", "read_side": False}}
    assert parse_config(off, tmp_path / "node.toml").read_side is False
    with pytest.raises(Exception, match="read_side must be true or false"):
        parse_config({"node": {"genesis": "g.json", "read_side": "no"}}, tmp_path / "n.toml")


def test_a_counter_that_would_go_negative_stops_the_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored counters behind the state (a read side that does not match its chain) are an
    impossible state: the executor raises, naming the counter, rather than store a negative."""
    store = open_store(tmp_path / "db")
    try:
        executor, _ = _load(store, True)
        sign = Signer()
        sign.nonces[CLERK.public_hex] = 3  # the grants used none of the clerk's; three applies
        real = store.get_stats
        monkeypatch.setattr(store, "get_stats", lambda keys: [-(10**9)] * len(real(keys)))
        with pytest.raises(AssertionError, match=r"statistics counter c\|.* would be -\d+: run"):
            executor.execute(next_block(store, [apply_household(sign, 3)]))
    finally:
        store.close()
