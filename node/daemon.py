"""The node runtime: wires config, keys, storage, mempool, peers, RPC and the PBFT replica.

The replica is a pure state machine; this module is the only place where its actions meet the
world. Actions are carried out strictly in order, and consecutive ``Persist`` actions are written
as one synced LevelDB batch *before* any send that follows them, so a restarted node never
contradicts a vote it already sent.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from chain.block import Block, CommitCertificate
from chain.errors import AidchainError, BadNonce, ConfigError, EncodingError, TooLarge
from chain.tx import Transaction, tx_from_dict
from consensus.actions import (
    Broadcast,
    CommitBlock,
    FetchBlocks,
    Persist,
    PruneJournal,
    Send,
)
from consensus.config import ConsensusConfig
from consensus.messages import decode_message, encode_message, verify_message
from consensus.replica import Replica
from node.config import NodeConfig
from node.executor import Executor
from node.genesis import Genesis, load_genesis
from node.keys import load_key
from node.lograte import ratelimited
from node.mempool import Mempool
from node.peers import PeerNetwork
from node.rpcapi import NodeRpc
from node.statesync import StateSync
from node.testmodes import Misbehaviour
from rpc.server import create_rpc_app
from storage.chainstore import ChainStore

log = logging.getLogger(__name__)

MAX_CONSENSUS_INBOX = 4_096  # replica inputs waiting for the consensus worker; peers wait beyond it

Job = Callable[[], Awaitable[None]]


def consensus_envelope(msg: Any) -> dict[str, Any]:
    """The peer-wire form of a consensus message (kind "c")."""
    return {"k": "c", "m": encode_message(msg)}


def now_ms() -> int:
    return int(time.time() * 1000)


class Node:
    """One validator: owns every component and the event loop tasks that drive them."""

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.key = load_key(cfg.key_file)
        self.genesis: Genesis = load_genesis(cfg.genesis)
        self.chain_id = self.genesis.chain_id
        self.validators = self.genesis.validators
        if self.key.public_hex not in self.validators:
            raise ConfigError(
                f"this node's key {self.key.public_hex[:12]}… is not a validator in {cfg.genesis}"
            )
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = ChainStore.open(cfg.data_dir / "chain.db")
        try:
            if self.store.is_initialised():
                if self.store.chain_id != self.chain_id:
                    raise ConfigError(
                        f"data dir {cfg.data_dir} belongs to chain {self.store.chain_id!r}, "
                        f"genesis says {self.chain_id!r}"
                    )
            else:
                self.store.init_genesis(self.genesis.doc)
            self.executor = Executor(self.store)
            self.mempool = Mempool(
                self.chain_id,
                lambda addr: self.store.account(addr)[1],
                max_txs=cfg.mempool.max_txs,
                max_per_sender=cfg.mempool.max_per_sender,
            )
            t = cfg.consensus
            self.consensus_config = ConsensusConfig(
                chain_id=self.chain_id,
                validators=self.validators,
                block_max_txs=t.block_max_txs,
                batch_delay_ms=t.batch_delay_ms,
                view_change_timeout_ms=t.view_change_timeout_ms,
                max_view_change_timeout_ms=t.max_view_change_timeout_ms,
                request_timeout_ms=t.request_timeout_ms,
                retransmit_ms=t.retransmit_ms,
                checkpoint_interval=t.checkpoint_interval,
                watermark_window=t.watermark_window,
            )
            self.replica = Replica(
                self.consensus_config,
                self.key,
                self,
                last_height=self.store.height,
                last_block_hash=self.store.head_hash,
                last_state_root=self.store.state_root,
                last_block_time=self.store.head_time,
                journal=self.store.journal_load(),
                now_ms=now_ms(),
                last_certificate=self.store.get_certificate(self.store.height),
            )
        except BaseException:
            self.store.close()
            raise
        peer_urls = {p.id: p.url for p in cfg.peers}
        self.peers = PeerNetwork(
            key=self.key,
            chain_id=self.chain_id,
            host=cfg.p2p.host,
            port=cfg.p2p.port,
            peers=peer_urls,
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
            batch_blocks=cfg.consensus.sync_batch_blocks,
            serve_blocks_per_s=cfg.p2p.sync_serve_blocks_per_s,
        )
        self.misbehaviour = Misbehaviour.create(cfg.test_mode, self)
        self.rpc_api = NodeRpc(self)
        self._gossip: list[dict[str, Any]] = []
        self._offer_dirty = True
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        # Every replica input runs on one worker, in arrival order; synced LevelDB writes run on
        # one I/O thread so the event loop keeps serving RPC and peers during an fsync.
        self._inbox: asyncio.Queue[Job] = asyncio.Queue(MAX_CONSENSUS_INBOX)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{cfg.name}-io")
        self._tick_queued = False
        self.fatal = asyncio.Event()  # set when the node must stop (exit code 1)
        self.stats = {
            "bad_peer_messages": 0,
            "bad_consensus_messages": 0,
            "bad_gossip_txs": 0,
            "blocks_committed": 0,
        }
        self.log = log

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = create_rpc_app(
            self.rpc_api,
            max_body_bytes=self.cfg.rpc.max_body_bytes,
            max_batch=self.cfg.rpc.max_batch,
            max_inflight=self.cfg.rpc.max_inflight,
            max_websockets=self.cfg.rpc.max_websockets,
        )
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.rpc.host, self.cfg.rpc.port)
        await site.start()
        await self.peers.start()
        loop = asyncio.get_running_loop()
        self._worker = loop.create_task(self._consensus_worker())
        self._ticker = loop.create_task(self._tick_loop())
        self.log.info(
            "node %s started: chain=%s height=%d view=%d rpc=http://%s:%d/ p2p=%s:%d",
            self.cfg.name,
            self.chain_id,
            self.store.height,
            self.replica.view,
            self.cfg.rpc.host,
            self.cfg.rpc.port,
            self.cfg.p2p.host,
            self.cfg.p2p.port,
        )

    async def stop(self) -> None:
        """Stop accepting, finish the current write (writes are synchronous), close LevelDB."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in (self._ticker, self._worker):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._ticker = self._worker = None
        await self.sync.stop()
        await self.peers.stop()
        self._io.shutdown(wait=True)  # a write already handed to the I/O thread completes
        self.store.close()
        self.log.info("node %s stopped at height %d", self.cfg.name, self.store.height)

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
        if self._offer_dirty:
            await self._offer()
        await self.perform(self.replica.on_tick(now_ms()))

    async def _consensus_worker(self) -> None:
        while True:
            job = await self._inbox.get()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not silently stop consensus: log loudly, go on
                self.log.exception("consensus job failed")

    # --- the replica's view of the application ---------------------------------------------------
    def validate_block_txs(self, block: Block) -> str | None:
        return self.executor.validate_block_txs(block, self.mempool.verified)

    def _fresh_offer(self) -> list[Any]:
        """Offer the mempool's current proposable batch to the replica."""
        self._offer_dirty = False
        batch = self.mempool.ready(
            self.consensus_config.block_max_txs, self.consensus_config.block_max_bytes
        )
        return self.replica.on_request(batch)

    async def _offer(self) -> None:
        await self.perform(self._fresh_offer())

    # --- carrying out actions -------------------------------------------------------------------
    async def _io_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def perform(self, actions: Iterable[Any]) -> None:
        """Carry out replica actions in order; only the consensus worker calls this."""
        queue = deque(actions)
        persist: list[dict[str, Any]] = []
        while queue:
            action = queue.popleft()
            if isinstance(action, Persist):
                persist.append(action.record)
                continue
            if persist:
                await self._io_call(self.store.journal_append, persist)
                persist = []
            if isinstance(action, Broadcast):
                self.misbehaviour.broadcast(action.msg)
            elif isinstance(action, Send):
                self.send_consensus(action.to, action.msg)
            elif isinstance(action, CommitBlock):
                queue.extend(await self._apply_block(action.block, action.certificate))
            elif isinstance(action, FetchBlocks):
                if action.from_height > self.store.height:
                    self.sync.request(action.peers)
            elif isinstance(action, PruneJournal):
                await self._io_call(self.store.journal_prune, action.below_height)
            else:
                self.log.error("unknown consensus action %r", action)
        if persist:
            await self._io_call(self.store.journal_append, persist)

    def broadcast_consensus(self, msg: Any) -> None:
        try:
            self.peers.broadcast(consensus_envelope(msg))
        except (EncodingError, TooLarge) as exc:
            self._unsendable(msg, exc)

    def send_consensus(self, to: str, msg: Any) -> None:
        try:
            self.peers.send(to, consensus_envelope(msg))
        except (EncodingError, TooLarge) as exc:
            self._unsendable(msg, exc)

    def _unsendable(self, msg: Any, exc: AidchainError) -> None:
        """One rate-limited line, not a traceback per retransmission: the replica retries."""
        ratelimited.log(
            self.log,
            logging.ERROR,
            "unsendable_consensus",
            "cannot send %s: %s",
            type(msg).__name__,
            exc.message,
        )

    async def _apply_block(self, block: Block, cert: CommitCertificate) -> list[Any]:
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
            result = self.executor.execute(block)
            await self._io_call(self.store.commit_block, block, cert, result)
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
        self.stats["blocks_committed"] += 1
        self.log.debug(
            "committed height=%d txs=%d view=%d hash=%s",
            block.height,
            len(block.txs),
            cert.view,
            block.hash[:12],
        )
        # Offer a fresh batch first, so a primary never proposes transactions just committed.
        offered = self._fresh_offer()
        return [*offered, *self.replica.on_block_applied(block, result.state_root, cert)]

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

    async def apply_synced_block(self, block: Block, certificate: CommitCertificate) -> None:
        """Apply a verified block from state sync on the consensus worker, in order."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                await self.perform(await self._apply_block(block, certificate))
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
            self._gossip.append(tx.to_dict())
            self._offer_dirty = True
            if len(self._gossip) >= self.cfg.mempool.gossip_batch:
                self._flush_gossip()
        return tx.hash

    def _flush_gossip(self) -> None:
        while self._gossip:
            chunk = self._gossip[: self.cfg.mempool.gossip_batch]
            del self._gossip[: self.cfg.mempool.gossip_batch]
            self.peers.broadcast({"k": "txs", "txs": chunk})

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
            for obj in txs[: self.cfg.mempool.max_txs]:
                try:
                    added |= self.mempool.add(tx_from_dict(obj))
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


async def run_node(cfg: NodeConfig, log_context: NodeLogContext | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    node = Node(cfg)
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
