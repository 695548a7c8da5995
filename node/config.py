"""Node configuration (``config.toml``): typed, validated, with every limit named.

Relative paths are resolved against the folder holding the config file, so a node folder can be
moved as a whole. Unknown keys are errors: a typo in an operator's config must not silently fall
back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from chain import limits
from chain.crypto import is_pubkey_hex
from chain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class RpcConfig:
    host: str = "127.0.0.1"
    port: int = 26657
    max_body_bytes: int = limits.DEFAULT_RPC_MAX_BODY_BYTES
    max_batch: int = limits.DEFAULT_RPC_MAX_BATCH
    max_inflight: int = limits.DEFAULT_RPC_MAX_INFLIGHT
    max_websockets: int = limits.DEFAULT_RPC_MAX_WEBSOCKETS
    query_gas_cap: int = limits.DEFAULT_RPC_QUERY_GAS_CAP  # gas of one read-only contract_call
    max_concurrent_queries: int = limits.DEFAULT_RPC_MAX_CONCURRENT_QUERIES
    max_reply_bytes: int = limits.DEFAULT_RPC_MAX_REPLY_BYTES
    reply_budget_bytes: int = limits.DEFAULT_RPC_REPLY_BUDGET_BYTES
    send_timeout_ms: int = limits.DEFAULT_RPC_SEND_TIMEOUT_MS
    max_subscriptions_per_socket: int = limits.DEFAULT_RPC_MAX_SUBSCRIPTIONS_PER_SOCKET
    subscription_queue_bytes: int = limits.DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES


@dataclass(frozen=True, slots=True)
class P2PConfig:
    host: str = "127.0.0.1"
    port: int = 26656
    max_message_bytes: int = limits.DEFAULT_PEER_MAX_MESSAGE_BYTES
    send_queue: int = limits.DEFAULT_PEER_SEND_QUEUE
    send_queue_bytes: int = limits.DEFAULT_PEER_SEND_QUEUE_BYTES
    inbox_bytes: int = limits.DEFAULT_PEER_INBOX_BYTES
    handshake_timeout_ms: int = limits.DEFAULT_PEER_HANDSHAKE_TIMEOUT_MS
    max_pending_handshakes: int = limits.DEFAULT_PEER_MAX_PENDING_HANDSHAKES
    max_pending_per_address: int = limits.DEFAULT_PEER_MAX_PENDING_PER_ADDRESS
    send_timeout_ms: int = limits.DEFAULT_PEER_SEND_TIMEOUT_MS
    sync_serve_blocks_per_s: int = limits.DEFAULT_SYNC_SERVE_BLOCKS_PER_S


@dataclass(frozen=True, slots=True)
class ConsensusTuning:
    block_max_txs: int = limits.DEFAULT_BLOCK_TXS
    batch_delay_ms: int = limits.DEFAULT_BATCH_DELAY_MS
    block_interval_ms: int = limits.DEFAULT_BLOCK_INTERVAL_MS
    view_change_timeout_ms: int = limits.DEFAULT_VIEW_CHANGE_TIMEOUT_MS
    max_view_change_timeout_ms: int = limits.DEFAULT_MAX_VIEW_CHANGE_TIMEOUT_MS
    request_timeout_ms: int = limits.DEFAULT_REQUEST_TIMEOUT_MS
    retransmit_ms: int = limits.DEFAULT_RETRANSMIT_MS
    checkpoint_interval: int = limits.DEFAULT_CHECKPOINT_INTERVAL
    watermark_window: int = limits.DEFAULT_WATERMARK_WINDOW
    tick_ms: int = limits.DEFAULT_TICK_MS
    max_tick_step_ms: int = limits.DEFAULT_MAX_TICK_STEP_MS
    sync_batch_blocks: int = limits.DEFAULT_SYNC_BATCH_BLOCKS


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    max_txs: int = limits.DEFAULT_MEMPOOL_MAX_TXS
    max_bytes: int = limits.DEFAULT_MEMPOOL_MAX_BYTES
    max_per_sender: int = limits.DEFAULT_MEMPOOL_MAX_PER_SENDER
    nonce_window: int = limits.DEFAULT_MEMPOOL_NONCE_WINDOW
    gap_ttl_ms: int = limits.DEFAULT_MEMPOOL_GAP_TTL_MS
    gossip_batch: int = 256


def check_mempool(m: MempoolConfig) -> None:
    """Relations between the [mempool] limits (see node/mempool.py for what each one bounds)."""
    if m.gossip_batch < 1 or m.gap_ttl_ms < 1:
        raise ConfigError("[mempool] gossip_batch and gap_ttl_ms must be >= 1")
    if not 1 <= m.nonce_window <= m.max_per_sender <= m.max_txs:
        raise ConfigError(
            "[mempool] needs 1 <= nonce_window <= max_per_sender <= max_txs "
            f"(got {m.nonce_window}, {m.max_per_sender}, {m.max_txs})"
        )
    if m.max_bytes < limits.MAX_TX_BYTES:
        raise ConfigError(
            f"[mempool] max_bytes must be >= {limits.MAX_TX_BYTES} (one transaction of the "
            "largest size must fit)"
        )


@dataclass(frozen=True, slots=True)
class Peer:
    id: str
    url: str


@dataclass(frozen=True, slots=True)
class NodeConfig:
    path: Path
    name: str
    key_file: Path
    data_dir: Path
    genesis: Path
    log_level: str = "INFO"
    # keep the ledger's read-side index and statistics (false: a validator that serves no
    # ledger reads, like CometBFT's null tx indexer; docs/operations.md)
    read_side: bool = True
    # seconds between the node's status lines in its log (height, commits, view, peers,
    # pool); 0: none
    status_log_s: int = limits.DEFAULT_STATUS_LOG_S
    rpc: RpcConfig = field(default_factory=RpcConfig)
    p2p: P2PConfig = field(default_factory=P2PConfig)
    consensus: ConsensusTuning = field(default_factory=ConsensusTuning)
    mempool: MempoolConfig = field(default_factory=MempoolConfig)
    peers: tuple[Peer, ...] = ()


def _section(cls: type, raw: Any, where: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where}]: {', '.join(sorted(unknown))}")
    values = {}
    for name, value in raw.items():
        default = getattr(cls(), name)
        if isinstance(default, bool) or type(value) is not type(default):
            raise ConfigError(f"[{where}] {name} must be of type {type(default).__name__}")
        if isinstance(value, int) and value < 0:
            raise ConfigError(f"[{where}] {name} must not be negative")
        values[name] = value
    return cls(**values)


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path).resolve()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path) -> NodeConfig:
    allowed = {"node", "rpc", "p2p", "consensus", "mempool", "peers"}
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(unknown))}")
    node = raw.get("node")
    if not isinstance(node, dict):
        raise ConfigError("missing [node] section")
    unknown = set(node) - {
        "name",
        "key_file",
        "data_dir",
        "genesis",
        "log_level",
        "read_side",
        "status_log_s",
    }
    if unknown:
        raise ConfigError(f"unknown key(s) in [node]: {', '.join(sorted(unknown))}")
    base = path.parent

    def rel(key: str, default: str | None = None) -> Path:
        value = node.get(key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"[node] {key} must be a path string")
        return (base / value).resolve()

    log_level = str(node.get("log_level", "INFO")).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("[node] log_level must be DEBUG, INFO, WARNING or ERROR")
    read_side = node.get("read_side", True)
    if not isinstance(read_side, bool):
        raise ConfigError("[node] read_side must be true or false")
    status_log_s = node.get("status_log_s", limits.DEFAULT_STATUS_LOG_S)
    if type(status_log_s) is not int or not 0 <= status_log_s <= limits.MAX_STATUS_LOG_S:
        raise ConfigError(
            f"[node] status_log_s must be 0 (no status lines) or seconds up to "
            f"{limits.MAX_STATUS_LOG_S}"
        )
    peers_raw = raw.get("peers", [])
    if not isinstance(peers_raw, list):
        raise ConfigError("[[peers]] must be an array of tables")
    peers = []
    for item in peers_raw:
        if not isinstance(item, dict) or set(item) != {"id", "url"}:
            raise ConfigError("each [[peers]] entry needs exactly id and url")
        if not is_pubkey_hex(item["id"]) or not isinstance(item["url"], str):
            raise ConfigError("[[peers]] id must be a 64-hex public key and url a string")
        peers.append(Peer(item["id"], item["url"]))
    cfg = NodeConfig(
        path=path,
        name=str(node.get("name", path.parent.name)),
        key_file=rel("key_file", "node.key"),
        data_dir=rel("data_dir", "data"),
        genesis=rel("genesis"),
        log_level=log_level,
        read_side=read_side,
        status_log_s=status_log_s,
        rpc=_section(RpcConfig, raw.get("rpc"), "rpc"),
        p2p=_section(P2PConfig, raw.get("p2p"), "p2p"),
        consensus=_section(ConsensusTuning, raw.get("consensus"), "consensus"),
        mempool=_section(MempoolConfig, raw.get("mempool"), "mempool"),
        peers=tuple(peers),
    )
    if cfg.consensus.block_max_txs > limits.MAX_BLOCK_TXS or cfg.consensus.block_max_txs < 1:
        raise ConfigError(f"[consensus] block_max_txs must be in 1..{limits.MAX_BLOCK_TXS}")
    if cfg.consensus.tick_ms < 1:
        raise ConfigError("[consensus] tick_ms must be >= 1")
    if cfg.consensus.max_tick_step_ms < cfg.consensus.tick_ms:
        # a tick that may advance the timers by less than one tick interval makes time crawl
        raise ConfigError("[consensus] max_tick_step_ms must be >= tick_ms")
    check_mempool(cfg.mempool)
    _check_rpc(cfg.rpc)
    _check_queries(cfg.rpc)
    _check_subscriptions(cfg.rpc)
    _check_p2p(cfg.p2p)
    return cfg


def _check_queries(rpc: RpcConfig) -> None:
    """Read-only calls: a cap no larger than a transaction's, threads fewer than requests."""
    if not 1 <= rpc.query_gas_cap <= limits.MAX_CALL_GAS:
        raise ConfigError(f"[rpc] query_gas_cap must be in 1..{limits.MAX_CALL_GAS}")
    if not 1 <= rpc.max_concurrent_queries <= max(1, rpc.max_inflight):
        raise ConfigError("[rpc] max_concurrent_queries must be in 1..max_inflight")


MIN_RPC_REPLY_BYTES = 4 * limits.MAX_TX_BYTES  # room for the largest single result (tx_get)


def _check_rpc(rpc: RpcConfig) -> None:
    """Relations between the [rpc] limits: each reply must be able to hold one full result."""
    for key in ("max_body_bytes", "max_batch", "max_inflight", "max_websockets"):
        if getattr(rpc, key) < 1:
            raise ConfigError(f"[rpc] {key} must be >= 1")
    if rpc.max_reply_bytes < MIN_RPC_REPLY_BYTES:
        raise ConfigError(f"[rpc] max_reply_bytes must be >= {MIN_RPC_REPLY_BYTES}")
    if rpc.reply_budget_bytes < rpc.max_reply_bytes:
        raise ConfigError("[rpc] reply_budget_bytes must be >= max_reply_bytes")
    if rpc.send_timeout_ms < 100:
        raise ConfigError("[rpc] send_timeout_ms must be >= 100")


def _check_subscriptions(rpc: RpcConfig) -> None:
    """Subscriptions: one notification fits a queue; all queues together stay bounded."""
    if not 1 <= rpc.max_subscriptions_per_socket <= limits.MAX_RPC_SUBSCRIPTIONS_PER_SOCKET:
        raise ConfigError(
            "[rpc] max_subscriptions_per_socket must be in "
            f"1..{limits.MAX_RPC_SUBSCRIPTIONS_PER_SOCKET}"
        )
    queue = rpc.subscription_queue_bytes
    if queue < limits.MIN_RPC_SUBSCRIPTION_QUEUE_BYTES:
        raise ConfigError(
            f"[rpc] subscription_queue_bytes must be >= {limits.MIN_RPC_SUBSCRIPTION_QUEUE_BYTES}"
        )
    if queue > rpc.reply_budget_bytes:
        raise ConfigError("[rpc] subscription_queue_bytes must be <= reply_budget_bytes")
    if rpc.max_websockets * queue > limits.MAX_RPC_SUBSCRIPTION_MEMORY_BYTES:
        raise ConfigError(
            "[rpc] max_websockets x subscription_queue_bytes must be <= "
            f"{limits.MAX_RPC_SUBSCRIPTION_MEMORY_BYTES} (notification bytes held for all clients)"
        )


def _check_p2p(p2p: P2PConfig) -> None:
    """Relations between the peer limits: each refusal names the keys and the bound."""
    if p2p.max_message_bytes < limits.MIN_PEER_MAX_MESSAGE_BYTES:
        raise ConfigError(
            f"[p2p] max_message_bytes must be >= {limits.MIN_PEER_MAX_MESSAGE_BYTES}: the largest "
            f"sync response and a full block's PRE-PREPARE or NEW-VIEW "
            "must fit in one peer message"
        )
    for key in ("send_queue_bytes", "inbox_bytes"):
        if getattr(p2p, key) < p2p.max_message_bytes:
            raise ConfigError(f"[p2p] {key} must be >= max_message_bytes (one message must fit)")
    if p2p.send_queue < 1:
        raise ConfigError("[p2p] send_queue must be >= 1")
    low, high = limits.MIN_PEER_HANDSHAKE_TIMEOUT_MS, limits.MAX_PEER_HANDSHAKE_TIMEOUT_MS
    if not low <= p2p.handshake_timeout_ms <= high:
        raise ConfigError(f"[p2p] handshake_timeout_ms must be in {low}..{high}")
    if not 1 <= p2p.max_pending_per_address <= p2p.max_pending_handshakes:
        raise ConfigError("[p2p] need 1 <= max_pending_per_address <= max_pending_handshakes")
    if p2p.send_timeout_ms < 1_000:
        raise ConfigError("[p2p] send_timeout_ms must be >= 1000")
    if p2p.sync_serve_blocks_per_s < 1:
        raise ConfigError("[p2p] sync_serve_blocks_per_s must be >= 1")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def render_config(sections: dict[str, dict[str, Any]], peers: list[dict[str, str]]) -> str:
    """Render the small subset of TOML our configs use (tables of scalars, [[peers]])."""
    lines = ["# aidchain node configuration; relative paths are relative to this file's folder."]
    for name, table in sections.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    for peer in peers:
        lines.append("\n[[peers]]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in peer.items())
    return "\n".join(lines) + "\n"
