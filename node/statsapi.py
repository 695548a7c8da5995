"""The ledger's statistics over JSON-RPC: ``aid_stats`` and ``aid_report`` (docs/oversight.md).

Each answer is computed from one LevelDB snapshot (``ChainStore.read_view``): the counters, the
open items and the block time that ages them all belong to the block whose ``height`` the answer
carries. A report is a few prefix scans, but a county's open alerts or idle allocations may be
thousands of entries, so the reads run on the node's bounded query threads like aid lists.

``StatsRpc`` is mixed into the node's RPC implementation next to ``AidRpc``; it touches only the
store and the query runner it is handed (``_stats_setup``).
"""

from __future__ import annotations

from typing import Any

from aid import reports
from aid.policy import Policy
from node.aidapi import Runner
from storage.chainstore import ChainStore, StoreView


def _idle_age_s(view: StoreView) -> int:
    doc = view.get("aid/policy/current")
    return (Policy(**doc) if isinstance(doc, dict) else Policy()).idle_fund_age_s


class StatsRpc:
    """The ``aid_stats`` / ``aid_report`` methods of ``rpc.api.NodeAPI``."""

    _stats_store: ChainStore
    _stats_runner: Runner

    def _stats_setup(self, store: ChainStore, runner: Runner) -> None:
        self._stats_store = store
        self._stats_runner = runner

    async def aid_stats(self, area: str, period: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            with self._stats_store.read_view() as view:
                return reports.raw_stats(view, area, period)

        return await self._stats_runner.run(run)

    async def aid_report(self, kind: str, area: str, period: str | None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            with self._stats_store.read_view() as view:
                return reports.report(view, kind, area, period, idle_age_s=_idle_age_s(view))

        return await self._stats_runner.run(run)
