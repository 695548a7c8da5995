"""Replay a recorded chain in process: execution time per action, and byte-identical results.

    .venv/bin/python tests/bench/bench_replay.py CLUSTER/genesis.json CLUSTER/node0/data/chain.db \
        [--from HEIGHT] [--phases] [--profile 30]

Copies nothing: opens the node's store read-only in spirit (it only reads blocks), initialises a
fresh store from the same genesis in a temporary directory and executes every block again with
the current ``node.executor``, checking each block's receipts and the state root (the next
header's ``state_root``) against the recorded chain. A chain recorded by ``aidchain bench
--workload ledger`` before an executor change is the guard that the change keeps results
byte-identical; the per-transaction figures are what the intrinsic gas in ``chain/limits.py``
was calibrated from. ``--profile N`` prints the N most expensive functions (cProfile).

``--from HEIGHT`` times only the blocks from HEIGHT on (all are still replayed and checked):
``aidchain bench`` prints the heights its measured transactions landed in, and the set-up's
blocks before them hold cheaper actions, so a whole-chain average understates what the
measured blocks cost. Execute and commit are timed as this thread's CPU, as the bench's node
CPU line times them in the daemon, so the two figures compare directly.

``--phases`` splits the timed blocks' execution into its steps, as thread CPU: the ledger's
actions, the deadline sweep, the state root, the read side (with its statistics counters) and
the receipts root. A sampling profiler attached to a loaded node does not give this split
reliably on a machine with more runnable threads than cores: it samples wall time, so a thread
that waits for a core is charged to whatever line it stopped on.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from chain.block import Block
from chain.gas import intrinsic_gas
from chain.wire import tx_from_wire, tx_to_wire
from node import executor as executor_module
from node.executor import BlockState, Executor
from node.genesis import validate_genesis
from storage.chainstore import ChainStore
from storage.db import P_INDEX, P_STATS


def _kind(tx_type: str, payload: dict[str, object]) -> str:
    return f"aid {payload['action']}" if tx_type == "aid" else tx_type


def _time_each(block: Block, overlay: BlockState, by_kind: dict[str, list[float]]) -> None:
    """Each transaction's own execution time, on a scratch overlay of the block (not kept)."""
    for tx in block.txs:
        start = time.perf_counter()
        if tx.type == "aid":
            Executor._aid(overlay, block, tx)
        elif tx.type == "transfer":
            Executor._transfer(overlay, tx)
        else:
            continue
        row = by_kind[_kind(tx.type, tx.payload)]
        row[0] += 1
        row[1] += time.perf_counter() - start
        row[2] += intrinsic_gas(tx) + tx.gas_limit


# (label, owner, attribute, is a staticmethod): the steps of ``Executor.execute``, in its order
PHASES: tuple[tuple[str, Any, str, bool], ...] = (
    ("ledger actions", Executor, "_aid", True),
    ("deadline sweep", Executor, "_end_block", True),
    ("state root", executor_module, "state_root_and_bytes", False),
    ("read side", Executor, "_read_side", False),
    ("  of which statistics", Executor, "_stats", False),
    ("receipts root", executor_module, "receipts_root_of_bytes", False),
)


class PhaseClock:
    """Thread CPU per step of ``Executor.execute``, counted only while ``on`` is set."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.on = False

    def _timed(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return fn(*args, **kwargs)
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.thread_time() - start

        return timed

    @contextmanager
    def installed(self) -> Iterator[PhaseClock]:
        with ExitStack() as stack:
            for label, owner, name, static in PHASES:
                wrapped = self._timed(label, getattr(owner, name))
                new = staticmethod(wrapped) if static else wrapped
                stack.enter_context(mock.patch.object(owner, name, new))
            yield self


def _same_read_side(src: ChainStore, dst: ChainStore) -> None:
    """The counters and the index are outside the state root: compare them table by table."""
    for prefix in (P_STATS, P_INDEX):
        recorded = list(src._db.iterate(prefix))
        replayed = list(dst._db.iterate(prefix))
        assert recorded == replayed, f"read-side table {prefix!r} differs from the recorded one"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("genesis", type=Path, help="the chain's genesis.json")
    parser.add_argument("data", type=Path, help="a node's LevelDB store (DATA_DIR/chain.db)")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--upto", type=int, default=0, help="last height to replay (0 = head)")
    parser.add_argument(
        "--from", dest="first", type=int, default=1, help="first height to time (default 1)"
    )
    parser.add_argument(
        "--phases", action="store_true", help="split execution into its steps (thread CPU)"
    )
    args = parser.parse_args()

    src = ChainStore.open(args.data)
    raw = json.loads(args.genesis.read_text())
    # a chain recorded before intrinsic gas has a smaller block gas limit than today's minimum;
    # execution does not look at it, so validate without it and replay the recorded genesis
    genesis = validate_genesis({k: v for k, v in raw.items() if k != "block_gas_limit"})
    top = args.upto or src.height
    if not 1 <= args.first <= top:
        parser.error(f"--from must be a height in 1..{top}")
    by_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # n, seconds, gas
    slowest = (0.0, 0, 0)
    execute_s = commit_s = admit_s = 0.0
    txs = 0
    profiler = cProfile.Profile() if args.profile else None
    clock = PhaseClock()
    with ExitStack() as phases, tempfile.TemporaryDirectory() as tmp:
        if args.phases:
            phases.enter_context(clock.installed())
        dst = ChainStore.open(Path(tmp) / "db")
        dst.init_genesis(raw, genesis.aid_records)
        executor = Executor(dst)
        for height in range(1, top + 1):
            recorded = src.get_block_and_receipts(height)
            assert recorded is not None, f"block {height} missing"
            block, receipts = recorded
            cert = src.get_certificate(height)
            assert cert is not None
            timed = height >= args.first
            if timed:
                _time_each(block, BlockState(dst), by_kind)
            start = time.thread_time()
            if profiler and timed:
                profiler.enable()
            clock.on = timed
            result = executor.execute(block)
            clock.on = False
            if profiler:
                profiler.disable()
            seconds = time.thread_time() - start
            start = time.thread_time()
            dst.commit_block(block, cert, result)
            if timed:
                commit_s += time.thread_time() - start
                execute_s += seconds
                start = time.thread_time()
                for tx in block.txs:  # what admission costs every node: decode, check, verify
                    assert tx_from_wire(tx_to_wire(tx)).verify_signature()
                admit_s += time.thread_time() - start
                txs += len(block.txs)
            assert result.receipts == receipts, f"block {height}: receipts differ"
            following = src.get_header(height + 1)
            if following is not None:
                assert following.state_root == result.state_root, f"block {height}: state root"
            if block.txs and timed:
                slowest = max(slowest, (seconds, height, len(block.txs)))
        if top == src.height:
            _same_read_side(src, dst)
        dst.close()
    src.close()
    print(f"replayed {top} blocks: receipts and state roots identical to the recorded chain")
    if top == src.height:
        print("read side (statistics counters and index) identical to the recorded chain's")
    span = "whole chain" if args.first <= 1 else f"heights {args.first}-{top}"
    if not txs:
        print(f"{span}: no transactions to time")
        return
    print(
        f"{span}, per tx (thread CPU): execute {execute_s / txs * 1e6:.0f} us, commit "
        f"{commit_s / txs * 1e6:.0f} us, wire decode + signature {admit_s / txs * 1e6:.0f} us"
    )
    if args.phases:
        print("execute, step by step (thread CPU, us per tx):")
        for label, *_ in PHASES:
            print(f"  {label:28s} {clock.seconds[label] / txs * 1e6:8.1f}")
        # nested steps (indented labels) are already inside their parent's time
        rest = execute_s - sum(clock.seconds[label] for label, *_ in PHASES if label[0] != " ")
        print(f"  {'the rest (nonces, touches)':28s} {rest / txs * 1e6:8.1f}")
    print(f"slowest block: {slowest[0] * 1000:.0f} ms (height {slowest[1]}, {slowest[2]} txs)")
    print("per transaction:           txs   us/tx (execute)   block gas/tx")
    for kind, (n, seconds, gas) in sorted(by_kind.items()):
        print(f"  {kind:24s} {int(n):6d} {seconds / n * 1e6:10.0f} {gas / n:16.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
