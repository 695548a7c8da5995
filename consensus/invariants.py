"""Broken internal invariants: an assertion that stops the node, never a log line.

Two kinds of failure must not be confused. Bad input from outside (a malformed, forged, stale or
oversized message) is refused and counted where it arrives and changes nothing. A broken
*internal* invariant -- the replica about to sign two different votes for one slot, to hand out a
block without a certificate, or to adopt a block that does not chain -- means the node's own state
is wrong; going on would spread the damage (TigerBeetle and CometBFT stop, raft panics). So
``invariant`` raises ``InvariantViolation`` after logging it CRITICAL with the invariant's name
and the state that broke it; the daemon's supervisor turns the escaping exception into a non-zero
exit (``node/supervise.py``) and the simulator into a failing seed.

It is an ``AssertionError`` so nothing that handles bad input (``AidchainError``) swallows it,
but it is raised explicitly, so ``python -O`` does not strip it.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# The protocol's invariants, each named once (the name is what the CRITICAL line and tests show).
ONE_VOTE_PER_SLOT = "one prepared block per view and height"
COMMIT_NEEDS_CERTIFICATE = "commits only with a certificate"
JOURNALED_BEFORE_SENT = "journaled before sent"
CHECKPOINT_NOT_ABOVE_COMMITTED = "checkpoint <= committed height"
PARENT_HASH_CHAINS = "the parent hash chains"
APPLIED_IN_ORDER = "blocks are applied in height order"

MAX_STATE_VALUE_CHARS = 80  # one state value in the message (hashes stay readable)


class InvariantViolation(AssertionError):
    """The replica's own state broke ``invariant``; ``state`` holds the values that broke it."""

    def __init__(self, invariant: str, state: dict[str, Any]) -> None:
        self.invariant = invariant
        self.state = state
        shown = ", ".join(f"{k}={_short(v)}" for k, v in state.items())
        super().__init__(f"invariant broken: {invariant} [{shown}]")


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) > MAX_STATE_VALUE_CHARS:
        return text[: MAX_STATE_VALUE_CHARS - 3] + "..."
    return text


def invariant(holds: bool, name: str, **state: Any) -> None:
    """Stop here, loudly, unless ``holds``: log CRITICAL and raise ``InvariantViolation``."""
    if holds:
        return
    exc = InvariantViolation(name, state)
    log.critical("%s; stopping", exc)
    raise exc
