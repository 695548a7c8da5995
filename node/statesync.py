"""State transfer: fetch committed blocks with their certificates from peers and apply them.

A lagging replica (restarted, partitioned, or on an empty data dir) asks one peer at a time for a
range of blocks. Nothing a peer sends is trusted: every block must extend our head (height,
prev_hash, state root) and carry a commit certificate signed by 2f+1 validators. A peer that
serves anything else is skipped for the rest of the round and another peer is asked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chain.block import Block, CommitCertificate, certificate_from_dict
from chain.encoding import canonical_unchecked
from chain.errors import AidchainError, InvalidBlock
from chain.wire import block_from_wire, block_to_wire

log = logging.getLogger(__name__)

SYNC_REQUEST_TIMEOUT_S = 5.0
MAX_SYNC_RESPONSE_BYTES = 8 * 1024 * 1024  # below the peer message limit
MAX_SYNC_REQUEST_BLOCKS = 256


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
    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None: ...
    def send(self, peer: str, message: dict[str, Any]) -> bool: ...
    def connected_peers(self) -> list[str]: ...
    def read_block(self, height: int) -> tuple[Block, CommitCertificate] | None: ...


class StateSync:
    def __init__(self, host: SyncHost, *, batch_blocks: int) -> None:
        self.host = host
        self.batch_blocks = max(1, min(batch_blocks, MAX_SYNC_REQUEST_BLOCKS))
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[list[Any]]]] = {}
        self._next_id = 0
        self.stats = {
            "rounds": 0,
            "blocks_applied": 0,
            "bad_peer_responses": 0,
            "timeouts": 0,
            "served_blocks": 0,
        }

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def request(self, hints: Sequence[str] = ()) -> None:
        """Start a sync round unless one is running (FetchBlocks may be emitted repeatedly)."""
        if self.active:
            return
        self._task = asyncio.get_running_loop().create_task(self._round(list(hints)))

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
            try:
                items = await self._fetch(peer, self.host.height + 1)
            except TimeoutError:
                self.stats["timeouts"] += 1
                bad.add(peer)
                continue
            if not items:
                bad.add(peer)  # this peer has nothing beyond our head; try the others
                continue
            try:
                for item in items:
                    block, cert = self._verify(item)
                    await self.host.apply_synced_block(block, cert)
                    self.stats["blocks_applied"] += 1
            except AidchainError as exc:
                self.stats["bad_peer_responses"] += 1
                log.warning("state sync: peer %s served a bad block: %s", peer[:12], exc.message)
                bad.add(peer)
                continue
            except (KeyError, TypeError, ValueError) as exc:
                self.stats["bad_peer_responses"] += 1
                log.warning("state sync: peer %s sent a malformed response: %s", peer[:12], exc)
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

    def _verify(self, item: Any) -> tuple[Block, CommitCertificate]:
        block = block_from_wire(item["block"])
        cert = certificate_from_dict(item["cert"])
        host = self.host
        if block.height != host.height + 1:
            raise InvalidBlock(f"expected height {host.height + 1}, got {block.height}")
        if block.header.prev_hash != host.head_hash:
            raise InvalidBlock("block does not extend our head (prev_hash mismatch)")
        if block.header.state_root != host.state_root:
            raise InvalidBlock("block's state_root differs from our state after the previous block")
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
    def serve(
        self,
        peer: str,
        message: dict[str, Any],
        encode: Callable[[Any], bytes] = canonical_unchecked,
    ) -> None:
        start, count = message.get("from"), message.get("count")
        if not isinstance(start, int) or not isinstance(count, int) or start < 1 or count < 1:
            return
        count = min(count, MAX_SYNC_REQUEST_BLOCKS)
        out: list[dict[str, Any]] = []
        size = 0
        for height in range(start, start + count):
            found = self.host.read_block(height)
            if found is None:
                break
            block, cert = found
            item = {"block": block_to_wire(block), "cert": cert.to_dict()}
            size += len(encode(item))
            if out and size > MAX_SYNC_RESPONSE_BYTES:
                break
            out.append(item)
        self.stats["served_blocks"] += len(out)
        self.host.send(peer, {"k": "sync_resp", "id": message.get("id"), "blocks": out})
