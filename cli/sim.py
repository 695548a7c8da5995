"""``aidchain sim``: run the seeded consensus simulator from the command line.

The simulator itself (consensus/simulator.py) is deterministic and I/O-free; this command adds
what it must not have: the wall clock (seeds per second) and worker processes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from cli.common import EXIT_FAILED, EXIT_OK, UsageError
from consensus.simulator import FAULT_MIXES, SimResult, run_seed

MAX_SEEDS = 10_000_000  # a typo like --seeds 1e12 must fail fast, not run for a year
MAX_JOBS = 64


def _mixes(text: str) -> tuple[str, ...]:
    if text == "all":
        return tuple(FAULT_MIXES)
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in FAULT_MIXES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault mix {unknown or text!r}; choose from: all, {', '.join(FAULT_MIXES)}"
        )
    return names


def _nodes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--nodes must be an integer") from None
    if value < 4 or (value - 1) % 3:
        raise argparse.ArgumentTypeError("--nodes must be 3f+1 with f >= 1 (4, 7, 10, ...)")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer") from None
    if not 0 < value <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be in 1..{MAX_SEEDS}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sim",
        help="run the seeded PBFT simulator (faults, Byzantine nodes, safety/liveness checks)",
    )
    p.add_argument("--seeds", type=_count, default=100, help="how many seeds to run")
    p.add_argument("--first-seed", type=int, default=0, help="first seed number")
    p.add_argument("--nodes", type=_nodes, default=4, help="validators (4, 7, ...)")
    p.add_argument(
        "--faults",
        type=_mixes,
        default=tuple(FAULT_MIXES),
        help="comma-separated fault mixes, or 'all' (default); seed picks one",
    )
    p.add_argument("--seed", type=int, default=None, help="replay exactly this one seed")
    p.add_argument("--trace", action="store_true", help="print a readable event trace")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.set_defaults(func=cmd_sim)


def _run_one(job: tuple[int, int, tuple[str, ...]]) -> SimResult:
    seed, nodes, mixes = job
    return run_seed(seed, nodes, mixes)


def _results(
    seeds: Iterable[int], nodes: int, mixes: tuple[str, ...], jobs: int
) -> Iterator[SimResult]:
    work = [(seed, nodes, mixes) for seed in seeds]
    if jobs <= 1:
        for job in work:
            yield _run_one(job)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(_run_one, work, chunksize=4)


def cmd_sim(args: argparse.Namespace) -> int:
    mixes: tuple[str, ...] = args.faults
    if not 1 <= args.jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be in 1..{MAX_JOBS}")
    if args.seed is not None:
        trace = print if args.trace else None
        result = run_seed(args.seed, args.nodes, mixes, trace=trace)
        print(_line(result))
        return EXIT_OK if result.ok else EXIT_FAILED
    if args.trace:
        raise UsageError("--trace needs --seed N (one seed at a time)")
    start = time.monotonic()
    failures: list[SimResult] = []
    runs = blocks = txs = 0
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for result in _results(seeds, args.nodes, mixes, args.jobs):
        runs += 1
        blocks += result.blocks
        txs += result.txs
        if not result.ok:
            failures.append(result)
            print(_line(result), flush=True)
    elapsed = max(time.monotonic() - start, 1e-9)
    print(
        f"seeds run: {runs} (first {args.first_seed}, nodes {args.nodes}, "
        f"mixes {','.join(mixes)})\n"
        f"failures: {len(failures)}\n"
        f"seeds/second: {runs / elapsed:.1f} ({elapsed:.1f} s)\n"
        f"committed: {blocks} blocks, {txs} transactions"
    )
    if failures:
        print("failing seeds: " + " ".join(str(r.seed) for r in failures))
        print(
            f"replay one with: aidchain sim --nodes {args.nodes} --faults "
            f"{','.join(mixes)} --seed {failures[0].seed} --trace"
        )
        return EXIT_FAILED
    return EXIT_OK


def _line(r: SimResult) -> str:
    status = "ok" if r.ok else "FAIL"
    text = (
        f"seed {r.seed} [{r.mix}, n={r.nodes}] {status}: {r.blocks} blocks, {r.txs} txs, "
        f"max view {r.max_view}, {r.sim_ms} ms simulated, {r.events} events"
    )
    return text if r.ok else f"{text}\n  {r.failure}"
