"""The node's periodic status line: progress and situation, loud only when it is stuck."""

from __future__ import annotations

import logging

from node.statuslog import Condition, Progress, status_line

UP = Condition(
    view=2, primary="1a2b3c4d5e6f7788" * 4, peers=3, validators=4, mempool=0, syncing=False
)


def test_progress_since_the_last_line_and_the_situation_now() -> None:
    level, text = status_line(Progress(68, 1_000, 10.0), Progress(154, 13_000, 70.2), UP)
    assert level == logging.INFO
    assert text == (
        "status: height 154 (+86 blocks, +12000 txs in 60 s), view 2, primary 1a2b3c4d5e6f, "
        "peers 3/3, mempool 0"
    )


def test_an_idle_chain_is_not_an_alarm() -> None:
    level, text = status_line(Progress(9, 50, 0.0), Progress(9, 50, 60.0), UP)
    assert level == logging.INFO and "+0 blocks" in text and "no block" not in text


def test_waiting_transactions_and_no_block_for_the_whole_interval_is_a_warning() -> None:
    stuck = Condition(view=5, primary="ab" * 32, peers=1, validators=4, mempool=40, syncing=False)
    level, text = status_line(Progress(9, 50, 0.0), Progress(9, 50, 60.0), stuck)
    assert level == logging.WARNING
    assert text.endswith(
        "peers 1/3, mempool 40: transactions wait and no block committed (is a quorum of "
        "validators up?)"
    )


def test_a_node_catching_up_says_so() -> None:
    syncing = Condition(view=0, primary="ab" * 32, peers=3, validators=4, mempool=0, syncing=True)
    _, text = status_line(Progress(1, 0, 0.0), Progress(500, 9_000, 5.0), syncing)
    assert text.endswith("mempool 0, catching up")
