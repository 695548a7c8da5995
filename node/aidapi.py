"""The disbursement ledger's JSON-RPC reads (``aid_*``, docs/ledger.md "JSON-RPC").

Every read runs on one LevelDB snapshot (``ChainStore.read_view``), so a page, a history or a
trace shows the ledger as of one committed block even while the next one commits. Reads that
can take more than a moment -- lists, traces and ``aid_check`` (which runs a program's rules out
of the transaction's declared gas) -- run on the node's query threads, never on the event loop
that serves RPC and peers. A refusal by the ledger is a ``LedgerError``: the RPC layer maps the
whole family to -32020 ``ledger_refused`` with the ledger's reason in ``error.data.reason``.

``AidRpc`` is mixed into the node's RPC implementation, which hands it the store, the genesis
and its query runner (``_aid_setup``); it touches nothing else of the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aid import assessment, reads
from aid.areas import AreaTree
from aid.errors import BadArgs
from aid.policy import Policy
from aid.state import Records, record_key
from chain.errors import MalformedTx, WrongChain
from chain.tx import tx_verified_from_dict
from node.executor import TxState, aid_receipt, run_aid
from node.genesis import Genesis
from storage.chainstore import ChainStore, StoreView

T = TypeVar("T")
ORG_PUBLIC_FIELDS = ("id", "kind", "name", "area", "enc_key", "enc_keys_retired")
ASSESS_REPORTS = ("assessment", "overdue_visits")


class Runner(Protocol):
    """Runs a blocking read on a worker thread (``node.rpcapi.QueryRunner``), bounded."""

    async def run(self, fn: Callable[[], T]) -> T: ...


def is_ledger_member(store: ChainStore, genesis: Genesis, address: str) -> bool:
    """An account the ledger knows: an organisation admin, or the holder of a role grant.

    Such an account may submit transactions (mempool admission) although it holds no balance.
    """
    return (
        address in genesis.aid_admins or store.get_state(record_key("grants", address)) is not None
    )


def public_orgs(genesis: Genesis, view: StoreView) -> list[dict[str, Any]]:
    """Each organisation's public face (no admin list), in id order, as of ``view``.

    The organisations are those of the genesis; their records come from the state, so a
    rotated encryption key (``org.rotate_key``) shows here at once, with the keys it replaced.
    """
    prefix = record_key("org", "")
    out = []
    for key in sorted(k for k in genesis.aid_records if k.startswith(prefix)):
        record = view.get(key)
        assert isinstance(record, dict), f"organisation {key} from the genesis is not in the state"
        org = {"enc_keys_retired": [], **record}
        out.append({name: org[name] for name in ORG_PUBLIC_FIELDS})
    return out


class AidRpc:
    """The ``aid_*`` methods of ``rpc.api.NodeAPI``."""

    _aid_store: ChainStore
    _aid_genesis: Genesis
    _aid_runner: Runner
    _aid_areas: AreaTree | None

    def _aid_setup(self, store: ChainStore, genesis: Genesis, runner: Runner) -> None:
        self._aid_store = store
        self._aid_genesis = genesis
        self._aid_runner = runner
        self._aid_areas = None

    async def aid_areas(self, under: str | None) -> dict[str, Any]:
        if self._aid_areas is None:  # the genesis tree never changes: built on first use
            prefix = record_key("area", "")
            records = self._aid_genesis.aid_records
            self._aid_areas = AreaTree(
                {k[len(prefix) :]: v for k, v in records.items() if k.startswith(prefix)}
            )
        return {"under": under, "items": self._aid_areas.children(under)}

    async def aid_get(self, kind: str, id: str) -> dict[str, Any] | None:
        with self._aid_store.read_view() as view:
            return reads.get_entity(Records(view), kind, id)

    async def aid_list(
        self, kind: str, filters: dict[str, str], cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            with self._aid_store.read_view() as view:
                page = reads.list_entities(Records(view), view, kind, filters, cursor, limit)
            return page.to_dict()

        return await self._aid_runner.run(run)

    async def aid_history(
        self, kind: str, id: str, cursor: str | None, limit: int | None
    ) -> dict[str, Any]:
        with self._aid_store.read_view() as view:
            return reads.history(view, kind, id, cursor, limit).to_dict()

    async def aid_trace(self, kind: str, id: str) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            with self._aid_store.read_view() as view:
                return reads.trace(Records(view), view, kind, id)

        return await self._aid_runner.run(run)

    async def aid_check(self, tx: Any) -> dict[str, Any]:
        """Run the action as if in the next block, at the head's time; keep nothing.

        The signature is checked (the signer's roles decide the answer) but not the nonce: a
        client checks an action before, or while, earlier ones commit. Rules get the tx's
        declared gas, as in a block (at most ``MAX_CALL_GAS``, on a bounded query thread).
        """
        store = self._aid_store
        signed = tx_verified_from_dict(tx)
        if signed.type != "aid":
            raise MalformedTx(f"aid_check simulates aid transactions, not {signed.type!r}")
        if signed.chain_id != store.chain_id:
            raise WrongChain(
                f"transaction is for chain {signed.chain_id!r}, not {store.chain_id!r}"
            )

        def run() -> dict[str, Any]:
            height, time_ms = store.height + 1, store.head_time
            with store.read_view() as view:
                outcome = run_aid(TxState(view), signed, height, time_ms)
            receipt = aid_receipt(outcome)
            return {key: receipt[key] for key in ("ok", "events", "touched", "gas_used")}

        return await self._aid_runner.run(run)

    async def aid_policy(self) -> dict[str, Any]:
        genesis = self._aid_genesis
        with self._aid_store.read_view() as view:
            doc = view.get(record_key("policy", "current"))
            orgs = public_orgs(genesis, view)
        area_prefix = record_key("area", "")
        return {
            "policy": None if doc is None else Policy(**doc).to_dict(),
            "orgs": orgs,
            "area_count": sum(1 for key in genesis.aid_records if key.startswith(area_prefix)),
        }

    async def aid_assess(
        self,
        area: str,
        period: str | None,
        report: str,
        cursor: str | None,
        limit: int | None,
    ) -> dict[str, Any]:
        """``report`` "assessment" (needs ``period``) or "overdue_visits" (a page), at the head.

        "Now" is the head block's time: two nodes at one height answer the same.
        """
        if report not in ASSESS_REPORTS:
            raise BadArgs(f"report must be one of {', '.join(ASSESS_REPORTS)}")
        if report == "assessment" and period is None:
            raise BadArgs("an assessment names its period: a year like 2026 or a month 2026-11")
        store = self._aid_store

        def run() -> dict[str, Any]:
            with store.read_view() as view:
                records, now = Records(view), store.head_time
                if report == "overdue_visits":
                    page = assessment.overdue_pairings(records, view, area, now, cursor, limit)
                    return {"as_of_ms": now, **page.to_dict()}
                assert period is not None
                return assessment.assessment_report(records, view, area, period, now)

        return await self._aid_runner.run(run)
