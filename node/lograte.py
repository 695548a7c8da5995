"""Rate-limited logging for warnings that an outsider or a stalled cluster can repeat at will.

A line per refused handshake or per failed retransmission lets anyone who can open a socket fill
an operator's disk; dropping repeats silently hides an attack. So each (logger, key) may log at
most ``limit`` lines per ``window_s``; further lines in that window are counted, and the first
line after the window closes says how many were suppressed ("suppressed 4,812 similar in 60 s").
The key names the kind of event (e.g. ``"handshake_refused"``), never a value an outsider chooses
freely, so the table of keys stays small; it is also capped (``MAX_KEYS``) as a backstop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_LIMIT = 5  # lines per key per window
DEFAULT_WINDOW_S = 60.0
MAX_KEYS = 1_024  # distinct (logger, key) pairs tracked; beyond it the oldest window is dropped


@dataclass(slots=True)
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


class RateLimitedLog:
    """Per-(logger, key) line budget; ``log`` returns whether the line was written."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("need limit >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def log(
        self,
        logger: logging.Logger,
        level: int,
        key: str,
        msg: str,
        *args: Any,
        exc_info: Any = None,
    ) -> bool:
        if not logger.isEnabledFor(level):
            return False
        now = self._clock()
        slot = (logger.name, key)
        window = self._windows.get(slot)
        if window is not None and now - window.started >= self.window_s:
            if window.suppressed:
                logger.log(
                    level,
                    "suppressed %d similar (%s) in %.0f s",
                    window.suppressed,
                    key,
                    now - window.started,
                )
            del self._windows[slot]
            window = None
        if window is None:
            if len(self._windows) >= MAX_KEYS:
                del self._windows[next(iter(self._windows))]
            window = self._windows[slot] = _Window(now)
        if window.logged >= self.limit:
            window.suppressed += 1
            return False
        window.logged += 1
        if window.logged == self.limit:
            msg += " (further similar lines suppressed for %.0f s)"
            args = (*args, self.window_s)
        logger.log(level, msg, *args, exc_info=exc_info)
        return True

    def warning(self, logger: logging.Logger, key: str, msg: str, *args: Any) -> bool:
        return self.log(logger, logging.WARNING, key, msg, *args)


# One budget for the whole process: the daemon's repeatable warnings share it.
ratelimited = RateLimitedLog()
