"""The node runtime: wires config, keys, storage, mempool, peers, RPC and the PBFT replica.

The replica is a pure state machine; its actions are carried out by the shared runner
(``consensus.runner``, the same one every simulator seed drives) against the real ports in
``node.ports``: the LevelDB journal, the peer network and state sync, with this node as the block
applier. Every replica input runs on one consensus worker, in arrival order.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from chain.block import Block, CommitCertificate
from chain.errors import AidchainError, BadNonce, ConfigError, MempoolFull
from chain.keyfile import load_key
from chain.tx import Transaction
from chain.wire import known_tx_from_wire
from consensus.actions import Action
from consensus.config import ConsensusConfig
from consensus.messages import decode_message, verify_message
from consensus.replica import Replica
from consensus.runner import Runner
from node.aidapi import is_ledger_member
from node.config import NodeConfig
from node.executor import Executor
from node.genesis import Genesis, load_genesis
from node.mempool import Mempool
from node.peers import PeerNetwork
from node.ports import (
    PeerTransport,
    StoreJournal,
    SyncFetcher,
    gossip_chunks,
    wire_with_bound,
)
from node.rpcapi import NodeFeed, NodeRpc
from node.software import SOFTWARE
from node.statesync import StateSync
from node.statuslog import Condition, Progress, status_line
from node.supervise import stop_supervised, supervise
from rpc.server import create_rpc_app
from rpc.subscriptions import SubscriptionHub
from storage.chainstore import ChainStore
from storage.db import PRIVATE_UMASK, make_private_dir

log = logging.getLogger(__name__)

MAX_CONSENSUS_INBOX = 4_096  # replica inputs waiting for the consensus worker; peers wait beyond it

Job = Callable[[], Awaitable[None]]


def mono_ms() -> int:
    """Monotonic milliseconds for the replica's timers: never jumps with the wall clock."""
    return time.monotonic_ns() // 1_000_000


def wall_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch: block times only."""
    return time.time_ns() // 1_000_000


class Node:
    """One validator: owns every component and the event loop tasks that drive them."""

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.log = log
        self.fatal = asyncio.Event()  # set when the node must stop (exit code 1)
        self._load_identity()
        self.store = self._open_store()
        try:
            self._build_core()
        except BaseException:
            self.store.close()
            raise
        self._build_network()
        self._build_runtime()

    def _load_identity(self) -> None:
        """Key and genesis: who this node is and which chain it belongs to."""
        cfg = self.cfg
        self.key = load_key(cfg.key_file)
        self.genesis: Genesis = load_genesis(cfg.genesis)
        self.chain_id = self.genesis.chain_id
        self.validators = self.genesis.validators
        if self.key.public_hex not in self.validators:
            raise ConfigError(
                f"this node's key {self.key.public_hex[:12]}… is not a validator in {cfg.genesis}"
            )

    def _open_store(self) -> ChainStore:
        """The chain store, initialised from genesis on first start, refused if another chain's."""
        data_dir = self.cfg.data_dir
        make_private_dir(data_dir)
        store = ChainStore.open(data_dir / "chain.db")
        try:
            if not store.is_initialised():
                store.init_genesis(self.genesis.doc, self.genesis.aid_records)
            elif store.chain_id != self.chain_id:
                raise ConfigError(
                    f"data dir {data_dir} belongs to chain {store.chain_id!r}, "
                    f"genesis says {self.chain_id!r}"
                )
            store.keep_read_side(self.cfg.read_side)
        except BaseException:
            store.close()
            raise
        return store

    def _build_core(self) -> None:
        """Executor, mempool and the replica, restored from the store and its vote journal."""
        cfg, store = self.cfg, self.store
        self.executor = Executor(
            store, block_gas_limit=self.genesis.block_gas_limit, read_side=cfg.read_side
        )
        self.mempool = Mempool(
            self.chain_id,
            lambda addr: store.account(addr)[1],
            known=self.is_known_account,
            max_txs=cfg.mempool.max_txs,
            max_bytes=cfg.mempool.max_bytes,
            max_per_sender=cfg.mempool.max_per_sender,
            nonce_window=cfg.mempool.nonce_window,
            gap_ttl_ms=cfg.mempool.gap_ttl_ms,
        )
        t = cfg.consensus
        self.consensus_config = ConsensusConfig(
            chain_id=self.chain_id,
            validators=self.validators,
            block_max_txs=t.block_max_txs,
            batch_delay_ms=t.batch_delay_ms,
            block_interval_ms=t.block_interval_ms,
            view_change_timeout_ms=t.view_change_timeout_ms,
            max_view_change_timeout_ms=t.max_view_change_timeout_ms,
            request_timeout_ms=t.request_timeout_ms,
            retransmit_ms=t.retransmit_ms,
            checkpoint_interval=t.checkpoint_interval,
            watermark_window=t.watermark_window,
            max_tick_step_ms=t.max_tick_step_ms,
        )
        self.replica = Replica(
            self.consensus_config,
            self.key,
            self,
            last_height=store.height,
            last_block_hash=store.head_hash,
            last_state_root=store.state_root,
            last_receipts_root=store.receipts_root,
            last_block_time=store.head_time,
            journal=store.journal_load(),
            mono_ms=mono_ms(),
            wall_ms=wall_ms(),
            last_certificate=store.get_certificate(store.height),
        )

    def _build_network(self) -> None:
        """Peers, state sync and the RPC methods (the RPC server itself starts in ``start``)."""
        cfg = self.cfg
        self.peers = PeerNetwork(
            key=self.key,
            chain_id=self.chain_id,
            host=cfg.p2p.host,
            port=cfg.p2p.port,
            peers={p.id: p.url for p in cfg.peers},
            handler=self._on_peer_message,
            max_message_bytes=cfg.p2p.max_message_bytes,
            send_queue_len=cfg.p2p.send_queue,
            send_queue_bytes=cfg.p2p.send_queue_bytes,
            inbox_bytes=cfg.p2p.inbox_bytes,
            handshake_timeout_s=cfg.p2p.handshake_timeout_ms / 1000,
            max_pending_handshakes=cfg.p2p.max_pending_handshakes,
            max_pending_per_address=cfg.p2p.max_pending_per_address,
            send_timeout_s=cfg.p2p.send_timeout_ms / 1000,
        )
        self.sync = StateSync(
            self,
            on_fatal=self.fatal.set,
            batch_blocks=cfg.consensus.sync_batch_blocks,
            serve_blocks_per_s=cfg.p2p.sync_serve_blocks_per_s,
        )
        self.rpc_api = NodeRpc(self)
        self.subscriptions = SubscriptionHub(
            NodeFeed(self),
            max_per_socket=cfg.rpc.max_subscriptions_per_socket,
            queue_bytes=cfg.rpc.subscription_queue_bytes,
        )

    def _build_runtime(self) -> None:
        """The consensus worker's queue, its threads, and the runner with this node's ports."""
        name = self.cfg.name
        self._gossip: list[tuple[str, int]] = []  # (wire form, bound of its encoded bytes)
        self._offer_dirty = True
        self._web: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pump: asyncio.Task[None] | None = None  # the subscription hub's
        self._status: asyncio.Task[None] | None = None  # the status line's ([node] status_log_s)
        # Every replica input runs on one worker, in arrival order; synced LevelDB writes run on
        # one I/O thread so the event loop keeps serving RPC and peers during an fsync.
        self._inbox: asyncio.Queue[Job] = asyncio.Queue(MAX_CONSENSUS_INBOX)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-io")
        # Blocks execute on their own thread (the worker awaits it), so a block's contract calls
        # -- up to the genesis block gas limit -- never stall RPC or peer heartbeats.
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-exec")
        self._tick_queued = False
        self.stats = {
            "bad_peer_messages": 0,
            "bad_consensus_messages": 0,
            "bad_gossip_txs": 0,  # malformed, forged or unauthorised: the peer's fault
            "gossip_txs_no_room": 0,  # refused unjudged: no room here (pool or sender quota full)
            "blocks_committed": 0,
            "txs_committed": 0,
            "exec_cpu_ms": 0,  # CPU the execution thread spent on committed blocks
            "commit_cpu_ms": 0,  # CPU the I/O thread spent writing them (batch build + write)
            # wall clock when this process started: tells a restarted node's counters apart
            "started_ms": wall_ms(),
        }
        self.runner = Runner(
            journal=StoreJournal(self.store, self._io),
            transport=PeerTransport(
                self.peers,
                max_txs=self.cfg.mempool.gossip_batch,
                max_message_bytes=self.cfg.p2p.max_message_bytes,
            ),
            blocks=self,
            sync=SyncFetcher(self.sync, lambda: self.store.height),
        )

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = create_rpc_app(
            self.rpc_api,
            max_body_bytes=self.cfg.rpc.max_body_bytes,
            max_batch=self.cfg.rpc.max_batch,
            max_inflight=self.cfg.rpc.max_inflight,
            max_websockets=self.cfg.rpc.max_websockets,
            max_reply_bytes=self.cfg.rpc.max_reply_bytes,
            reply_budget_bytes=self.cfg.rpc.reply_budget_bytes,
            send_timeout_ms=self.cfg.rpc.send_timeout_ms,
            subscriptions=self.subscriptions,
        )
        self._web = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._web.setup()
        site = web.TCPSite(self._web, self.cfg.rpc.host, self.cfg.rpc.port)
        await site.start()
        await self.peers.start()
        self._worker = supervise(
            self._consensus_worker(), name="consensus-worker", on_fatal=self.fatal.set
        )
        self._ticker = supervise(self._tick_loop(), name="tick-loop", on_fatal=self.fatal.set)
        self._pump = supervise(
            self.subscriptions.run(), name="subscription-pump", on_fatal=self.fatal.set
        )
        if self.cfg.status_log_s:
            self._status = supervise(
                self._status_loop(self.cfg.status_log_s), name="status-log", on_fatal=self.fatal.set
            )
        self.log.info(
            "node %s started: chain=%s height=%d view=%d rpc=http://%s:%d/ p2p=%s:%d "
            "(aidchain %s on %s)",
            self.cfg.name,
            self.chain_id,
            self.store.height,
            self.replica.view,
            self.cfg.rpc.host,
            self.cfg.rpc.port,
            self.cfg.p2p.host,
            self.cfg.p2p.port,
            SOFTWARE["aidchain"],
            SOFTWARE["python"],
        )

    async def stop(self) -> None:
        """Stop accepting, finish the current write (writes are synchronous), close LevelDB."""
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        for task in (self._ticker, self._worker, self._pump, self._status):
            await stop_supervised(task)
        self._ticker = self._worker = self._pump = self._status = None
        await self.sync.stop()
        await self.peers.stop()
        # execution and queries read the store: let the running ones end before it closes
        self._exec.shutdown(wait=True, cancel_futures=True)
        self.rpc_api.close()
        self._io.shutdown(wait=True)  # a write already handed to the I/O thread completes
        self.store.close()
        self.log.info("node %s stopped at height %d", self.cfg.name, self.store.height)

    def _progress(self) -> Progress:
        return Progress(self.store.height, self.stats["txs_committed"], time.monotonic())

    async def _status_loop(self, every_s: int) -> None:
        """One status line every ``every_s`` seconds (node/statuslog.py says why)."""
        before = self._progress()
        while True:
            await asyncio.sleep(every_s)
            now = self._progress()
            condition = Condition(
                view=self.replica.view,
                primary=self.replica.primary,
                peers=len(self.peers.connected()),
                validators=len(self.validators),
                mempool=len(self.mempool),
                syncing=self.sync.active,
            )
            level, text = status_line(before, now, condition)
            self.log.log(level, text)
            before = now

    async def _tick_loop(self) -> None:
        interval = self.cfg.consensus.tick_ms / 1000
        while True:
            await asyncio.sleep(interval)
            self._flush_gossip()
            if not self._tick_queued:  # a backed-up worker gets one tick, not a pile of them
                self._tick_queued = True
                await self._inbox.put(self._tick)

    async def _tick(self) -> None:
        self._tick_queued = False
        self.mempool.expire()  # gapped txs leave on time even when nothing else arrives
        if self._offer_dirty:
            await self._offer()
        await self.perform(self.replica.on_tick(mono_ms(), wall_ms()))

    async def _consensus_worker(self) -> None:
        """Run replica inputs one at a time, in arrival order.

        Peer input is decoded and verified before it is queued, so an exception here is a bug:
        it ends this task and the supervisor stops the node (never a half-alive node).
        """
        while True:
            job = await self._inbox.get()
            await job()

    # --- the replica's view of the application ---------------------------------------------------
    def validate_block_txs(self, block: Block) -> str | None:
        return self.executor.validate_block_txs(block, self.mempool)

    def _fresh_offer(self) -> list[Action]:
        """Offer the mempool's current proposable batch to the replica."""
        self._offer_dirty = False
        batch = self.mempool.proposable(
            self.consensus_config.block_max_txs,
            self.consensus_config.block_max_bytes,
            max_gas=self.executor.block_gas_limit,
        )
        return self.replica.on_request(batch.txs, full=batch.full)

    async def _offer(self) -> None:
        await self.perform(self._fresh_offer())

    # --- carrying out actions -------------------------------------------------------------------
    async def perform(self, actions: Iterable[Action]) -> None:
        """Carry out replica actions in order; only the consensus worker calls this."""
        await self.runner.perform(actions)

    async def _io_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    # --- BlockApplier (the runner's port) -------------------------------------------------------
    async def apply_block(self, block: Block, cert: CommitCertificate) -> list[Action]:
        """Execute and store a committed block in one synced batch; tell the replica."""
        if block.height <= self.store.height:
            return []
        if block.height != self.store.height + 1:
            self.log.warning(
                "commit for height %d while at %d; waiting for state sync",
                block.height,
                self.store.height,
            )
            return []
        try:
            started = time.monotonic()
            loop = asyncio.get_running_loop()
            result, cpu_s = await loop.run_in_executor(
                self._exec, _thread_cpu, self.executor.execute, block
            )
            self.stats["exec_cpu_ms"] += round(cpu_s * 1000)
            executed_ms = (time.monotonic() - started) * 1000
            _, cpu_s = await self._io_call(
                _thread_cpu, self.store.commit_block, block, cert, result
            )
            self.stats["commit_cpu_ms"] += round(cpu_s * 1000)
        except Exception:
            # A block 2f+1 validators committed cannot be applied here: our state has diverged
            # or our disk failed. Going on would serve a wrong chain, so stop loudly.
            self.log.critical(
                "cannot apply committed block %d %s; stopping the node",
                block.height,
                block.hash[:12],
                exc_info=True,
            )
            self.fatal.set()
            raise
        self.mempool.on_block_committed(block)
        # O(1): the pump does the rest
        self.subscriptions.on_block(block, result.receipts, cert, result.end_block_events)
        self.stats["blocks_committed"] += 1
        self.stats["txs_committed"] += len(block.txs)
        self.log.debug(
            "committed height=%d txs=%d view=%d hash=%s executed_ms=%.0f",
            block.height,
            len(block.txs),
            cert.view,
            block.hash[:12],
            executed_ms,
        )
        # The replica drops the block's transactions from its offer, then learns the time
        # (execution may have taken most of a second, during which it had no tick), and only
        # then gets the fresh batch: stamped with the replica's stale clock, the new offer would
        # count this block's execution against the next block's request timeout.
        applied = self.replica.on_block_applied(
            block, result.state_root, cert, receipts_root=result.receipts_root
        )
        ticked = self.replica.on_tick(mono_ms(), wall_ms())
        return [*applied, *ticked, *self._fresh_offer()]

    # --- SyncHost -------------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.store.height

    @property
    def head_hash(self) -> str:
        return self.store.head_hash

    @property
    def state_root(self) -> str:
        return self.store.state_root

    @property
    def receipts_root(self) -> str:
        return self.store.receipts_root

    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None:
        """Apply a verified block from state sync on the consensus worker, in order."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                await self.runner.apply_synced(block, certificate)
            except BaseException as exc:
                done.set_exception(exc)
                raise
            done.set_result(None)

        await self._inbox.put(job)
        await done

    def send(self, peer: str, message: dict[str, Any]) -> bool:
        return self.peers.send(peer, message)

    def connected_peers(self) -> list[str]:
        return self.peers.connected()

    def read_block(self, height: int) -> tuple[Block, CommitCertificate] | None:
        block = self.store.get_block(height)
        cert = self.store.get_certificate(height)
        if block is None or cert is None:
            return None
        return block, cert

    # --- transactions -----------------------------------------------------------------------------
    def is_known_account(self, address: str) -> bool:
        """Whether ``address`` may submit: the chain holds state for it (a balance or a used
        nonce). Admission only (RPC and gossip); the ledger's roles extend this predicate."""
        balance, nonce = self.store.account(address)
        return balance > 0 or nonce > 0 or is_ledger_member(self.store, self.genesis, address)

    def submit(self, tx: Transaction) -> str:
        """Admit a client transaction (RPC); raises typed errors; safe to retry."""
        try:
            added = self.mempool.add(tx)
        except BadNonce:
            # a retry of a transaction that has already committed is not an error
            if self.store.get_tx(tx.hash) is not None:
                return tx.hash
            raise
        if added:
            self.subscriptions.on_tx_pending(tx.hash)
            self._gossip.append(wire_with_bound(tx))
            self._offer_dirty = True
            if len(self._gossip) >= self.cfg.mempool.gossip_batch:
                self._flush_gossip()
        return tx.hash

    def _flush_gossip(self) -> None:
        """Broadcast pending transactions in chunks bounded by count and by encoded bytes."""
        pending, self._gossip = self._gossip, []
        for message in gossip_chunks(
            pending, self.cfg.mempool.gossip_batch, self.cfg.p2p.max_message_bytes
        ):
            self.peers.broadcast(message)

    # --- peer messages ----------------------------------------------------------------------------
    async def _on_peer_message(self, peer: str, message: dict[str, Any]) -> None:
        kind = message.get("k")
        if kind == "c":
            try:
                msg = decode_message(message.get("m"), known_txs=self.mempool.by_signature)
            except AidchainError as exc:
                self.stats["bad_consensus_messages"] += 1
                self.log.debug("undecodable consensus message from %s: %s", peer[:12], exc.message)
                return
            if not verify_message(msg, self.chain_id, self.validators):
                self.stats["bad_consensus_messages"] += 1
                return

            async def job() -> None:
                await self.perform(self.replica.on_message(msg))

            await self._inbox.put(job)
        elif kind == "txs":
            txs = message.get("txs")
            if not isinstance(txs, list):
                self.stats["bad_peer_messages"] += 1
                return
            added = False
            known = self.mempool.by_signature
            for raw in txs[: self.cfg.mempool.max_txs]:
                try:
                    tx = known_tx_from_wire(raw, known)
                    if self.mempool.add(tx):
                        added = True
                        self.subscriptions.on_tx_pending(tx.hash)
                except MempoolFull:  # this node's pool is full: not the peer's fault
                    self.stats["gossip_txs_no_room"] += 1
                except AidchainError:
                    self.stats["bad_gossip_txs"] += 1
            if added:
                self._offer_dirty = True
        elif kind == "sync_req":
            self.sync.serve(peer, message)
        elif kind == "sync_resp":
            self.sync.on_response(peer, message)
        else:
            self.stats["bad_peer_messages"] += 1


T = TypeVar("T")


def _thread_cpu(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """``fn(*args)`` and the CPU seconds this thread spent on it (for the node's CPU stats)."""
    start = time.thread_time()
    out = fn(*args)
    return out, time.thread_time() - start


class NodeLogContext(logging.Filter):
    """Stamps every log record with the node's name, view and height (``-`` before start)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.node = name
        self.source: Node | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        src = self.source
        record.view, record.height = "-", "-"
        if src is not None:
            try:
                record.view, record.height = src.replica.view, src.store.height
            except Exception:  # logging must never fail because the node is half shut down
                pass
        return True


LOG_FORMAT = (
    "%(asctime)s %(levelname)s node=%(node)s view=%(view)s height=%(height)s %(name)s: %(message)s"
)


def setup_logging(cfg: NodeConfig) -> NodeLogContext:
    context = NodeLogContext(cfg.name)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(context)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.log_level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return context


async def run_node(
    cfg: NodeConfig,
    log_context: NodeLogContext | None = None,
    make_node: Callable[[NodeConfig], Node] = Node,
) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code.

    ``make_node`` builds the node on the running loop; a caller that needs its ports wired
    differently (a test launcher wrapping the transport) passes its own.
    """
    os.umask(PRIVATE_UMASK)  # LevelDB creates files (0644 & ~umask) for as long as it runs
    node = make_node(cfg)
    if log_context is not None:
        log_context.source = node
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await node.start()
    except OSError as exc:
        logging.getLogger(__name__).error("cannot start node %s: %s", cfg.name, exc)
        await node.stop()
        return 1
    # What start-up built (modules, genesis, caches, servers) lives as long as the process.
    # Freezing it keeps the cyclic collector's full passes from walking all of it again and
    # again: they cost a busy node ~4 % of its CPU, half that once frozen (docs/operations.md).
    gc.freeze()
    try:
        return await _serve(node, stop)
    finally:
        gc.unfreeze()  # an embedding process (the tests) gets its heap back as it was


async def _serve(node: Node, stop: asyncio.Event) -> int:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(node.fatal.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    if node.fatal.is_set():
        await node.stop()
        return 1
    logging.getLogger(__name__).info("signal received; shutting down")
    await node.stop()
    return 0
