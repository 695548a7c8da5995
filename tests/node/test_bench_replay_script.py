"""tests/bench/bench_replay.py runs: CI runs no benchmark script, so a rename they miss (as
``Mempool.ready`` once was) would otherwise surface only when someone measures."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from chain.block import CommitCertificate
from chain.wire import block_from_wire
from node.executor import Executor
from node.genesis import validate_genesis
from storage.chainstore import ChainStore
from tests.bench import bench_replay

FIXTURE = Path(__file__).parent / "data" / "ledger_chain_envelope.json.gz"


@pytest.fixture(scope="module")
def recorded_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """(genesis.json, store, head) of the recorded ledger chain, committed as a node keeps it."""
    recorded = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    root = tmp_path_factory.mktemp("recorded")
    genesis_path = root / "genesis.json"
    genesis_path.write_text(json.dumps(recorded["genesis"]))
    store = ChainStore.open(root / "chain.db")
    try:
        store.init_genesis(recorded["genesis"], validate_genesis(recorded["genesis"]).aid_records)
        executor = Executor(store)
        for entry in recorded["blocks"]:
            block = block_from_wire(entry["block"])
            result = executor.execute(block)
            store.commit_block(block, CommitCertificate(block.height, block.hash, 0, ()), result)
        head = store.height
    finally:
        store.close()
    return genesis_path, root / "chain.db", head


def _run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["bench_replay.py", *argv])
    bench_replay.main()


def test_replay_times_only_the_blocks_from_the_given_height(
    recorded_store: tuple[Path, Path, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    genesis, store, head = recorded_store
    _run(monkeypatch, str(genesis), str(store), "--from", "20")
    out = capsys.readouterr().out
    assert f"replayed {head} blocks: receipts and state roots identical" in out
    assert "read side (statistics counters and index) identical" in out
    assert f"heights 20-{head}, per tx (thread CPU): execute " in out
    _run(monkeypatch, str(genesis), str(store))
    assert "whole chain, per tx (thread CPU): execute " in capsys.readouterr().out


def test_replay_refuses_a_height_past_the_head(
    recorded_store: tuple[Path, Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    genesis, store, head = recorded_store
    with pytest.raises(SystemExit):
        _run(monkeypatch, str(genesis), str(store), "--from", str(head + 1))


def test_replay_says_so_when_the_timed_blocks_hold_no_transaction(
    recorded_store: tuple[Path, Path, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    genesis, store, head = recorded_store  # the recorded chain ends with an empty block
    _run(monkeypatch, str(genesis), str(store), "--from", str(head))
    assert f"heights {head}-{head}: no transactions to time" in capsys.readouterr().out


def test_replay_splits_execution_into_its_steps_and_puts_the_executor_back(
    recorded_store: tuple[Path, Path, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    genesis, store, _head = recorded_store
    aid_before = Executor.__dict__["_aid"]
    _run(monkeypatch, str(genesis), str(store), "--phases")
    out = capsys.readouterr().out
    table = out.split("execute, step by step (thread CPU, us per tx):\n")[1]
    table = table.split("slowest block")[0]
    steps = {
        line.rsplit(None, 1)[0].strip(): float(line.rsplit(None, 1)[1])
        for line in table.splitlines()
    }
    assert set(steps) == {label.strip() for label, *_ in bench_replay.PHASES} | {
        "the rest (nonces, touches)"
    }
    assert steps["ledger actions"] > 0 and steps["state root"] > 0  # the ledger chain is timed
    assert 0 < steps["of which statistics"] <= steps["read side"]
    assert Executor.__dict__["_aid"] is aid_before  # the clock's wrappers are gone again
