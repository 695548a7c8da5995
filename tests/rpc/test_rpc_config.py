"""The [rpc] reply limits in config.toml: defaults, and the relations checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain import limits
from chain.errors import ConfigError
from node.config import MIN_RPC_REPLY_BYTES, RpcConfig, load_config


def _load(tmp_path: Path, rpc: str) -> RpcConfig:
    path = tmp_path / "config.toml"
    path.write_text(f"[node]\ngenesis='g.json'\n[rpc]\n{rpc}\n")
    return load_config(path).rpc


def test_defaults_and_overrides(tmp_path: Path) -> None:
    rpc = _load(tmp_path, "")
    assert rpc.max_reply_bytes == limits.DEFAULT_RPC_MAX_REPLY_BYTES
    assert rpc.reply_budget_bytes == limits.DEFAULT_RPC_REPLY_BUDGET_BYTES
    assert rpc.send_timeout_ms == limits.DEFAULT_RPC_SEND_TIMEOUT_MS
    rpc = _load(
        tmp_path, "max_reply_bytes=1048576\nreply_budget_bytes=2097152\nsend_timeout_ms=500"
    )
    assert (rpc.max_reply_bytes, rpc.reply_budget_bytes, rpc.send_timeout_ms) == (
        1 << 20,
        2 << 20,
        500,
    )


@pytest.mark.parametrize(
    ("rpc", "message"),
    [
        (f"max_reply_bytes={MIN_RPC_REPLY_BYTES - 1}", "max_reply_bytes must be >="),
        ("max_reply_bytes=4194304\nreply_budget_bytes=1048576", "reply_budget_bytes must be >="),
        ("send_timeout_ms=10", "send_timeout_ms must be >= 100"),
        ("max_inflight=0", "max_inflight must be >= 1"),
    ],
)
def test_bad_rpc_limits_are_refused_at_load(tmp_path: Path, rpc: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, rpc)
