"""State transfer trusts no single peer: every block must extend our head under a valid certificate."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from chain.block import (
    EMPTY_ROOT,
    Block,
    BlockHeader,
    CommitCertificate,
    commit_signing_bytes,
    tx_root,
)
from chain.crypto import KeyPair
from chain.tx import make_transfer
from chain.wire import block_to_wire
from node.statesync import StateSync, TokenBucket


def fatal_unexpected() -> None:
    raise AssertionError("a sync task died of a bug")


CHAIN = "sync-test"
VALS = [KeyPair.from_seed(bytes([i + 1]) * 32) for i in range(4)]
IDS = [v.public_hex for v in VALS]
ALICE = KeyPair.from_seed(b"\x33" * 32)


def receipts_after(h: int) -> str:
    """The fake receipts root of block h (EMPTY_ROOT for genesis)."""
    return "e" + f"{h:063x}" if h else EMPTY_ROOT


def _chain(length: int, bad_receipts_at: int = 0) -> list[tuple[Block, CommitCertificate]]:
    out = []
    prev, root = "0" * 64, "1" * 64
    for h in range(1, length + 1):
        txs = (make_transfer(ALICE, CHAIN, h - 1, IDS[0], 1),)
        anchored = "f" * 64 if h == bad_receipts_at else receipts_after(h - 1)
        header = BlockHeader(h, prev, tx_root(txs), len(txs), root, anchored, 1000 + h, IDS[0], 0)
        block = Block(header, txs)
        msg = commit_signing_bytes(CHAIN, 0, h, block.hash)
        cert = CommitCertificate(
            h, block.hash, 0, tuple(sorted((v.public_hex, v.sign(msg)) for v in VALS[:3]))
        )
        out.append((block, cert))
        prev, root = block.hash, f"{h:064x}"  # fake state root after block h
    return out


class Host:
    """A node at some height plus peers that answer sync requests (honestly or not)."""

    chain_id = CHAIN
    validators = tuple(IDS)

    def __init__(self, chain: list[tuple[Block, CommitCertificate]], serve: dict[str, Any]) -> None:
        self.chain = chain
        self.applied: list[Block] = []
        self.serve = serve  # peer -> function(from_height, count) -> blocks payload
        self.sync: StateSync | None = None
        self.asked: list[str] = []

    @property
    def height(self) -> int:
        return len(self.applied)

    @property
    def head_hash(self) -> str:
        return self.applied[-1].hash if self.applied else "0" * 64

    @property
    def state_root(self) -> str:
        return f"{self.height:064x}" if self.applied else "1" * 64

    @property
    def receipts_root(self) -> str:
        return receipts_after(self.height)

    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None:
        self.applied.append(block)

    def send(self, peer: str, message: dict[str, Any]) -> bool:
        self.asked.append(peer)
        blocks = self.serve[peer](message["from"], message["count"])
        assert self.sync is not None
        asyncio.get_running_loop().call_soon(
            self.sync.on_response, peer, {"k": "sync_resp", "id": message["id"], "blocks": blocks}
        )
        return True

    def connected_peers(self) -> list[str]:
        return list(self.serve)

    def read_block(self, height: int) -> tuple[Block, CommitCertificate] | None:
        return self.chain[height - 1] if 0 < height <= len(self.chain) else None


def honest(chain: list[tuple[Block, CommitCertificate]]) -> Any:
    def serve(start: int, count: int) -> list[dict[str, Any]]:
        return [
            {"block": block_to_wire(b), "cert": c.to_dict()}
            for b, c in chain[start - 1 : start - 1 + count]
        ]

    return serve


async def _run(host: Host) -> None:
    sync = StateSync(host, on_fatal=fatal_unexpected, batch_blocks=4)
    host.sync = sync
    sync.request(())
    assert sync._task is not None
    await asyncio.wait_for(sync._task, 10)


async def test_catches_up_from_an_honest_peer_in_batches() -> None:
    chain = _chain(10)
    host = Host(chain, {"p1": honest(chain)})
    await _run(host)
    assert [b.hash for b in host.applied] == [b.hash for b, _ in chain]


async def test_forged_block_is_detected_and_the_peer_skipped() -> None:
    chain = _chain(6)

    def forger(start: int, count: int) -> list[dict[str, Any]]:
        block, cert = chain[start - 1]
        fake = Block(dataclasses.replace(block.header, time=block.header.time + 7), block.txs)
        return [
            {"block": block_to_wire(fake), "cert": cert.to_dict()}
        ]  # certificate is for the real block

    def bad_cert(start: int, count: int) -> list[dict[str, Any]]:
        block, cert = chain[start - 1]
        weak = CommitCertificate(cert.height, cert.block_hash, cert.view, cert.signatures[:2])
        return [{"block": block_to_wire(block), "cert": weak.to_dict()}]

    def garbage(start: int, count: int) -> list[Any]:
        return [{"block": 5}, "x"]

    host = Host(chain, {"forger": forger, "weak": bad_cert, "junk": garbage, "good": honest(chain)})
    await _run(host)
    assert [b.hash for b in host.applied] == [b.hash for b, _ in chain]
    assert host.sync is not None and host.sync.stats["bad_peer_responses"] == 3


async def test_no_honest_peer_means_nothing_is_applied() -> None:
    chain = _chain(3)
    other = _chain(3)  # a different chain, validly signed but not extending our head

    def wrong_fork(start: int, count: int) -> list[dict[str, Any]]:
        block, cert = other[start - 1]
        moved = Block(dataclasses.replace(block.header, prev_hash="f" * 64), block.txs)
        return [{"block": block_to_wire(moved), "cert": cert.to_dict()}]

    host = Host(chain, {"fork": wrong_fork})
    await _run(host)
    assert host.applied == []


async def test_a_certified_block_anchoring_other_receipts_is_refused() -> None:
    """2f+1 signed it, but it anchors receipts our execution did not produce: our state has
    diverged from theirs or the peer lies; either way nothing past it is applied."""
    chain = _chain(4, bad_receipts_at=3)
    host = Host(chain, {"p1": honest(chain)})
    await _run(host)
    assert [b.hash for b in host.applied] == [b.hash for b, _ in chain[:2]]
    assert host.sync is not None and host.sync.stats["bad_peer_responses"] >= 1


class ServeHost(Host):
    """Records what the server side sends instead of answering."""

    def __init__(self, chain: list[tuple[Block, CommitCertificate]]) -> None:
        super().__init__(chain, {})
        self.sent: list[dict[str, Any]] = []
        self.reads = 0

    def send(self, peer: str, message: dict[str, Any]) -> bool:
        self.sent.append(message)
        return True

    def read_block(self, height: int) -> tuple[Block, CommitCertificate] | None:
        self.reads += 1
        return super().read_block(height)


async def _served(sync: StateSync) -> None:
    while sync.serving:
        await asyncio.sleep(0.001)


async def test_serve_limits_response_and_stops_at_head() -> None:
    host = ServeHost(_chain(5))
    sync = StateSync(host, on_fatal=fatal_unexpected, batch_blocks=4)
    sync.serve("p", {"k": "sync_req", "id": 1, "from": 3, "count": 100})
    await _served(sync)
    assert [b["block"]["header"]["height"] for b in host.sent[0]["blocks"]] == [3, 4, 5]
    sync.serve("p", {"k": "sync_req", "id": 2, "from": -1, "count": "x"})  # malformed: ignored
    await _served(sync)
    assert len(host.sent) == 1


async def test_one_request_per_peer_is_served_at_a_time() -> None:
    host = ServeHost(_chain(5))
    sync = StateSync(host, on_fatal=fatal_unexpected, batch_blocks=4)
    for i in range(1_000):  # a flood of tiny requests from one peer
        sync.serve("flooder", {"k": "sync_req", "id": i, "from": 1, "count": 256})
    sync.serve("honest", {"k": "sync_req", "id": 7, "from": 1, "count": 2})
    await _served(sync)
    assert sync.stats["serve_busy_dropped"] == 999
    assert sorted(m["id"] for m in host.sent) == [0, 7]
    assert host.reads <= 5 + 1 + 2


async def test_blocks_served_to_a_peer_are_paid_from_a_token_bucket() -> None:
    now = [0.0]
    host = ServeHost(_chain(40))
    sync = StateSync(
        host, on_fatal=fatal_unexpected, batch_blocks=4, serve_blocks_per_s=1, clock=lambda: now[0]
    )
    # capacity is MAX_SYNC_REQUEST_BLOCKS tokens; drain it with a long chain's worth of asks
    sync._buckets["p"] = TokenBucket(1, 10, lambda: now[0])
    sync.serve("p", {"k": "sync_req", "id": 1, "from": 1, "count": 40})
    await _served(sync)
    assert len(host.sent[0]["blocks"]) == 10  # what the bucket held
    sync.serve("p", {"k": "sync_req", "id": 2, "from": 11, "count": 40})
    await asyncio.sleep(0.05)
    assert sync.serving == 1 and len(host.sent) == 1  # waiting for a token
    now[0] = 3.0
    await asyncio.wait_for(_served(sync), 5)
    assert len(host.sent[1]["blocks"]) == 3
    assert sync.stats["served_blocks"] == 13


def test_token_bucket_refills_up_to_capacity_and_refunds() -> None:
    now = [0.0]
    bucket = TokenBucket(2, 4, lambda: now[0])
    assert bucket.take(10) == 4
    assert bucket.take(1) == 0
    assert bucket.wait_s() == 0.5
    now[0] = 100.0
    assert bucket.take(10) == 4
    bucket.refund(3)
    assert bucket.take(10) == 3


async def test_stop_cancels_requests_in_service() -> None:
    host = ServeHost(_chain(3))
    sync = StateSync(host, on_fatal=fatal_unexpected, batch_blocks=4, clock=lambda: 0.0)
    sync._buckets["p"] = TokenBucket(1, 1, lambda: 0.0)
    sync._buckets["p"].take(1)  # empty and never refilled: the request waits forever
    sync.serve("p", {"k": "sync_req", "id": 1, "from": 1, "count": 1})
    await asyncio.sleep(0.01)
    assert sync.serving == 1
    await asyncio.wait_for(sync.stop(), 2)
    assert sync.serving == 0 and host.sent == []


class BrokenHost(Host):
    """A host with a bug: asking for its peers raises (nothing a peer could cause)."""

    def connected_peers(self) -> list[str]:
        raise RuntimeError("bug in the host")


async def test_a_sync_round_that_dies_of_a_bug_stops_the_node(
    caplog: pytest.LogCaptureFixture,
) -> None:
    died: list[bool] = []
    host = BrokenHost(_chain(2), {})
    sync = StateSync(host, on_fatal=lambda: died.append(True), batch_blocks=4)
    sync.request(())
    assert sync._task is not None
    with pytest.raises(RuntimeError):
        await sync._task
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert died == [True]
    assert any(r.levelname == "CRITICAL" and "sync-round" in r.message for r in caplog.records)


class RacingHost(Host):
    """Our consensus commits the blocks it holds certified while a sync response is applied:
    after the first synced block, heights 2..5 arrive through the consensus worker."""

    def __init__(self, chain: list[tuple[Block, CommitCertificate]], serve: dict[str, Any]) -> None:
        super().__init__(chain, serve)
        self.raced = False

    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None:
        self.applied.append(block)
        if not self.raced:
            self.raced = True
            self.applied.extend(b for b, _ in self.chain[1:5])


async def test_blocks_our_consensus_applied_meanwhile_are_skipped_not_blamed_on_the_peer() -> None:
    chain = _chain(8)
    host = RacingHost(chain, {"p1": honest(chain)})
    await _run(host)
    assert [b.hash for b in host.applied] == [b.hash for b, _ in chain]
    assert host.sync is not None
    assert host.sync.stats["bad_peer_responses"] == 0
    assert host.sync.stats["blocks_applied_meanwhile"] == 3  # 2, 3, 4 of the first response


async def test_a_response_that_skips_or_repeats_heights_is_the_peers_fault() -> None:
    chain = _chain(4)

    def stale(start: int, count: int) -> list[dict[str, Any]]:
        return honest(chain)(1, count)  # always from the start, whatever was asked

    host = Host(chain, {"stale": stale, "good": honest(chain)})
    host.applied.append(chain[0][0])  # we are at height 1 and ask for 2..
    await _run(host)
    assert [b.hash for b in host.applied] == [b.hash for b, _ in chain]
    assert host.sync is not None and host.sync.stats["bad_peer_responses"] == 1
