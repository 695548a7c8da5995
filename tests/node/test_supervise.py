"""A supervised task never ends quietly, and a node whose task died exits non-zero."""

from __future__ import annotations

import asyncio
import gc
import logging
from pathlib import Path
from typing import Any

import pytest

from consensus.replica import Replica
from node.cluster import init_cluster
from node.config import load_config
from node.daemon import Node, run_node
from node.supervise import stop_supervised, supervise


class Fatal:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def critical(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.CRITICAL]


async def test_a_task_that_raises_is_logged_critical_and_is_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fatal = Fatal()

    async def loop() -> None:
        await asyncio.sleep(0)
        raise ValueError("value nested too deeply")

    task = supervise(loop(), name="tick-loop", on_fatal=fatal)
    with pytest.raises(ValueError):
        await task
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert fatal.calls == 1
    [record] = critical(caplog)
    text = record.getMessage()
    assert "tick-loop" in text and "ValueError" in text and "nested too deeply" in text
    assert record.exc_info is not None  # the traceback is in the log
    await stop_supervised(task)  # shutting down after the death does not raise it again


async def test_a_task_that_returns_is_fatal_too(caplog: pytest.LogCaptureFixture) -> None:
    fatal = Fatal()

    async def loop() -> None:
        return None

    task = supervise(loop(), name="consensus-worker", on_fatal=fatal)
    await task
    await asyncio.sleep(0)
    assert fatal.calls == 1
    [record] = critical(caplog)
    assert "consensus-worker" in record.getMessage()


async def test_cancelling_a_supervised_task_is_a_normal_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fatal = Fatal()
    started = asyncio.Event()

    async def loop() -> None:
        started.set()
        await asyncio.Event().wait()

    task = supervise(loop(), name="tick-loop", on_fatal=fatal)
    await started.wait()
    await stop_supervised(task)
    await asyncio.sleep(0)
    assert task.cancelled()
    assert fatal.calls == 0 and not critical(caplog)
    await stop_supervised(None)


async def test_a_task_cancelled_outside_shutdown_is_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fatal = Fatal()

    async def loop() -> None:
        await asyncio.Event().wait()

    task = supervise(loop(), name="tick-loop", on_fatal=fatal)
    await asyncio.sleep(0)
    task.cancel()  # e.g. a CancelledError escaping from something the loop awaited
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert fatal.calls == 1
    [record] = critical(caplog)
    assert "tick-loop" in record.getMessage() and "cancelled" in record.getMessage()


def _config(tmp_path: Path) -> Any:
    init_cluster(tmp_path / "c", base_port=0)
    return load_config(tmp_path / "c" / "node0" / "config.toml")


async def test_a_node_whose_consensus_worker_raises_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica bug (here: on_tick raises) stops the whole node with exit code 1."""

    def broken(self: Replica, mono_ms: int, wall_ms: int) -> list[Any]:
        raise RuntimeError("replica invariant broken")

    monkeypatch.setattr(Replica, "on_tick", broken)
    code = await asyncio.wait_for(run_node(_config(tmp_path)), 30)
    assert code == 1
    texts = [r.getMessage() for r in critical(caplog)]
    assert any("consensus-worker" in t and "replica invariant broken" in t for t in texts), texts


async def test_a_node_whose_tick_loop_raises_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What finding 2 was: gossip failing inside the tick loop. Now it stops the node loudly."""

    def broken(self: Node) -> None:
        raise RuntimeError("gossip could not be encoded")

    monkeypatch.setattr(Node, "_flush_gossip", broken)
    code = await asyncio.wait_for(run_node(_config(tmp_path)), 30)
    assert code == 1
    texts = [r.getMessage() for r in critical(caplog)]
    assert any("tick-loop" in t and "gossip could not be encoded" in t for t in texts), texts


async def test_a_running_node_keeps_its_start_up_heap_frozen_and_gives_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc.freeze() after start-up (the collector's full passes skip what lives all along);
    run_node unfreezes when it returns, so an embedding process is left as it was."""
    seen: list[int] = []

    def stop_at_first_tick(self: Replica, mono_ms: int, wall_ms: int) -> list[Any]:
        seen.append(gc.get_freeze_count())
        raise RuntimeError("seen one tick")

    monkeypatch.setattr(Replica, "on_tick", stop_at_first_tick)
    before = gc.get_freeze_count()
    code = await asyncio.wait_for(run_node(_config(tmp_path)), 30)
    assert code == 1
    assert seen and seen[0] > before + 1000  # modules, genesis, servers: thousands of objects
    assert gc.get_freeze_count() == 0
