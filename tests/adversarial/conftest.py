"""Adversarial tests run real node processes; they reuse the integration fixtures."""

from tests.integration.conftest import cluster, new_cluster, pytest_runtest_makereport

__all__ = ["cluster", "new_cluster", "pytest_runtest_makereport"]
