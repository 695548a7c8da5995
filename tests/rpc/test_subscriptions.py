"""The subscription hub alone: filters, limits, queue overflow, replay/live handover, tx, sync."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.tx import sign_tx
from rpc.errors import InvalidParams
from rpc.notifications import REASON_BAD_FILTER
from rpc.subscriptions import (
    QUEUE_FULL_REASON,
    REASON_TOO_MANY,
    REASON_UNKNOWN_TOPIC,
    Session,
    SubscriptionHub,
)
from tests.rpc.subs_fakes import (
    CHAIN,
    CONTRACT,
    KEY,
    FakeFeed,
    aid_tx,
    drain,
    results,
    transfer_tx,
)


def make(**kwargs: Any) -> tuple[FakeFeed, SubscriptionHub, Session]:
    feed = FakeFeed()
    hub = SubscriptionHub(feed, **kwargs)
    return feed, hub, hub.open_session()


def subscribe(
    hub: SubscriptionHub,
    session: Session,
    topic: str,
    filter: dict[str, Any] | None = None,
    from_height: int | None = None,
) -> str:
    sub_id = hub.subscribe(session, topic, filter, from_height)
    session.activate()
    return sub_id


def refused(hub: SubscriptionHub, session: Session, *args: Any) -> InvalidParams:
    with pytest.raises(InvalidParams) as err:
        hub.subscribe(session, *args)
    return err.value


# --- validation ------------------------------------------------------------------------------------


def test_unknown_topic_is_refused_with_its_reason() -> None:
    _, hub, session = make()
    err = refused(hub, session, "newHeads", None, None)
    assert err.reason == REASON_UNKNOWN_TOPIC and "blocks" in err.message
    assert session.subs == {}


@pytest.mark.parametrize(
    ("topic", "raw", "from_height", "says"),
    [
        ("tx", None, None, '{"hash"'),
        ("tx", {"hash": "zz"}, None, "64-character hex"),
        ("tx", {"hash": "ab" * 32, "extra": 1}, None, '{"hash"'),
        ("tx", {"hash": "ab" * 32}, 3, "from_height applies"),
        ("sync", None, 1, "from_height applies"),
        ("blocks", {"height": 1}, None, "takes no filter"),
        ("sync", {"x": 1}, None, "takes no filter"),
        ("events", {"topic": "x"}, None, "unknown filter key 'topic'"),
        ("events", {"contract": "12"}, None, "filter.contract"),
        ("events", {"event": ""}, None, "filter.event"),
        ("events", {"event": "x" * 65}, None, "filter.event"),
        ("events", {"kind": "spaceship"}, None, "not a ledger entity kind"),
        ("events", {"area": "53a1"}, None, "filter.area"),
        ("events", {"area": 530102}, None, "filter.area"),
        ("events", {"area": "0" * 12}, None, "filter.area"),
        ("events", {"area": "1" * 13}, None, "filter.area"),
    ],
)
def test_bad_filters_are_refused_once_with_a_clear_message(
    topic: str, raw: Any, from_height: int | None, says: str
) -> None:
    _, hub, session = make()
    err = refused(hub, session, topic, raw, from_height)
    assert err.reason == REASON_BAD_FILTER
    assert says in err.message
    assert session.subs == {} and hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}


def test_too_many_subscriptions_then_unsubscribe_frees_a_slot() -> None:
    _, hub, session = make(max_per_socket=2)
    first = subscribe(hub, session, "blocks")
    subscribe(hub, session, "sync")
    err = refused(hub, session, "blocks", None, None)
    assert err.reason == REASON_TOO_MANY and err.data["limit"] == 2
    assert hub.unsubscribe(session, first) is True
    assert hub.unsubscribe(session, first) is False
    assert hub.unsubscribe(session, "0xffffffffffffffff") is False
    subscribe(hub, session, "blocks")
    # another socket has its own table
    other = hub.open_session()
    subscribe(hub, other, "blocks")
    assert hub.unsubscribe(other, first) is False


def test_a_subscribe_unsubscribe_flood_holds_nothing() -> None:
    _, hub, session = make(max_per_socket=4)
    seen = set()
    for _ in range(5_000):
        ids = [subscribe(hub, session, t) for t in ("blocks", "events", "sync")]
        ids.append(subscribe(hub, session, "tx", {"hash": "cd" * 32}))
        assert len(session.subs) == 4
        for sub_id in ids:
            assert hub.unsubscribe(session, sub_id)
        seen.update(ids)
        drain(session)
    assert len(seen) == 20_000  # ids are never reused
    assert session.subs == {} and hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}
    assert hub._tx == {}  # no watched hash is left behind, not even an empty entry


# --- blocks: live, replay, handover ----------------------------------------------------------------


def test_live_blocks_arrive_in_order_after_activation() -> None:
    feed, hub, session = make()
    feed.commit(hub)
    sub = hub.subscribe(session, "blocks", None, None)
    feed.commit(hub)  # committed before the subscribe reply was queued: still delivered
    hub.step()
    assert drain(session) == []  # inactive until its reply is on the queue
    session.activate()
    feed.commit(hub)
    hub.step()
    got = results(drain(session), sub)
    assert [r["height"] for r in got] == [2, 3]
    block = got[0]
    assert block["hash"] == feed.blocks[1].block.hash
    assert block["header"]["height"] == 2 and block["tx_count"] == 0
    assert block["certificate"]["count"] == 4 and block["certificate"]["view"] == 0
    assert len(block["certificate"]["signers"]) == 4
    assert feed.committed_reads == []  # live delivery reads the hook's blocks, not the store


def test_from_height_replays_from_the_store_then_goes_live() -> None:
    feed, hub, session = make()
    for _ in range(40):
        feed.commit(None)  # committed before the hub heard of them
    sub = subscribe(hub, session, "blocks", from_height=0)
    heights: list[int] = []
    while hub.step():
        heights += [r["height"] for r in results(drain(session), sub)]
    heights += [r["height"] for r in results(drain(session), sub)]
    feed.commit(hub)
    hub.step()
    heights += [r["height"] for r in results(drain(session), sub)]
    assert heights == list(range(1, 42))
    assert hub.stats.replayed_blocks == 40


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=12),
    ops=st.lists(st.sampled_from(["commit", "step", "read", "read_one"]), max_size=80),
)
def test_replay_and_live_interleaved_never_gap_nor_repeat(start: int, ops: list[str]) -> None:
    """Any interleaving of commits, pump steps and (slow) reading: the heights a subscriber
    sees are exactly from_height, from_height+1, ... -- replay paced by a small queue. A live
    subscriber that falls a queue behind is dropped; up to then it too saw no gap."""
    feed = FakeFeed()
    hub = SubscriptionHub(feed, queue_bytes=4_000)  # a few block notifications
    session = hub.open_session()
    for _ in range(8):
        feed.commit(hub)
    sub = subscribe(hub, session, "blocks", from_height=start)
    seen: list[int] = []

    def read(n: int | None) -> None:
        while n is None or n > 0:
            item = session.pop_ready()
            if item is None:
                return
            result = json.loads(item.body)["params"]["result"]
            if "error" in result:  # a slow live reader is dropped: what it saw has no gap
                assert result == {"error": "dropped", "reason": QUEUE_FULL_REASON}
                return
            seen.append(result["height"])
            n = None if n is None else n - 1

    for op in ops:
        if op == "commit":
            feed.commit(hub)
        elif op == "step":
            hub.step()
        else:
            read(1 if op == "read_one" else None)
        assert session.drop_reason is None or session.drop_reason == QUEUE_FULL_REASON
        if session.drop_reason is not None:
            break
    for _ in range(1_000):  # then a client that reads everything catches up
        more = hub.step()
        before = len(seen)
        read(None)
        if not more and len(seen) == before:
            break
    first = max(1, start)
    assert seen == list(range(first, first + len(seen)))
    if session.drop_reason is None:
        assert seen[-1:] == [feed.head()] or (not seen and first > feed.head())
        assert sub in session.subs


def test_a_live_subscriber_that_does_not_read_is_told_and_dropped() -> None:
    dropped: list[bool] = []
    feed = FakeFeed()
    hub = SubscriptionHub(feed, queue_bytes=3_000)
    session = hub.open_session(lambda: dropped.append(True))
    sub = subscribe(hub, session, "blocks")
    other = hub.open_session()
    kept = subscribe(hub, other, "blocks")
    for _ in range(10):
        feed.commit(hub)
        hub.step()
        drain(other)  # a normal client reads
    assert dropped == [True] and session.drop_reason == QUEUE_FULL_REASON
    assert session.note_bytes == 0 and session.subs == {}
    left = drain(session)
    assert left == [
        {
            "jsonrpc": "2.0",
            "method": "subscription",
            "params": {
                "subscription": sub,
                "result": {"error": "dropped", "reason": QUEUE_FULL_REASON},
            },
        }
    ]
    assert hub.stats.dropped_clients == 1 and hub.counts()["cursor"] == 1
    feed.commit(hub)
    hub.step()
    assert [r["height"] for r in results(drain(other), kept)] == [11]


def test_replay_is_paced_by_the_queue_and_never_drops() -> None:
    feed, hub, session = make(queue_bytes=4_000)
    for _ in range(30):
        feed.commit(hub)
    sub = subscribe(hub, session, "blocks", from_height=1)
    hub.step()
    assert session.drop_reason is None
    assert 0 < session.note_bytes <= 4_000
    assert hub.step() is False  # nothing to do until the writer drains the queue
    heights = []
    for _ in range(100):
        heights += [r["height"] for r in results(drain(session), sub)]
        if not hub.step() and not session.note_bytes:
            break
    assert heights == list(range(1, 31))


def test_closing_a_session_unregisters_everything() -> None:
    feed, hub, session = make()
    subscribe(hub, session, "blocks")
    subscribe(hub, session, "tx", {"hash": "ab" * 32})
    subscribe(hub, session, "sync")
    session.close()
    assert hub.counts() == {"cursor": 0, "tx": 0, "sync": 0}
    feed.commit(hub)
    hub.step()
    assert drain(session) == []


# --- events ---------------------------------------------------------------------------------------


def _events_block(feed: FakeFeed) -> Any:
    n = feed.nonce
    feed.nonce += 4
    txs = [aid_tx(n), aid_tx(n + 1, "household.apply"), transfer_tx(n + 2)]
    call = sign_tx(KEY, CHAIN, n + 3, "call", {"contract": CONTRACT, "method": "go", "args": {}})
    txs.append(call)
    receipts = [
        {
            "ok": True,
            "events": [{"name": "fund_received", "fund": "f1", "area": "530102000000"}],
            "touched": ["fund/f1"],
        },
        {
            "ok": True,
            "events": [{"name": "household_applied", "household": "h1"}],
            "touched": ["household/h1"],
        },
        {"ok": True, "events": [{"name": "transfer", "amount": 1}]},
        {
            "ok": True,
            "events": [{"contract": CONTRACT, "name": "paid", "fields": {"n": 1}}],
        },
    ]
    return feed.make_block(txs, receipts)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({}, ["fund_received", "household_applied", "paid"]),
        ({"kind": "household"}, ["household_applied"]),
        ({"kind": "fund", "area": "530102"}, ["fund_received"]),
        ({"area": "5301020010"}, ["household_applied"]),  # via the household's stored area
        ({"area": "530102000000"}, ["fund_received", "household_applied"]),  # a county code
        ({"area": "530103"}, []),
        ({"event": "paid"}, ["paid"]),
        ({"contract": CONTRACT.upper()}, ["paid"]),
        ({"contract": "cd" * 32}, []),
    ],
)
def test_events_are_filtered_by_contract_name_kind_and_area(
    raw: dict[str, Any], names: list[str]
) -> None:
    feed, hub, session = make()
    sub = subscribe(hub, session, "events", raw)
    c = feed.commit(hub, _events_block(feed))
    hub.step()
    got = results(drain(session), sub)
    assert [r["event"]["name"] for r in got] == names
    for r in got:
        assert r["height"] == 1 and r["tx_hash"] == c.block.txs[r["tx_index"]].hash
        if r["source"] == "aid":
            assert r["action"] in ("fund.receive", "household.apply") and "contract" not in r
        else:
            assert r["source"] == "contract" and r["contract"] == CONTRACT


def test_events_replay_resumes_inside_a_block_when_the_queue_is_full() -> None:
    feed, hub, session = make(queue_bytes=1_200)
    for _ in range(6):
        feed.commit(hub, _events_block(feed))
    sub = subscribe(hub, session, "events", {}, from_height=1)
    got: list[tuple[int, int, str]] = []
    for _ in range(200):
        hub.step()
        batch = results(drain(session), sub)
        got += [(r["height"], r["tx_index"], r["event"]["name"]) for r in batch]
        if not batch:
            break
    assert session.drop_reason is None
    per_block = [(0, "fund_received"), (1, "household_applied"), (3, "paid")]
    assert got == [(h, i, n) for h in range(1, 7) for i, n in per_block]


ESCALATIONS = (
    {"name": "alert_escalated", "alert": "a1", "household": "h1", "from": "yellow", "to": "orange"},
    {"name": "grievance_escalated", "grievance": "g9", "to": "530000000000"},
)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({}, ["fund_received", "household_applied", "paid", *(e["name"] for e in ESCALATIONS)]),
        ({"event": "alert_escalated"}, ["alert_escalated"]),
        ({"kind": "household"}, ["household_applied", "alert_escalated"]),  # the alert's household
        ({"kind": "grievance"}, ["grievance_escalated"]),
        ({"area": "5301020010"}, ["household_applied", "alert_escalated"]),
        ({"area": "530103"}, ["grievance_escalated"]),  # not the alert, escalated in the same block
        ({"contract": CONTRACT}, ["paid"]),
    ],
)
def test_end_of_block_events_follow_the_transactions_and_are_filtered_by_what_they_name(
    raw: dict[str, Any], names: list[str]
) -> None:
    feed, hub, session = make()
    live = subscribe(hub, session, "events", raw)
    block = _events_block(feed)
    feed.commit(hub, feed.make_block(block.block.txs, block.receipts, ESCALATIONS))
    hub.step()
    got = results(drain(session), live)
    assert [r["event"]["name"] for r in got] == names
    ends = [r for r in got if r["event"]["name"].endswith("_escalated")]
    for r, event in zip(ends, [e for e in ESCALATIONS if e["name"] in names], strict=True):
        assert r == {
            "height": 1,
            "tx_hash": None,
            "tx_index": None,
            "source": "end_block",
            "action": "end_block",
            "event": event,
        }
    replayer = hub.open_session()
    again = subscribe(hub, replayer, "events", raw, from_height=1)
    hub.step()
    assert results(drain(replayer), again) == got  # from_height gives what a live one got


# --- tx and sync ----------------------------------------------------------------------------------


def test_tx_status_goes_unknown_pending_committed_then_ends() -> None:
    feed, hub, session = make()
    tx = aid_tx(0)
    sub = subscribe(hub, session, "tx", {"hash": tx.hash.upper()})
    feed.pending.add(tx.hash)
    hub.on_tx_pending(tx.hash)
    hub.on_tx_pending("ab" * 32)  # not watched: nothing
    hub.step()
    feed.commit(hub, feed.make_block([transfer_tx(1), tx]))
    hub.step()
    feed.commit(hub)
    hub.step()
    got = results(drain(session), sub)
    assert [r["status"] for r in got] == ["unknown", "pending", "committed"]
    assert got[2]["height"] == 1 and got[2]["receipt"]["ok"] is True
    assert got[0] == {"hash": tx.hash, "status": "unknown"}
    assert sub not in session.subs and hub.counts()["tx"] == 0
    assert hub.unsubscribe(session, sub) is False


def test_tx_already_committed_or_pending_is_told_at_once() -> None:
    feed, hub, session = make()
    done, waiting = aid_tx(0), aid_tx(1)
    feed.commit(hub, feed.make_block([done]))
    feed.pending.add(waiting.hash)
    a = subscribe(hub, session, "tx", {"hash": done.hash})
    b = subscribe(hub, session, "tx", {"hash": waiting.hash})
    hub.on_tx_pending(waiting.hash)  # a second admission signal changes nothing
    hub.step()
    msgs = drain(session)
    assert [r["status"] for r in results(msgs, a)] == ["committed"]
    assert [r["status"] for r in results(msgs, b)] == ["pending"]


def test_a_tx_committed_between_status_read_and_scan_is_not_missed() -> None:
    feed, hub, session = make()
    tx = aid_tx(0)
    feed.pending.add(tx.hash)
    sub = subscribe(hub, session, "tx", {"hash": tx.hash})  # reads "pending" now
    feed.commit(hub, feed.make_block([tx]))  # the block lands before the pump's next step
    hub.step()
    assert [r["status"] for r in results(drain(session), sub)] == ["pending", "committed"]


def test_sync_status_at_once_then_only_on_change(monkeypatch: pytest.MonkeyPatch) -> None:
    import rpc.subscriptions as subs

    monkeypatch.setattr(subs, "SYNC_POLL_S", 0.0)
    feed, hub, session = make()
    sub = subscribe(hub, session, "sync")
    hub.step()
    feed.commit(hub)
    hub.step()  # the height moved; syncing and peers did not
    feed.peers = 2
    hub.step()
    feed.syncing = True
    hub.step()
    got = results(drain(session), sub)
    assert got == [
        {"height": 0, "syncing": False, "peers": 3},
        {"height": 1, "syncing": False, "peers": 2},
        {"height": 1, "syncing": True, "peers": 2},
    ]


def test_one_step_serves_every_live_subscriber_of_a_full_block() -> None:
    """The pump's work budget counts reading and encoding a block once, not once per
    subscriber: 250 subscribers of a 1,000-transaction block are served in one step."""
    feed = FakeFeed()
    hub = SubscriptionHub(feed)
    sessions = [hub.open_session() for _ in range(250)]
    ids = [subscribe(hub, s, "blocks") for s in sessions]
    feed.commit(hub, feed.make_block([transfer_tx(n) for n in range(1_000)]))
    assert hub.step() is False
    for session, sub in zip(sessions, ids, strict=True):
        assert [r["tx_count"] for r in results(drain(session), sub)] == [1_000]


def test_a_burst_of_blocks_is_paced_for_a_live_subscriber_not_dropped() -> None:
    """Blocks the pump has not caught up with (state sync applies them in bursts) are paced
    like a replay: only the newest block must fit in the queue."""
    feed, hub, session = make(queue_bytes=4_000)
    sub = subscribe(hub, session, "blocks")
    for _ in range(12):
        feed.commit(hub)
    heights: list[int] = []
    for _ in range(50):
        more = hub.step()
        got = results(drain(session), sub)
        heights += [r["height"] for r in got]
        if not more and not got:
            break
    assert session.drop_reason is None
    assert heights == list(range(1, 13))


def test_a_session_dropped_while_activating_registers_nothing_more() -> None:
    _, hub, session = make(queue_bytes=200)  # one tx status fits, the second does not
    for n in range(3):
        hub.subscribe(session, "tx", {"hash": aid_tx(n).hash}, None)
    hub.subscribe(session, "blocks", None, None)
    session.activate()
    assert session.drop_reason == QUEUE_FULL_REASON
    assert hub.counts() == {"cursor": 0, "tx": 0, "sync": 0} and hub._tx == {}
