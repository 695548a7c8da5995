"""End-of-block events on a real store: a grievance escalates with no transaction, the event is
stored with the block (outside every root), an ``events`` subscriber gets it live, a
``from_height`` replay from the store gives the very same notifications, and a reindex rebuilds
it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jsonschema import Draft202012Validator

from aid.policy import Policy
from aid.reads import history
from chain.block import EMPTY_ROOT, CommitCertificate
from chain.tx import Transaction
from node.executor import ExecutionResult, Executor
from node.reindex import rebuild
from node.rpcapi import NodeFeed
from rpc.methods import METHODS
from rpc.subscriptions import Session, SubscriptionHub
from storage.chainstore import ChainStore
from tests.aid.helpers import COUNTY, TOWNSHIP, VILLAGE, key
from tests.node.test_executor_aid import Signer, grant_txs, new_id, next_block, open_store
from tests.rpc.subs_fakes import drain, results

FILER = key("filer")
DEADLINE_MS = Policy().grievance_deadline_s * 1000


class Chain:
    """A store, its executor and a hub fed as the daemon feeds it (after the store)."""

    def __init__(self, store: ChainStore) -> None:
        self.store = store
        self.hub = SubscriptionHub(feed(store))
        self.results: list[ExecutionResult] = []

    def commit(self, txs: list[Transaction], dt_ms: int = 1_000) -> ExecutionResult:
        store = self.store
        block = next_block(store, txs, dt_ms)
        cert = CommitCertificate(block.height, block.hash, 0, ())
        result = Executor(store).execute(block)
        store.commit_block(block, cert, result)
        self.hub.on_block(block, result.receipts, cert, result.end_block_events)
        self.results.append(result)
        return result


def feed(store: ChainStore) -> NodeFeed:
    node = SimpleNamespace(
        store=store,
        mempool=SimpleNamespace(get=lambda h: None),
        sync=SimpleNamespace(active=False),
        peers=SimpleNamespace(connected=lambda: []),
    )
    return NodeFeed(node)  # type: ignore[arg-type]


def listen(
    hub: SubscriptionHub, raw: dict[str, Any], from_height: int | None
) -> tuple[Session, str]:
    session = hub.open_session()
    sub = hub.subscribe(session, "events", raw, from_height)
    session.activate()
    return session, sub


def delivered(hub: SubscriptionHub, session: Session, sub: str) -> list[Any]:
    got: list[Any] = []
    for _ in range(100):
        hub.step()
        batch = results(drain(session), sub)
        if not batch:
            return got
        got += batch
    raise AssertionError("the hub kept delivering")


def escalation_chain(store: ChainStore) -> tuple[Chain, str]:
    chain = Chain(store)
    sign = Signer()
    chain.commit(grant_txs(sign, FILER, "handler", COUNTY, "office"))
    filed = sign(FILER, "grievance.file", category="service", area=VILLAGE)
    receipt = chain.commit([filed]).receipts[0]
    assert receipt["ok"], receipt
    return chain, new_id(filed, "grievance")


def test_an_escalation_reaches_live_and_replaying_subscribers_alike(tmp_path: Path) -> None:
    store = open_store(tmp_path / "db")
    try:
        chain, grievance = escalation_chain(store)
        live_all = listen(chain.hub, {}, None)
        live_kind = listen(chain.hub, {"kind": "grievance", "area": "530102"}, None)
        start = store.height + 1
        chain.commit([], dt_ms=DEADLINE_MS)  # past the deadline: the sweep escalates
        escalated = chain.results[-1]
        assert escalated.receipts == [] and escalated.receipts_root == EMPTY_ROOT
        assert [e["name"] for e in escalated.end_block_events] == ["grievance_escalated"]
        event = escalated.end_block_events[0]
        assert (event["grievance"], event["to"], event["height"]) == (grievance, TOWNSHIP, start)
        assert store.get_end_block_events(start) == escalated.end_block_events
        assert store.get_end_block_events(start - 1) == ()  # nothing swept, nothing stored
        chain.commit([])  # a later block: nothing more is due

        expected = {
            "height": start,
            "tx_hash": None,
            "tx_index": None,
            "source": "end_block",
            "action": "end_block",
            "event": event,
        }
        for session, sub in (live_all, live_kind):
            assert delivered(chain.hub, session, sub) == [expected]

        # replay from the store (a hub that never saw the blocks), from the first block on
        fresh = SubscriptionHub(feed(store))
        replay = listen(fresh, {}, 1)
        got = delivered(fresh, *replay)
        assert got[-1] == expected and [g for g in got if g["height"] >= start] == [expected]
        assert all(g["source"] == "aid" for g in got[:-1])
        filtered = listen(fresh, {"kind": "grievance", "area": "530102"}, start)
        assert delivered(fresh, *filtered) == [expected]
        other_county = listen(fresh, {"area": "530103"}, start)
        assert delivered(fresh, *other_county) == []

        # the sweep's step in the grievance's history has no tx, as aid_history publishes it
        with store.read_view() as view:
            steps = history(view, "grievance", grievance).to_dict()
        assert [(s["action"], s["tx"]) for s in steps["items"]][-1] == ("end_block", None)
        schema = METHODS["aid_history"].result
        assert schema is not None
        Draft202012Validator(schema).validate(json.loads(json.dumps(steps)))
    finally:
        store.close()


def test_a_reindex_rebuilds_the_stored_end_of_block_events(tmp_path: Path) -> None:
    live = open_store(tmp_path / "live")
    scratch = open_store(tmp_path / "scratch")
    try:
        chain, _ = escalation_chain(live)
        chain.commit([], dt_ms=DEADLINE_MS)
        stored = live.get_end_block_events(live.height)
        assert stored and json.loads(json.dumps(stored)) == list(stored)
        rebuild(live, scratch, Executor(scratch))
        assert scratch.head_hash == live.head_hash
        heights = range(1, live.height + 1)
        assert [scratch.get_end_block_events(h) for h in heights] == [
            live.get_end_block_events(h) for h in heights
        ]
    finally:
        scratch.close()
        live.close()
