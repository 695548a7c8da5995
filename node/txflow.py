"""Send many signed transactions and wait until each committed: the demo loader's and the ledger
benchmark's set-up, which push thousands of transactions through one node's JSON-RPC.

A full mempool is back-pressure, not an error: those transactions are resent until the phase's
deadline. Any other refusal, or a transaction still not committed at the deadline, is reported
through the caller's ``fail`` (its own error type), since a set-up cannot go on without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from rpc.client import RpcClient, RpcError

POLL_BATCH = 200  # tx_get calls per JSON-RPC batch while waiting
POLL_S = 0.2  # between rounds of resending or polling
PHASE_TIMEOUT_S = 300.0  # a phase that has not committed by then is a failure

Fail = Callable[[str], Exception]


async def send_all(
    client: RpcClient,
    txs: Sequence[tuple[str, dict[str, Any]]],
    fail: Fail,
    *,
    batch: int,
) -> None:
    """Send ``(hash, tx dict)`` pairs in batches of ``batch``, resending what a full pool refused."""
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    for start in range(0, len(txs), batch):
        chunk = list(txs[start : start + batch])
        while chunk:
            results = await client.batch([("tx_send", {"tx": tx}) for _, tx in chunk])
            retry = []
            for (tx_hash, tx), result in zip(chunk, results, strict=True):
                if isinstance(result, RpcError):
                    if result.reason != "mempool_full":
                        raise fail(f"tx_send refused {tx_hash[:12]}: {result.message}")
                    retry.append((tx_hash, tx))
            chunk = retry
            if chunk:
                if time.monotonic() > deadline:
                    raise fail("the mempool stayed full for the whole phase timeout")
                await asyncio.sleep(POLL_S)


async def wait_committed(client: RpcClient, hashes: list[str], fail: Fail) -> list[dict[str, Any]]:
    """Each transaction's ``tx_get`` answer once committed, in the order of ``hashes``."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while len(found) < len(hashes):
        missing = [h for h in hashes if h not in found]
        for start in range(0, len(missing), POLL_BATCH):
            part = missing[start : start + POLL_BATCH]
            results = await client.batch([("tx_get", {"hash": h}) for h in part])
            for h, r in zip(part, results, strict=True):
                if isinstance(r, dict) and r.get("status") == "committed":
                    found[h] = r
        if len(found) < len(hashes):
            if time.monotonic() > deadline:
                raise fail(f"{len(hashes) - len(found)} transactions did not commit")
            await asyncio.sleep(POLL_S)
    return [found[h] for h in hashes]
