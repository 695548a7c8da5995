"""The node's status line: one INFO line every ``[node] status_log_s`` seconds.

A node that commits nothing for an hour and a node that was never started look the same in a
quiet log. Operators reading ``node.log`` (or journald) see from this line that the node is
alive and moving: height and what committed since the last line, view and primary, connected
peers, pool size, and whether it is catching up. Figures only; nothing personal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    """What the node had committed at one moment (monotonic seconds)."""

    height: int
    txs: int
    at_s: float


@dataclass(frozen=True, slots=True)
class Condition:
    """The node's situation besides its progress."""

    view: int
    primary: str
    peers: int
    validators: int
    mempool: int
    syncing: bool


def status_line(before: Progress, now: Progress, condition: Condition) -> tuple[int, str]:
    """The log level and text of the line, e.g. ``status: height 154 (+86 blocks, +12000 txs
    in 60 s), view 0, primary 1a2b3c4d5e6f, peers 3/3, mempool 0``.

    WARNING when transactions waited the whole interval and no block committed: view changes
    replace a silent primary within seconds, so that is a cluster without a quorum (or a node
    cut off from it), which an operator must hear about. An idle chain is not: with nothing in
    the pool there is nothing to commit.
    """
    seconds = max(now.at_s - before.at_s, 0.0)
    stuck = now.height == before.height and condition.mempool > 0
    text = (
        f"status: height {now.height} (+{now.height - before.height} blocks, "
        f"+{now.txs - before.txs} txs in {seconds:.0f} s), view {condition.view}, "
        f"primary {condition.primary[:12]}, peers {condition.peers}/{condition.validators - 1}, "
        f"mempool {condition.mempool}"
    )
    if condition.syncing:
        text += ", catching up"
    if stuck:
        text += ": transactions wait and no block committed (is a quorum of validators up?)"
    return (logging.WARNING if stuck else logging.INFO), text
