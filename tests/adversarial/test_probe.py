"""The probe itself: an unattacked cluster passes it, and memory readings are plausible."""

from __future__ import annotations

import os

import pytest

from tests.adversarial.probe import MemoryWatch, assert_healthy, rss_mb
from tests.integration.harness import LocalCluster

pytestmark = pytest.mark.integration


def test_rss_of_this_process_is_plausible() -> None:
    assert 5 < rss_mb(os.getpid()) < 4096


async def test_unattacked_cluster_is_healthy(cluster: LocalCluster) -> None:
    watch = MemoryWatch.start(cluster)
    await assert_healthy(cluster, cluster.accounts[0])
    watch.sample()
    assert all(20 < mb < 400 for mb in watch.peak.values()), watch.peak
