"""The rate-limited log: a bounded number of lines per key and window, with an honest count."""

from __future__ import annotations

import logging

import pytest

from node.lograte import MAX_KEYS, RateLimitedLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logger(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.INFO, logger="lograte-test")
    return logging.getLogger("lograte-test")


def test_at_most_limit_lines_per_window_then_a_count(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    rl = RateLimitedLog(limit=3, window_s=60, clock=clock)
    written = [rl.warning(logger, "refused", "refused %s", i) for i in range(1_000)]
    assert written == [True] * 3 + [False] * 997
    assert len(caplog.records) == 3
    assert "further similar lines suppressed for 60 s" in caplog.records[-1].getMessage()
    clock.now = 61.0
    assert rl.warning(logger, "refused", "refused %s", "again")
    messages = [r.getMessage() for r in caplog.records[3:]]
    assert messages == ["suppressed 997 similar (refused) in 61 s", "refused again"]
    assert caplog.records[3].levelno == logging.WARNING


def test_keys_and_loggers_have_separate_budgets(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    rl = RateLimitedLog(limit=1, window_s=60, clock=Clock())
    other = logging.getLogger("lograte-test.other")
    assert rl.warning(logger, "a", "x")
    assert rl.warning(logger, "b", "y")
    assert rl.warning(other, "a", "z")
    assert not rl.warning(logger, "a", "x again")
    assert len(caplog.records) == 3


def test_no_summary_when_nothing_was_suppressed(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    rl = RateLimitedLog(limit=2, window_s=10, clock=clock)
    rl.warning(logger, "k", "one")
    clock.now = 11.0
    rl.warning(logger, "k", "two")
    assert [r.getMessage() for r in caplog.records] == ["one", "two"]


def test_disabled_level_costs_nothing_and_logs_nothing(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    rl = RateLimitedLog(limit=1, window_s=10, clock=Clock())
    assert not rl.log(logger, logging.DEBUG, "k", "hidden")
    assert rl.warning(logger, "k", "shown")  # the debug line did not use the budget
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["shown"]


def test_key_table_is_bounded(logger: logging.Logger) -> None:
    rl = RateLimitedLog(limit=1, window_s=10, clock=Clock())
    for i in range(MAX_KEYS + 50):
        rl.warning(logger, f"k{i}", "x")
    assert len(rl._windows) == MAX_KEYS


def test_exception_info_is_kept_for_the_lines_that_are_written(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    rl = RateLimitedLog(limit=1, window_s=10, clock=Clock())
    try:
        raise ValueError("boom")
    except ValueError:
        rl.log(logger, logging.ERROR, "job", "job failed", exc_info=True)
    assert caplog.records[0].exc_info is not None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimitedLog(limit=0)
    with pytest.raises(ValueError):
        RateLimitedLog(window_s=0)
