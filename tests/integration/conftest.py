from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import LocalCluster


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
async def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[LocalCluster]:
    c = LocalCluster(tmp_path)
    try:
        await c.start_all()
        yield c
    finally:
        c.stop_all()
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            for i in range(c.n):
                print(f"--- node{i} log tail ---\n{c.log_tail(i)}")


@pytest.fixture
def new_cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Factory for tests that need custom options before starting; cleans up every node."""
    made: list[LocalCluster] = []

    def make(**kwargs: Any) -> LocalCluster:
        c = LocalCluster(tmp_path / f"c{len(made)}", **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop_all()
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            for i in range(c.n):
                print(f"--- node{i} log tail ---\n{c.log_tail(i)}")
