"""Timers run on the monotonic clock, block times on the wall clock; a wall jump fires nothing."""

from __future__ import annotations

from dataclasses import replace

from chain.block import EMPTY_ROOT
from consensus.actions import Broadcast
from consensus.messages import PrePrepare, ViewChange, make_pre_prepare
from consensus.replica import Replica
from tests.consensus.helpers import (
    GENESIS_HASH,
    GENESIS_ROOT,
    NonceValidator,
    client_txs,
    config,
    keys,
)
from tests.consensus.test_replica_normal import good_block

KS = keys(4)
CFG = config(KS, request_timeout_ms=1_000, batch_delay_ms=20, max_clock_drift_ms=5_000)
HOUR = 3_600_000
MONO0 = 50_000  # a monotonic clock's origin has nothing to do with the epoch
WALL0 = 1_700_000_000_000


def replica(index: int) -> Replica:
    return Replica(
        CFG,
        KS[index],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=WALL0 - 1_000,
        mono_ms=MONO0,
        wall_ms=WALL0,
    )


def broadcasts(acts: list[object], kind: type) -> list[object]:
    return [a.msg for a in acts if isinstance(a, Broadcast) and isinstance(a.msg, kind)]


def test_a_wall_clock_jump_forward_fires_no_timer() -> None:
    backup = replica(1)
    backup.on_request(client_txs(1))  # the request timer starts now
    acts = backup.on_tick(MONO0 + 100, WALL0 + HOUR)  # NTP steps the wall clock an hour ahead
    assert not broadcasts(acts, ViewChange) and backup.view == 0
    acts = backup.on_tick(MONO0 + 999, WALL0 + HOUR + 900)
    assert not broadcasts(acts, ViewChange)
    acts = backup.on_tick(MONO0 + 1_000, WALL0 + HOUR + 901)  # a real second has passed
    assert broadcasts(acts, ViewChange) and backup.view == 1


def test_a_wall_clock_jump_backward_freezes_no_timer() -> None:
    backup = replica(1)
    backup.on_request(client_txs(1))
    backup.on_tick(MONO0 + 10, WALL0 - HOUR)  # the wall clock steps an hour back
    acts = backup.on_tick(MONO0 + 1_000, WALL0 - HOUR + 990)
    assert broadcasts(acts, ViewChange) and backup.view == 1


def test_a_proposal_is_stamped_with_the_wall_clock_and_timed_by_the_monotonic_one() -> None:
    primary = replica(0)
    primary.on_request(client_txs(2))
    primary.on_tick(MONO0 + 10, WALL0 + HOUR)  # wall jumped, but the batch delay has not passed
    acts = primary.on_tick(MONO0 + 20, WALL0 + HOUR + 10)
    [pp] = broadcasts(acts, PrePrepare)
    assert isinstance(pp, PrePrepare) and pp.block.header.time == WALL0 + HOUR + 10


def test_block_times_stay_increasing_when_the_wall_clock_steps_back() -> None:
    primary = replica(0)
    primary.on_request(client_txs(2))
    acts = primary.on_tick(MONO0 + 20, WALL0 - HOUR)
    [pp] = broadcasts(acts, PrePrepare)
    assert isinstance(pp, PrePrepare) and pp.block.header.time == WALL0 - 1_000 + 1


def test_a_backup_checks_block_time_against_its_wall_clock_not_its_monotonic_one() -> None:
    backup = replica(1)
    future = WALL0 + 6_000  # more than max_clock_drift_ms ahead of the backup's wall clock
    block = good_block(time=future, txs=client_txs(2))
    pp = make_pre_prepare(KS[0], CFG.chain_id, 0, block)
    assert not backup.on_message(pp)  # refused for now ("time too far in the future")
    assert backup.stats.get("invalid_block") == 1
    acts = backup.on_tick(MONO0 + 10, WALL0 + 1_500)  # the wall clock catches up
    assert [a for a in acts if isinstance(a, Broadcast)], "the block is prepared once in range"


def test_a_long_pause_of_the_process_fires_no_timer_at_once() -> None:
    """After a pause (a stopped VM, a huge block) the timers resume, they do not all expire."""
    cfg = replace(CFG, request_timeout_ms=3_000, max_tick_step_ms=500)
    backup = Replica(
        cfg,
        KS[1],
        NonceValidator(),
        last_height=0,
        last_block_hash=GENESIS_HASH,
        last_state_root=GENESIS_ROOT,
        last_receipts_root=EMPTY_ROOT,
        last_block_time=WALL0 - 1_000,
        mono_ms=MONO0,
        wall_ms=WALL0,
    )
    backup.on_request(client_txs(1))  # the request timer starts now
    resumed = MONO0 + HOUR  # the process was paused for an hour
    assert not broadcasts(backup.on_tick(resumed, WALL0 + HOUR), ViewChange)
    fired_at = None
    for t in range(resumed + 100, resumed + 5_000, 100):
        if broadcasts(backup.on_tick(t, WALL0 + HOUR + t - resumed), ViewChange):
            fired_at = t - resumed
            break
    # the pause counted as one bounded step (500 ms); the rest of the timeout runs in real time
    assert fired_at == 2_500 and backup.view == 1
