"""The deadline queue: escalations nobody has to remember to send.

An alert or a grievance that is not closed by its deadline escalates (aid/monitoring.py,
aid/grievances.py). Rather than wait for someone to send an "escalate" transaction, the node
runs ``sweep`` at the end of every block (``aid.ledger.end_block``, called by the executor
after the block's transactions, on block time): every item whose deadline is at or before the
block's time is handed to its kind's escalation handler, in deadline order.

The queue lives in the state (so every node sweeps the same items) as buckets of
``BUCKET_MS`` of deadline time, ``dueq/<bucket>`` -> ``{"items": [[deadline_ms, kind, id], ...]}``
sorted, plus ``dueq/cursor`` -> ``{"bucket": n}``, the first bucket that may still hold items.
A sweep reads buckets from the cursor up to the block's time, so a block costs one read when
nothing is due. Work per block is bounded (``MAX_SWEEP_ITEMS`` items, ``MAX_SWEEP_BUCKETS``
bucket reads); what is left waits for the next block, so a long idle gap is caught up over a
few blocks, never in one unbounded block. Items are never removed when their entity closes
early: the handler checks the entity and drops a stale item (its deadline moved, or it closed).
"""

from __future__ import annotations

from collections.abc import Callable

from aid.state import Records

BUCKET_MS = 3_600_000  # one hour of deadlines per bucket record
MAX_SWEEP_ITEMS = 256  # escalations handled at the end of one block
MAX_SWEEP_BUCKETS = 512  # bucket records read at the end of one block (21 days of idle chain)
MAX_BUCKET_ITEMS = 100_000  # items in one bucket: an hour's deadlines of a province

# (kind, id, deadline_ms) -> None: escalate the entity if that deadline still holds
Escalate = Callable[[str, str, int], None]


def _bucket_name(bucket: int) -> str:
    return f"{bucket:010d}"


def schedule(records: Records, kind: str, ident: str, deadline_ms: int) -> None:
    """Queue ``kind/ident`` to be looked at when block time reaches ``deadline_ms``."""
    bucket = deadline_ms // BUCKET_MS
    name = _bucket_name(bucket)
    entry = records.get("dueq", name) or {"items": []}
    items = entry["items"]
    assert len(items) < MAX_BUCKET_ITEMS, f"deadline bucket {name} is full"
    items.append([deadline_ms, kind, ident])
    items.sort()
    records.put("dueq", name, {"items": items})
    cursor = records.get("dueq", "cursor")
    if cursor is None or cursor["bucket"] > bucket:
        records.put("dueq", "cursor", {"bucket": bucket})


def sweep(records: Records, now_ms: int, escalate: Escalate) -> int:
    """Hand every item due by ``now_ms`` to ``escalate`` (bounded); returns how many."""
    cursor = records.get("dueq", "cursor")
    if cursor is None:
        return 0
    bucket, last = cursor["bucket"], now_ms // BUCKET_MS
    handled = reads = 0
    while bucket <= last and reads < MAX_SWEEP_BUCKETS and handled < MAX_SWEEP_ITEMS:
        reads += 1
        name = _bucket_name(bucket)
        entry = records.get("dueq", name)
        items = [] if entry is None else entry["items"]
        due = [item for item in items if item[0] <= now_ms][: MAX_SWEEP_ITEMS - handled]
        if due:
            rest = items[len(due) :]
            if rest:
                records.put("dueq", name, {"items": rest})
            else:
                records.delete("dueq", name)
            for deadline_ms, kind, ident in due:
                escalate(kind, ident, deadline_ms)  # may schedule into this or a later bucket
            handled += len(due)
            continue  # the same bucket again: the handlers may have added to it
        if items or bucket == last:
            break  # the bucket holds only future deadlines, or it is the current hour
        bucket += 1
    if bucket != cursor["bucket"]:
        records.put("dueq", "cursor", {"bucket": bucket})
    return handled
