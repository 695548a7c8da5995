"""The [rpc] subscription limits in config.toml: defaults, and the relations checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain import limits
from chain.errors import ConfigError
from node.config import RpcConfig, load_config


def _load(tmp_path: Path, rpc: str) -> RpcConfig:
    path = tmp_path / "config.toml"
    path.write_text(f"[node]\ngenesis='g.json'\n[rpc]\n{rpc}\n")
    return load_config(path).rpc


def test_defaults_and_overrides(tmp_path: Path) -> None:
    rpc = _load(tmp_path, "")
    assert rpc.max_subscriptions_per_socket == limits.DEFAULT_RPC_MAX_SUBSCRIPTIONS_PER_SOCKET == 16
    assert rpc.subscription_queue_bytes == limits.DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES
    rpc = _load(tmp_path, "max_subscriptions_per_socket=2\nsubscription_queue_bytes=65536")
    assert (rpc.max_subscriptions_per_socket, rpc.subscription_queue_bytes) == (2, 65536)


def test_defaults_satisfy_every_relation() -> None:
    queue = limits.DEFAULT_RPC_SUBSCRIPTION_QUEUE_BYTES
    assert limits.MIN_RPC_SUBSCRIPTION_QUEUE_BYTES <= queue <= limits.DEFAULT_RPC_REPLY_BUDGET_BYTES
    assert limits.DEFAULT_RPC_MAX_WEBSOCKETS * queue <= limits.MAX_RPC_SUBSCRIPTION_MEMORY_BYTES


@pytest.mark.parametrize(
    ("rpc", "message"),
    [
        ("max_subscriptions_per_socket=0", "max_subscriptions_per_socket must be in 1.."),
        ("max_subscriptions_per_socket=1025", "max_subscriptions_per_socket must be in 1.."),
        ("subscription_queue_bytes=1000", "subscription_queue_bytes must be >= 65536"),
        (
            "max_reply_bytes=1048576\nreply_budget_bytes=1048576\nsubscription_queue_bytes=2097152",
            "subscription_queue_bytes must be <= reply_budget_bytes",
        ),
        (
            "max_websockets=2048\nsubscription_queue_bytes=1048576",
            "max_websockets x subscription_queue_bytes",
        ),
    ],
)
def test_bad_subscription_limits_are_refused_at_load(
    tmp_path: Path, rpc: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, rpc)
