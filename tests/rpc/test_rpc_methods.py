"""The method table's parameter binding, including properties over arbitrary inputs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain import limits
from rpc.errors import InvalidParams
from rpc.methods import MAX_HEIGHT, METHODS, bind_params

HEX = "0f" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=70),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def test_table_lists_exactly_the_issue_methods() -> None:
    assert set(METHODS) == {
        "rpc.discover",
        "tx_send",
        "tx_get",
        "block_get",
        "tx_proof",
        "account_get",
        "node_status",
        "contract_call",
        "contract_get",
        "aid_get",
        "aid_list",
        "aid_history",
        "aid_trace",
        "aid_check",
        "aid_policy",
        "aid_areas",  # the genesis area tree, for the codes an action needs
        "aid_assess",  # issue 11 (oversight)
        # public reads (docs/oversight.md)
        "public_disclosure",
        "public_funds",
        "public_programs",
        "public_events",
        "subscribe",
        "unsubscribe",
        "aid_stats",
        "aid_report",
    }
    assert [p.name for p in METHODS["contract_call"].params] == [
        "contract",
        "method",
        "args",
        "gas",
        "sender",
    ]
    assert [p.required for p in METHODS["contract_call"].params] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_positional_and_named_bind_to_the_same_values() -> None:
    m = METHODS["contract_call"]
    pos = bind_params(m, [HEX.upper(), "pay", {"k": 1}, 5, HEX])
    named = bind_params(
        m, {"sender": HEX, "gas": 5, "args": {"k": 1}, "method": "pay", "contract": HEX}
    )
    assert (
        pos
        == named
        == {"contract": HEX, "method": "pay", "args": {"k": 1}, "gas": 5, "sender": HEX}
    )


def test_optional_defaults_are_fresh_objects() -> None:
    m = METHODS["contract_call"]
    a = bind_params(m, [HEX, "x"])
    b = bind_params(m, [HEX, "x"])
    assert a["args"] == {} and a["args"] is not b["args"]
    assert a["gas"] is None and a["sender"] is None


def test_limits_at_the_edges() -> None:
    assert bind_params(METHODS["block_get"], [0]) == {"height": 0}
    assert bind_params(METHODS["block_get"], [MAX_HEIGHT]) == {"height": MAX_HEIGHT}
    gas_ok = bind_params(
        METHODS["contract_call"], {"contract": HEX, "method": "m", "gas": limits.MAX_CALL_GAS}
    )
    assert gas_ok["gas"] == limits.MAX_CALL_GAS
    with pytest.raises(InvalidParams, match="gas"):
        bind_params(
            METHODS["contract_call"],
            {"contract": HEX, "method": "m", "gas": limits.MAX_CALL_GAS + 1},
        )


@given(
    name=st.sampled_from(sorted(METHODS)),
    params=st.lists(json_values, max_size=6)
    | st.dictionaries(st.text(max_size=10), json_values, max_size=6),
)
def test_binding_either_succeeds_with_schema_keys_or_raises_invalid_params(
    name: str, params: Any
) -> None:
    method = METHODS[name]
    try:
        bound = bind_params(method, params)
    except InvalidParams as exc:
        assert exc.code == -32602
        assert isinstance(exc.data["param"], str)
        assert exc.data["param"] in exc.message or exc.data["param"].startswith("#")
        return
    assert list(bound) == [p.name for p in method.params]
    for p in method.params:
        if p.required:
            assert bound[p.name] is not None


@given(st.text(min_size=64, max_size=64, alphabet="0123456789abcdefABCDEF"))
def test_any_hex64_is_accepted_and_lowercased(value: str) -> None:
    assert bind_params(METHODS["tx_get"], [value]) == {"hash": value.lower()}


def test_aid_reads_bind_kind_id_filters_cursor_and_limit() -> None:
    m = METHODS["aid_list"]
    assert bind_params(m, {"kind": "household"}) == {
        "kind": "household",
        "filters": {},
        "cursor": None,
        "limit": None,
    }
    bound = bind_params(m, ["household", {"area": "530102000000"}, "household/area/5", 200])
    assert bound["filters"] == {"area": "530102000000"} and bound["limit"] == 200
    assert bind_params(METHODS["aid_get"], ["fund", "ab" * 10]) == {"kind": "fund", "id": "ab" * 10}
    assert bind_params(METHODS["aid_policy"], []) == {}


@pytest.mark.parametrize(
    ("method", "params", "param"),
    [
        ("aid_get", {"kind": "", "id": "x"}, "kind"),
        ("aid_get", {"kind": "fund", "id": "x" * 65}, "id"),
        ("aid_get", {"kind": "fund", "id": 5}, "id"),
        ("aid_list", {"kind": "household", "filters": {"area": 5}}, "filters"),
        ("aid_list", {"kind": "household", "filters": [1]}, "filters"),
        ("aid_list", {"kind": "household", "filters": {str(i): "a" for i in range(5)}}, "filters"),
        ("aid_list", {"kind": "household", "limit": 201}, "limit"),
        ("aid_list", {"kind": "household", "limit": 0}, "limit"),
        ("aid_history", {"kind": "fund", "id": "x", "cursor": "c" * 513}, "cursor"),
        ("aid_check", {"tx": "not an object"}, "tx"),
    ],
)
def test_aid_params_are_refused_naming_the_parameter(
    method: str, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(InvalidParams) as info:
        bind_params(METHODS[method], params)
    assert info.value.data["param"] == param
