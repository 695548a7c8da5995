"""Supervised tasks: a task meant to run for the node's lifetime never ends quietly.

asyncio keeps the exception of a task nobody awaits until the task is garbage-collected, so a
background loop that raises simply stops: a node whose tick loop died kept answering RPC while
its clock and gossip had stopped (half alive). A supervised task that raises, or that returns
although it should run forever, is logged CRITICAL with its name and the cause, and ``on_fatal``
is called; the daemon's ``on_fatal`` makes ``run_node`` stop the node and exit non-zero, so the
operator's process supervisor restarts it cleanly. Only cancellation by ``stop_supervised``
(the node shutting down) is a normal end.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

# Tasks being stopped by stop_supervised: only their cancellation is a normal end.
_stopping: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()


def supervise(
    coro: Coroutine[Any, Any, None], *, name: str, on_fatal: Callable[[], None]
) -> asyncio.Task[None]:
    """Start ``coro`` as a task named ``name`` whose unexpected end calls ``on_fatal``."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    task.add_done_callback(lambda done: _on_done(done, name, on_fatal))
    return task


def supervise_job(
    coro: Coroutine[Any, Any, None], *, name: str, on_fatal: Callable[[], None]
) -> asyncio.Task[None]:
    """Start a task that may end (one sync round, one served request) but never die of a bug.

    Expected failures (a peer that lies, a timeout) are handled inside the job; an exception
    that escapes it is a bug, logged CRITICAL with ``on_fatal`` called, as for a lifetime task.
    A normal end or a cancellation is fine.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    task.add_done_callback(lambda done: _on_job_done(done, name, on_fatal))
    return task


def _on_job_done(task: asyncio.Task[None], name: str, on_fatal: Callable[[], None]) -> None:
    if task.cancelled() or task.exception() is None:
        return
    exc = task.exception()
    log.critical(
        "task %s died: %s: %s; stopping the node", name, type(exc).__name__, exc, exc_info=exc
    )
    on_fatal()


def _on_done(task: asyncio.Task[None], name: str, on_fatal: Callable[[], None]) -> None:
    if task.cancelled():
        if task in _stopping:
            return
        log.critical("task %s was cancelled outside shutdown; stopping the node", name)
        on_fatal()
        return
    exc = task.exception()
    if exc is None:
        log.critical("task %s ended although it must run until shutdown; stopping the node", name)
    else:
        log.critical(
            "task %s died: %s: %s; stopping the node",
            name,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
    on_fatal()


async def stop_supervised(task: asyncio.Task[None] | None) -> None:
    """Cancel a supervised task and wait until it has stopped (shutdown path).

    A task that already ended was reported by its done callback, so its error is not raised
    again here; shutdown goes on and the exit code says what happened.
    """
    if task is None or task.done():
        return
    _stopping.add(task)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # our caller is being cancelled, not the task
