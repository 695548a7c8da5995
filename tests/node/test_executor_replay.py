"""The executor's speed-ups change nothing: a recorded ledger chain replays byte for byte.

The fixture (``tests/bench/record_chain.py``) is a real 4-node cluster's chain from the ledger
benchmark -- governed role grants, the rules contract deployed, a fund allocated, households
registered and reviewed, cycles created, filled by the rules contract, submitted, approved and
batched, payments reported, and plain transfers. Every block must give the receipts and the
state root that chain recorded.

It was recorded again when sealed personal data became an envelope (aid/sealed.py): the
ledger refuses the old shape, so the chain recorded before that (at 478c763, before the block
overlay cached committed reads, which it showed changed nothing) no longer replays. Any change
of a receipt or a root is a change of the ledger's behaviour and must be just as deliberate.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from chain.block import CommitCertificate
from chain.wire import block_from_wire
from node.executor import Executor
from node.genesis import validate_genesis
from storage.chainstore import ChainStore

FIXTURE = Path(__file__).parent / "data" / "ledger_chain_envelope.json.gz"


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return dict(json.loads(gzip.decompress(FIXTURE.read_bytes())))


def test_the_recorded_chain_exercises_the_ledger(recorded: dict[str, Any]) -> None:
    actions = {
        json.loads(tx)["payload"].get("action")
        for b in recorded["blocks"]
        for tx in b["block"]["txs"]
    }
    assert {"household.apply", "cycle.add", "cycle.approve", "payment.report"} <= actions


def test_every_block_replays_to_the_recorded_receipts_and_state_root(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    raw = recorded["genesis"]
    genesis = validate_genesis(raw)
    store = ChainStore.open(tmp_path / "db")
    try:
        store.init_genesis(raw, genesis.aid_records)
        executor = Executor(store)
        for entry in recorded["blocks"]:
            block = block_from_wire(entry["block"])
            result = executor.execute(block)
            assert result.receipts == entry["receipts"], f"block {block.height}"
            assert result.state_root == entry["state_root"], f"block {block.height}"
            store.commit_block(block, CommitCertificate(block.height, block.hash, 0, ()), result)
    finally:
        store.close()
