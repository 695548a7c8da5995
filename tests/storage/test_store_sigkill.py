"""SIGKILL a process that is committing blocks; after reopen the store is at a whole block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chain.statekeys import account_key
from storage.chainstore import ChainStore

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import dataclass
    from chain.block import Block, BlockHeader, CommitCertificate, EMPTY_ROOT, tx_root
    from chain.crypto import KeyPair
    from chain.statekeys import account_key
    from chain.tx import make_transfer
    from storage.chainstore import ChainStore
    from storage.index import IndexChanges
    from storage.stats import NO_STATS_CHANGES, StatsChanges

    @dataclass(frozen=True)
    class Result:
        writes: dict
        receipts: list
        state_root: str
        receipts_root: str
        index: IndexChanges
        stats: StatsChanges = NO_STATS_CHANGES
        end_block_events: tuple = ()
        write_bytes: None = None
        receipt_bytes: None = None

    alice = KeyPair.from_seed(b"a" * 32)
    store = ChainStore.open(sys.argv[1])
    store.init_genesis({"chain_id": "crash", "time": 1, "accounts": {alice.public_hex: 10**9},
                        "validators": [{"id": alice.public_hex, "name": "v"}]})
    while True:
        h = store.height + 1
        txs = tuple(make_transfer(alice, "crash", (h - 1) * 50 + i, "ee" * 32, 1) for i in range(50))
        header = BlockHeader(h, store.head_hash, tx_root(txs), len(txs),
                             store.state_root, store.receipts_root, h, alice.public_hex, 0)
        block = Block(header, txs)
        writes = {"n/counter": h, f"n/{h}": h,
                  account_key(alice.public_hex): {"balance": 10**9 - 50 * h, "nonce": 50 * h}}
        receipts = [{"ok": True, "error": None, "events": []}] * len(txs)
        # the read-side index follows the state: one "at" key for the current counter
        index = IndexChanges((f"n/at/{h - 1:06d}",), ((f"n/at/{h:06d}", None), (f"n/h/{h:06d}", h)))
        store.commit_block(block, CommitCertificate(h, block.hash, 0, ()),
                           Result(writes, receipts, f"{h:064x}", EMPTY_ROOT, index))
        print(h, flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_commit_loses_no_committed_block(tmp_path: Path) -> None:
    path = tmp_path / "db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        cwd=REPO,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    reported = 0
    try:
        for line in proc.stdout:
            reported = int(line)
            if reported >= 15:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert reported >= 15, "writer died before committing blocks"
    store = ChainStore.open(path)
    try:
        h = store.height
        assert h >= reported  # every block the writer saw committed survived
        assert store.get_state("n/counter") == h
        assert store.state_root == f"{h:064x}"
        assert store.get_state(f"n/{h + 1}") is None  # nothing of a half-written next block
        assert store.get_header(h + 1) is None
        with store.read_view() as view:  # the index is exactly as current as the state
            assert view.scan("n/at/", None, 10) == [(f"n/at/{h:06d}", None)]
            assert [v for _, v in view.scan("n/h/", None, 1_000)] == list(range(1, h + 1))
        alice = store.get_genesis()["validators"][0]["id"]  # type: ignore[index]
        assert store.get_state(account_key(alice)) == {"balance": 10**9 - 50 * h, "nonce": 50 * h}
        for height in range(1, h + 1):
            block = store.get_block(height)
            assert block is not None and len(block.txs) == 50
            assert store.get_certificate(height) is not None
            assert store.get_state(f"n/{height}") == height
            assert store.get_tx(block.txs[-1].hash) == (block.txs[-1], height, 49)
    finally:
        store.close()
