"""State transfer: fetch committed blocks with their certificates from peers and apply them.

A lagging replica (restarted, partitioned, or on an empty data dir) asks one peer at a time for a
range of blocks. Nothing a peer sends is trusted: every block must extend our head (height,
prev_hash, state root) and carry a commit certificate signed by 2f+1 validators. A peer that
serves anything else is skipped for the rest of the round and another peer is asked.

Serving is bounded per peer, because a request is a few bytes and its answer megabytes: one
request per peer is served at a time (more arriving meanwhile are dropped and counted), blocks
are paid for from a per-peer token bucket (``serve_blocks_per_s``), they are read from storage
one at a time with the event loop free in between, and a response stops before
``MAX_SYNC_RESPONSE_BYTES`` (which config load checks fits the peer message limit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chain import limits
from chain.block import Block, CommitCertificate, certificate_from_dict
from chain.encoding import canonical_unchecked
from chain.errors import AidchainError, InvalidBlock
from chain.wire import block_from_wire, block_to_wire
from node.lograte import ratelimited
from node.supervise import supervise_job

log = logging.getLogger(__name__)

SYNC_REQUEST_TIMEOUT_S = 5.0
MAX_SYNC_RESPONSE_BYTES = limits.MAX_SYNC_RESPONSE_BYTES  # config load checks it fits a message
MAX_SYNC_REQUEST_BLOCKS = 256


class TokenBucket:
    """``rate`` tokens per second up to ``capacity``; a served block costs one token."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def take(self, want: int) -> int:
        """Take up to ``want`` whole tokens now; returns how many were taken (maybe 0)."""
        self._refill()
        got = min(want, int(self._tokens))
        self._tokens -= got
        return got

    def refund(self, count: int) -> None:
        self._tokens = min(self.capacity, self._tokens + count)

    def wait_s(self) -> float:
        """Seconds until one whole token is available."""
        self._refill()
        return max(0.0, (1 - self._tokens) / self.rate)


def sync_item(block: Block, cert: CommitCertificate) -> dict[str, Any]:
    """One block with its certificate as carried in a ``sync_resp``."""
    return {"block": block_to_wire(block), "cert": cert.to_dict()}


class SyncHost(Protocol):
    """What state transfer needs from the node."""

    chain_id: str
    validators: tuple[str, ...]

    @property
    def height(self) -> int: ...
    @property
    def head_hash(self) -> str: ...
    @property
    def state_root(self) -> str: ...
    @property
    def receipts_root(self) -> str: ...
    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None: ...
    def send(self, peer: str, message: dict[str, Any]) -> bool: ...
    def connected_peers(self) -> list[str]: ...
    def read_block(self, height: int) -> tuple[Block, CommitCertificate] | None: ...


class StateSync:
    def __init__(
        self,
        host: SyncHost,
        *,
        on_fatal: Callable[[], None],
        batch_blocks: int,
        serve_blocks_per_s: int = limits.DEFAULT_SYNC_SERVE_BLOCKS_PER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if serve_blocks_per_s < 1:
            raise ValueError("serve_blocks_per_s must be at least 1")
        self.host = host
        self._on_fatal = on_fatal  # a sync task that dies of a bug stops the node
        self.batch_blocks = max(1, min(batch_blocks, MAX_SYNC_REQUEST_BLOCKS))
        self.serve_blocks_per_s = serve_blocks_per_s
        self._clock = clock
        self._serving: dict[str, asyncio.Task[None]] = {}  # peer -> its one request in service
        self._buckets: dict[str, TokenBucket] = {}
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[list[Any]]]] = {}
        self._next_id = 0
        self.stats = {
            "rounds": 0,
            "blocks_applied": 0,
            # served blocks our consensus had applied by the time they arrived: a race, not a
            # peer's fault (it served what we asked for)
            "blocks_applied_meanwhile": 0,
            "bad_peer_responses": 0,
            "timeouts": 0,
            "served_blocks": 0,
            "serve_busy_dropped": 0,  # sync_req from a peer whose previous one is still served
            "serve_send_refused": 0,  # response refused by the peer's full send queue
        }

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def request(self, hints: Sequence[str] = ()) -> None:
        """Start a sync round unless one is running (FetchBlocks may be emitted repeatedly)."""
        if self.active:
            return
        self._task = supervise_job(
            self._round(list(hints)), name="sync-round", on_fatal=self._on_fatal
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        for _, fut in self._pending.values():
            fut.cancel()
        self._pending.clear()
        serving = list(self._serving.values())
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)
        self._serving.clear()

    # --- client side ----------------------------------------------------------------------------
    async def _round(self, hints: list[str]) -> None:
        self.stats["rounds"] += 1
        start_height = self.host.height
        candidates = [p for p in dict.fromkeys(hints + self.host.connected_peers())]
        bad: set[str] = set()
        idx = 0
        while True:
            usable = [p for p in candidates if p not in bad]
            if not usable:
                break
            peer = usable[idx % len(usable)]
            idx += 1
            asked = self.host.height + 1
            try:
                items = await self._fetch(peer, asked)
            except TimeoutError:
                self.stats["timeouts"] += 1
                bad.add(peer)
                continue
            if not items:
                bad.add(peer)  # this peer has nothing beyond our head; try the others
                continue
            try:
                for offset, item in enumerate(items):
                    checked = self._verify(item, asked + offset)
                    if checked is None:
                        self.stats["blocks_applied_meanwhile"] += 1
                        continue
                    await self.host.apply_synced_block(*checked)
                    self.stats["blocks_applied"] += 1
            except AidchainError as exc:
                self.stats["bad_peer_responses"] += 1
                ratelimited.warning(
                    log,
                    "bad_block",
                    "state sync: peer %s served a bad block: %s",
                    peer[:12],
                    exc.message,
                )
                bad.add(peer)
                continue
            except (KeyError, TypeError, ValueError) as exc:
                self.stats["bad_peer_responses"] += 1
                ratelimited.warning(
                    log,
                    "malformed_response",
                    "state sync: peer %s sent a malformed response: %s",
                    peer[:12],
                    exc,
                )
                bad.add(peer)
                continue
        if self.host.height > start_height:
            log.info("state sync: applied blocks %d..%d", start_height + 1, self.host.height)

    async def _fetch(self, peer: str, from_height: int) -> list[Any]:
        self._next_id += 1
        req_id = self._next_id
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = (peer, fut)
        try:
            if not self.host.send(
                peer,
                {"k": "sync_req", "id": req_id, "from": from_height, "count": self.batch_blocks},
            ):
                raise TimeoutError
            return await asyncio.wait_for(fut, SYNC_REQUEST_TIMEOUT_S)
        finally:
            self._pending.pop(req_id, None)

    def _verify(self, item: Any, expected: int) -> tuple[Block, CommitCertificate] | None:
        """The response's block at height ``expected``, checked against our head; None when our
        own consensus applied that height while the response was on its way (applying a synced
        block yields to the consensus worker, which may commit the blocks it holds certified).
        """
        block = block_from_wire(item["block"])
        cert = certificate_from_dict(item["cert"])
        host = self.host
        if block.height != expected:
            raise InvalidBlock(f"expected height {expected}, got {block.height}")
        if block.height <= host.height:
            return None
        if block.height != host.height + 1:
            raise InvalidBlock(f"expected height {host.height + 1}, got {block.height}")
        if block.header.prev_hash != host.head_hash:
            raise InvalidBlock("block does not extend our head (prev_hash mismatch)")
        if block.header.state_root != host.state_root:
            raise InvalidBlock("block's state_root differs from our state after the previous block")
        if block.header.receipts_root != host.receipts_root:
            raise InvalidBlock("block's receipts_root differs from our previous block's receipts")
        if cert.height != block.height or cert.block_hash != block.hash:
            raise InvalidBlock("certificate is for another block")
        cert.verify(host.chain_id, list(host.validators))
        return block, cert

    def on_response(self, peer: str, message: dict[str, Any]) -> None:
        entry = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if entry is None or entry[0] != peer or entry[1].done():
            return
        blocks = message.get("blocks")
        entry[1].set_result(blocks if isinstance(blocks, list) else [])

    # --- server side ----------------------------------------------------------------------------
    @property
    def serving(self) -> int:
        """Requests being served right now (at most one per peer)."""
        return len(self._serving)

    def serve(
        self,
        peer: str,
        message: dict[str, Any],
        encode: Callable[[Any], bytes] = canonical_unchecked,
    ) -> None:
        """Start answering a ``sync_req`` unless this peer already has one in service."""
        start, count = message.get("from"), message.get("count")
        if not isinstance(start, int) or not isinstance(count, int) or start < 1 or count < 1:
            return
        if peer in self._serving:
            self.stats["serve_busy_dropped"] += 1
            return
        task = supervise_job(
            self._serve(
                peer, message.get("id"), start, min(count, MAX_SYNC_REQUEST_BLOCKS), encode
            ),
            name=f"sync-serve-{peer[:8]}",
            on_fatal=self._on_fatal,
        )
        self._serving[peer] = task
        task.add_done_callback(lambda done: self._served(peer, done))

    def _served(self, peer: str, task: asyncio.Task[None]) -> None:
        if self._serving.get(peer) is task:
            del self._serving[peer]

    async def _serve(
        self, peer: str, req_id: Any, start: int, count: int, encode: Callable[[Any], bytes]
    ) -> None:
        bucket = self._buckets.get(peer)
        if bucket is None:
            capacity = max(self.serve_blocks_per_s, MAX_SYNC_REQUEST_BLOCKS)
            bucket = self._buckets[peer] = TokenBucket(
                self.serve_blocks_per_s, capacity, self._clock
            )
        granted = bucket.take(count)
        while granted == 0:
            await asyncio.sleep(bucket.wait_s())
            granted = bucket.take(count)
        out: list[dict[str, Any]] = []
        size = 0
        for height in range(start, start + granted):
            found = self.host.read_block(height)  # one block at a time, never the whole range
            if found is None:
                break
            item = sync_item(*found)
            size += len(encode(item)) + 1
            if out and size > MAX_SYNC_RESPONSE_BYTES:
                break
            out.append(item)
            await asyncio.sleep(0)  # storage reads are synchronous: let peers and RPC in
        bucket.refund(granted - len(out))
        self.stats["served_blocks"] += len(out)
        if not self.host.send(peer, {"k": "sync_resp", "id": req_id, "blocks": out}):
            self.stats["serve_send_refused"] += 1
