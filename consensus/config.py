"""Consensus configuration shared by the daemon and the simulator.

Every value that all validators must agree on for safety (the validator set, chain id, block
limits) and every timer the replica runs lives here, so the replica itself holds no magic numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from chain import limits
from chain.crypto import is_pubkey_hex
from chain.errors import ConfigError

MIN_VALIDATORS = 4  # n = 3f+1 with f >= 1
MAX_VALIDATORS = limits.MAX_VALIDATORS


@dataclass(frozen=True, slots=True)
class ConsensusConfig:
    chain_id: str
    validators: tuple[str, ...]  # public keys hex; order defines primaries
    block_max_txs: int = limits.DEFAULT_BLOCK_TXS
    block_max_bytes: int = limits.MAX_BLOCK_BYTES
    batch_delay_ms: int = limits.DEFAULT_BATCH_DELAY_MS  # primary waits this to fill a block
    # The primary proposes no sooner than this after applying the previous block unless its
    # offer fills a block. An idle chain is not slowed (a transaction arriving later than this
    # waits only batch_delay_ms); under load, the transactions that arrive meanwhile go into
    # one larger block instead of several small ones, and every block costs each validator a
    # round of signed votes and a synced write whatever its size (CometBFT's timeout_commit
    # does the same job, paid even when idle). Measured with ``aidchain bench --workload
    # ledger`` (docs/ledger-performance.md, "Block pacing"): 7-10 % less CPU per action and node.
    block_interval_ms: int = limits.DEFAULT_BLOCK_INTERVAL_MS
    view_change_timeout_ms: int = limits.DEFAULT_VIEW_CHANGE_TIMEOUT_MS
    max_view_change_timeout_ms: int = limits.DEFAULT_MAX_VIEW_CHANGE_TIMEOUT_MS
    request_timeout_ms: int = limits.DEFAULT_REQUEST_TIMEOUT_MS
    retransmit_ms: int = limits.DEFAULT_RETRANSMIT_MS
    checkpoint_interval: int = limits.DEFAULT_CHECKPOINT_INTERVAL
    watermark_window: int = limits.DEFAULT_WATERMARK_WINDOW
    max_clock_drift_ms: int = limits.MAX_CLOCK_DRIFT_MS
    max_buffered_messages: int = limits.DEFAULT_MAX_BUFFERED_MESSAGES
    max_tick_step_ms: int = limits.DEFAULT_MAX_TICK_STEP_MS

    def __post_init__(self) -> None:
        n = len(self.validators)
        if not MIN_VALIDATORS <= n <= MAX_VALIDATORS:
            raise ConfigError(
                f"need between {MIN_VALIDATORS} and {MAX_VALIDATORS} validators, got {n}"
            )
        if len(set(self.validators)) != n or not all(is_pubkey_hex(v) for v in self.validators):
            raise ConfigError("validators must be distinct 64-hex public keys")
        if (
            not isinstance(self.chain_id, str)
            or not 0 < len(self.chain_id) <= limits.MAX_CHAIN_ID_CHARS
        ):
            raise ConfigError("chain_id must be a non-empty string")
        if not 0 < self.block_max_txs <= limits.MAX_BLOCK_TXS:
            raise ConfigError(f"block_max_txs must be in 1..{limits.MAX_BLOCK_TXS}")
        if not 0 < self.block_max_bytes <= limits.MAX_BLOCK_BYTES:
            raise ConfigError(f"block_max_bytes must be in 1..{limits.MAX_BLOCK_BYTES}")
        positive = {
            "view_change_timeout_ms": self.view_change_timeout_ms,
            "max_view_change_timeout_ms": self.max_view_change_timeout_ms,
            "request_timeout_ms": self.request_timeout_ms,
            "retransmit_ms": self.retransmit_ms,
            "checkpoint_interval": self.checkpoint_interval,
            "watermark_window": self.watermark_window,
            "max_clock_drift_ms": self.max_clock_drift_ms,
            "max_buffered_messages": self.max_buffered_messages,
            "max_tick_step_ms": self.max_tick_step_ms,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name} must be a positive integer")
        if self.batch_delay_ms < 0 or self.block_interval_ms < 0:
            raise ConfigError("batch_delay_ms and block_interval_ms must be >= 0")
        if self.batch_delay_ms + self.block_interval_ms >= self.request_timeout_ms:
            raise ConfigError(
                "batch_delay_ms + block_interval_ms must be below request_timeout_ms: backups "
                "would start a view change against a primary that only waits to fill a block"
            )
        if self.max_view_change_timeout_ms < self.view_change_timeout_ms:
            raise ConfigError("max_view_change_timeout_ms must be >= view_change_timeout_ms")
        if self.watermark_window < 2 * self.checkpoint_interval:
            raise ConfigError("watermark_window must be at least 2 * checkpoint_interval")

    @property
    def n(self) -> int:
        return len(self.validators)

    @property
    def f(self) -> int:
        return (len(self.validators) - 1) // 3

    @property
    def quorum(self) -> int:
        """2f+1: any two quorums share at least one honest validator."""
        return 2 * self.f + 1

    @property
    def weak_quorum(self) -> int:
        """f+1: at least one honest validator is in any such set."""
        return self.f + 1

    @property
    def forward_after_ms(self) -> int:
        """A backup forwards an offered transaction to the primary after this long (half the
        request timeout), so a primary that missed its gossip gets it before a view change."""
        return self.request_timeout_ms // 2

    def primary(self, view: int) -> str:
        return self.validators[view % len(self.validators)]
