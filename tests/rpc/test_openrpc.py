"""rpc.discover: an OpenRPC document generated from the method table, valid per the meta-schema.

The schemas published for parameters are the checkers' own, so the tests tie the two together:
whatever a checker accepts, its schema accepts, and (for values of valid text) the reverse.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rpc import errors as E
from rpc import openrpc
from rpc.errors import InvalidParams
from rpc.methods import METHODS, Check, Method, Param, bind_params, discover_document
from tests.rpc.fakes import FakeNode, answer
from tests.rpc.openrpc_meta import meta_validator, schema_validator


def discover() -> dict[str, Any]:
    return discover_document()


def test_the_document_is_valid_openrpc() -> None:
    doc = discover()
    problems = sorted(meta_validator().iter_errors(doc), key=lambda e: list(e.path))
    assert not problems, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in problems[:5])
    assert doc["openrpc"].startswith("1.")


def test_the_meta_schema_refuses_a_broken_document() -> None:
    """The validator is real: a method without a name, or a bad error object, is refused."""
    doc = discover()
    del doc["methods"][1]["name"]
    assert not meta_validator().is_valid(doc)
    doc = discover()
    doc["components"]["errors"]["busy"] = {"code": "busy"}
    assert not meta_validator().is_valid(doc)


def test_every_method_of_the_table_is_listed_in_table_order() -> None:
    assert [m["name"] for m in discover()["methods"]] == list(METHODS)


def test_every_method_has_a_result_schema_and_every_param_a_schema() -> None:
    missing = [name for name, m in METHODS.items() if m.result is None]
    assert not missing, f"methods registered without result=...: {missing}"
    no_schema = [
        f"{name}.{p.name}" for name, m in METHODS.items() for p in m.params if p.schema() is None
    ]
    assert not no_schema, f"params whose checker has no schema (use @checks): {no_schema}"
    for method in discover()["methods"]:
        for cd in [*method["params"], method["result"]]:
            schema_validator(cd["schema"])  # each is a valid Draft 7 schema


def test_errors_are_the_codes_of_rpc_errors_with_their_reasons() -> None:
    doc = discover()
    published = doc["components"]["errors"]
    for reason, code in E.APP_ERROR_CODES.items():
        assert published[reason] == {
            "code": code,
            "message": published[reason]["message"],
            "data": {"reason": reason},
        }
    protocol = {e["code"]: e["data"]["reason"] for e in published.values() if e["code"] < -32099}
    assert protocol == {
        E.PARSE_ERROR: E.REASON_PARSE_ERROR,
        E.INVALID_REQUEST: E.REASON_INVALID_REQUEST,
        E.METHOD_NOT_FOUND: E.REASON_METHOD_NOT_FOUND,
        E.INVALID_PARAMS: E.REASON_INVALID_PARAMS,
        E.INTERNAL_ERROR: E.REASON_INTERNAL,
    }
    for method in doc["methods"]:
        refs = [r["$ref"].rsplit("/", 1)[1] for r in method["errors"]]
        assert all(r in published for r in refs), method["name"]
        assert set(openrpc.COMMON_ERRORS) <= set(refs)
    tx_send = next(m for m in doc["methods"] if m["name"] == "tx_send")
    assert {"#/components/errors/bad_nonce", "#/components/errors/mempool_full"} <= {
        r["$ref"] for r in tx_send["errors"]
    }


def test_a_reason_without_a_code_cannot_be_published() -> None:
    with pytest.raises(ValueError, match="no_such_reason"):
        openrpc.error_refs(["no_such_reason"])


def test_a_method_registered_without_a_result_is_caught() -> None:
    async def invoke(api: Any, p: dict[str, Any]) -> Any:
        return None

    bare = Method("x_new", (Param("n", "integer", lambda n, v: v),), invoke, "new")
    assert bare.result is None  # what the table test above refuses
    rendered = bare.openrpc()
    assert rendered["params"][0]["schema"] == {"type": "integer"}  # from the declared type
    odd = Param("n", "a number please", lambda n, v: v)
    assert odd.schema() is None


async def test_rpc_discover_over_json_rpc() -> None:
    resp = await answer(FakeNode(), b'{"jsonrpc":"2.0","method":"rpc.discover","id":1}')
    assert resp["result"] == discover()
    assert meta_validator().is_valid(resp["result"])
    json.dumps(resp["result"], allow_nan=False)


# --- the published param schemas agree with the checkers -----------------------------------------

HEXISH = st.text("0123456789abcdefABCDEFg", min_size=62, max_size=66)
VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([0, 1, 200, 201, 10_000_000, 10_000_001, 2**63 - 1, 2**63, "latest"])
    | st.text(max_size=80)
    | HEXISH,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(min_size=0, max_size=70), inner, max_size=5)
    ),
    max_leaves=8,
)
PARAMS = [(m.name, p) for m in METHODS.values() for p in m.params]


def _accepts(param: Param, value: Any) -> bool:
    try:
        param.check(param.name, value)
    except InvalidParams:
        return False
    return True


@pytest.mark.parametrize(("method", "param"), PARAMS, ids=[f"{m}.{p.name}" for m, p in PARAMS])
@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_param_schema_agrees_with_its_checker(method: str, param: Param, value: Any) -> None:
    schema = param.schema()
    assert schema is not None
    valid = schema_validator(schema).is_valid(value)
    accepted = _accepts(param, value)
    if not isinstance(param.check, Check):
        # a schema from the declared type only: looser than the checker, never stricter
        assert valid or not accepted, f"{method}.{param.name}: the schema refuses {value!r}"
        return
    # strings here are valid Unicode (hypothesis draws no lone surrogates), the one thing a
    # schema cannot say; on everything else the published schema and the checker must agree
    assert valid == accepted, (
        f"{method}.{param.name}: the node {'accepts' if accepted else 'refuses'} {value!r}, "
        f"the schema {'accepts' if valid else 'refuses'} it"
    )


def test_bound_params_of_a_schema_valid_call_reach_the_node() -> None:
    method = METHODS["aid_list"]
    given_params = {"kind": "household", "filters": {"area": "530102000000"}, "limit": 200}
    for cd in method.openrpc()["params"]:
        if cd["name"] in given_params:
            assert schema_validator(cd["schema"]).is_valid(given_params[cd["name"]])
    assert bind_params(method, given_params)["limit"] == 200
