"""ConsensusConfig refuses values that would make the protocol unsafe or stuck."""

from __future__ import annotations

from typing import Any

import pytest

from chain.errors import ConfigError
from consensus.config import ConsensusConfig
from tests.consensus.helpers import CHAIN, keys

VALS = tuple(k.public_hex for k in keys(7))


@pytest.mark.parametrize(
    "changes",
    [
        {"validators": VALS[:3]},
        {"validators": (VALS[0],) * 4},
        {"validators": ("xyz",) * 4},
        {"chain_id": ""},
        {"block_max_txs": 0},
        {"block_max_txs": 10**6},
        {"block_max_bytes": 0},
        {"retransmit_ms": 0},
        {"request_timeout_ms": -1},
        {"batch_delay_ms": -1},
        {"block_interval_ms": -1},
        # a primary waiting to fill a block must propose before backups give up on it
        {"batch_delay_ms": 1_000, "block_interval_ms": 2_000, "request_timeout_ms": 3_000},
        {"view_change_timeout_ms": 5000, "max_view_change_timeout_ms": 1000},
        {"checkpoint_interval": 16, "watermark_window": 20},
    ],
)
def test_bad_configs_are_refused(changes: dict[str, Any]) -> None:
    args: dict[str, Any] = {"chain_id": CHAIN, "validators": VALS[:4], **changes}
    with pytest.raises(ConfigError):
        ConsensusConfig(**args)


@pytest.mark.parametrize("n,f,quorum", [(4, 1, 3), (7, 2, 5)])
def test_quorum_sizes(n: int, f: int, quorum: int) -> None:
    cfg = ConsensusConfig(chain_id=CHAIN, validators=VALS[:n])
    assert (cfg.n, cfg.f, cfg.quorum, cfg.weak_quorum) == (n, f, quorum, f + 1)
    assert [cfg.primary(v) for v in range(n + 1)] == [*VALS[:n], VALS[0]]
