"""Typed journal records: one JSON form, read back exactly, old journals still readable."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.encoding import canonical, loads_strict
from consensus.messages import (
    PreparedCert,
    make_checkpoint,
    make_commit,
    make_pre_prepare,
    make_prepare,
    make_view_change,
    strip_block,
)
from consensus.records import (
    NewViewAccepted,
    RecordError,
    ViewRecord,
    VoteRecord,
    record_from_dict,
)
from tests.consensus.helpers import CHAIN, keys
from tests.consensus.test_replica_normal import good_block

KS = keys(4)


def records() -> list[Any]:
    block = good_block()
    prepared = PreparedCert(0, 1, block.hash, (("aa" * 32, "bb" * 64),))
    return [
        VoteRecord(1, make_pre_prepare(KS[0], CHAIN, 0, block)),
        VoteRecord(1, make_prepare(KS[1], CHAIN, 0, 1, block.hash)),
        VoteRecord(1, make_commit(KS[1], CHAIN, 0, 1, block.hash), prepared, block),
        VoteRecord(16, make_checkpoint(KS[1], CHAIN, 16, block.hash, "cd" * 32)),
        VoteRecord(1, strip_block(make_view_change(KS[1], CHAIN, 3, 0, None, None, None))),
        ViewRecord(17, 3, True),
        NewViewAccepted(5, 2, block.hash),
        NewViewAccepted(5, 2, None),
    ]


@pytest.mark.parametrize("record", records(), ids=lambda r: type(r).__name__)
def test_a_record_reads_back_equal_through_canonical_json(record: Any) -> None:
    raw = record.to_dict()
    assert isinstance(raw["height"], int) and raw["kind"] == record.kind
    assert record_from_dict(loads_strict(canonical(raw))) == record


def test_the_json_form_is_the_one_earlier_versions_wrote() -> None:
    """Journals written before the records were typed restore unchanged (same keys)."""
    assert ViewRecord(9, 2, False).to_dict() == {
        "kind": "view",
        "height": 9,
        "view": 2,
        "in_vc": False,
    }
    old_view = {"kind": "view", "height": 9, "view": 2}  # in_vc was optional
    assert record_from_dict(old_view) == ViewRecord(9, 2, False)
    old_nv = {"kind": "nv_accept", "height": 4, "view": 1, "block_hash": None}
    assert record_from_dict(old_nv) == NewViewAccepted(4, 1, None)
    vote = make_prepare(KS[1], CHAIN, 0, 1, "ab" * 32)
    assert set(VoteRecord(1, vote).to_dict()) == {"kind", "height", "msg"}


def test_a_commit_body_that_is_not_the_prepared_block_is_dropped_not_the_vote() -> None:
    block, other = good_block(), good_block(time=9_001)
    prepared = PreparedCert(0, 1, block.hash, ())
    raw = VoteRecord(1, make_commit(KS[1], CHAIN, 0, 1, block.hash), prepared, other).to_dict()
    got = record_from_dict(raw)
    assert isinstance(got, VoteRecord) and got.block is None and got.prepared == prepared


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"kind": "msg", "height": 1, "msg": {"type": "nope"}},
        {"kind": "weird", "height": 1},
        {"height": 1},
        {"kind": "view", "view": 1},
        {"kind": "view", "height": -1, "view": 1},
        {"kind": "view", "height": True, "view": 1},
        {"kind": "nv_accept", "height": 1},
    ],
)
def test_unreadable_records_raise_record_error(raw: Any) -> None:
    with pytest.raises(RecordError):
        record_from_dict(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["kind", "height", "view", "msg", "block"]), json_values))
def test_arbitrary_json_is_a_record_or_a_record_error(raw: dict[str, Any]) -> None:
    try:
        record_from_dict(raw)
    except RecordError:
        pass
