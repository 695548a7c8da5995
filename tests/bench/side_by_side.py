"""Compare a node's CPU per transaction between an older commit and this tree, at the same time.

    .venv/bin/python tests/bench/side_by_side.py 306721c [--pairs 5] [--rate 300] [--txs 8000]

On a shared machine the same code runs 10-15 % faster or slower from one hour to the next, more
than most changes are worth, so running old and new one after the other compares the hours,
not the code. This runs them side by side instead: the commit checked out in a temporary git
worktree and this tree, each as its own 4-node cluster on loopback with its own
``aidchain bench``, started together so both see the same machine. Each pair swaps which
cluster starts first. Pick ``--rate`` so that the two together roughly fill the machine: the
absolute microseconds are inflated by sharing it, the ratio between the two is the figure.

Prints each pair's "node CPU" line of both benches and the means.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

HERE = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CPU_LINE = re.compile(r"node CPU\s+(\d+) us per committed tx per node: execution (\d+)")
THROUGHPUT_LINE = re.compile(r"throughput\s+(\d+) committed tx/s")


def parse_bench(text: str) -> tuple[int, int, int]:
    """(tx/s, node CPU us per tx, execution us per tx) from ``aidchain bench`` output."""
    cpu, rate = CPU_LINE.search(text), THROUGHPUT_LINE.search(text)
    if cpu is None or rate is None:
        raise ValueError(f"no throughput / node CPU line in the bench output:\n{text}")
    return int(rate.group(1)), int(cpu.group(1)), int(cpu.group(2))


def _cli(tree: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    """``aidchain ARGS`` running ``tree``'s code (PYTHONPATH puts it before the install)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen([PYTHON, "-m", "cli", *args], cwd=tree, env=env, text=True, **popen)


class _Cluster:
    """One 4-node cluster of ``tree``'s code in ``folder``, stopped with SIGINT (always)."""

    def __init__(self, tree: Path, folder: Path) -> None:
        self.tree, self.folder = tree, folder
        init = _cli(
            tree,
            "cluster",
            "init",
            "--dir",
            str(folder),
            "--base-port",
            "0",
            stdout=subprocess.DEVNULL,
        )
        if init.wait() != 0:
            raise RuntimeError(f"cluster init failed for {tree}")
        self.up = _cli(
            tree,
            "cluster",
            "up",
            "--dir",
            str(folder),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def bench(self, txs: int, rate: int) -> subprocess.Popen[str]:
        return _cli(
            self.tree,
            "bench",
            "--dir",
            str(self.folder),
            "--workload",
            "ledger",
            "--txs",
            str(txs),
            "--rate",
            str(rate),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.up.poll() is None:
            os.killpg(self.up.pid, signal.SIGINT)
            try:
                self.up.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.up.pid, signal.SIGKILL)
                self.up.wait()


def one_pair(trees: dict[str, Path], order: list[str], txs: int, rate: int) -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as scratch:
        clusters: dict[str, _Cluster] = {}
        try:
            for name in order:
                clusters[name] = _Cluster(trees[name], Path(scratch) / name)
            time.sleep(6)  # the nodes connect to each other
            benches = {name: clusters[name].bench(txs, rate) for name in order}
            return {name: proc.communicate()[0] for name, proc in benches.items()}
        finally:
            for cluster in clusters.values():
                cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ref", help="the older commit (anything git rev-parse takes)")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=300, help="offered tx/s of EACH bench")
    parser.add_argument("--txs", type=int, default=8000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(
        prefix="side-by-side-tree-", ignore_cleanup_errors=True
    ) as old_tree:
        subprocess.run(
            ["git", "worktree", "add", "--detach", old_tree, args.ref],
            cwd=HERE,
            check=True,
            capture_output=True,
        )
        try:
            trees = {args.ref: Path(old_tree), "this tree": HERE}
            rows: dict[str, list[tuple[int, int, int]]] = {name: [] for name in trees}
            for i in range(args.pairs):
                order = list(trees) if i % 2 == 0 else list(reversed(trees))
                outputs = one_pair(trees, order, args.txs, args.rate)
                for name, text in outputs.items():
                    rows[name].append(parse_bench(text))
                shown = "; ".join(
                    f"{n}: {rows[n][-1][1]} us (exec {rows[n][-1][2]})" for n in trees
                )
                print(f"pair {i + 1}: {shown}", flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", old_tree], cwd=HERE, check=False
            )
    for name, got in rows.items():
        print(
            f"{name:>12}: node CPU mean {mean(r[1] for r in got):.0f} us per tx per node, "
            f"execution {mean(r[2] for r in got):.0f} us, {mean(r[0] for r in got):.0f} tx/s"
        )
    old, new = (mean(r[1] for r in rows[n]) for n in trees)
    print(f"this tree vs {args.ref}: {100 * (new - old) / old:+.1f} % node CPU per tx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
