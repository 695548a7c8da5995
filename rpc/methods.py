"""The JSON-RPC method table: names, parameter schemas, and the NodeAPI call behind each.

Parameters arrive by position (array) or by name (object). ``bind_params`` checks count, names
and types against the table and returns clean keyword values, so the node never sees a wrong
type, an upper-case hex string or a missing optional. Every refusal is ``InvalidParams`` with a
message naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.encoding import canonical, is_valid_text, shown_name
from chain.errors import EncodingError
from rpc.api import NodeAPI
from rpc.errors import InvalidParams

MAX_HEIGHT = 2**63 - 1  # block heights beyond this are refused rather than passed on
MAX_CONTRACT_METHOD_CHARS = 128  # same bound as a call transaction's payload.method
LATEST = "latest"
MAX_AID_TEXT_CHARS = 64  # a ledger kind, id or filter value (ids are 20-64 hex characters)
MAX_AID_CURSOR_CHARS = 512  # a cursor is an index key: kind/field/values/id
MAX_AID_FILTERS = 4
MAX_AID_PAGE = 200  # = aid.reads.MAX_PAGE; the ledger refuses larger pages itself too

_HEX64 = re.compile(r"\A[0-9a-fA-F]{64}\Z")

Checker = Callable[[str, Any], Any]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex64(name: str, value: Any) -> str:
    if not isinstance(value, str) or _HEX64.match(value) is None:
        raise InvalidParams(f"parameter '{name}' must be a 64-character hex string", param=name)
    return value.lower()


def _obj(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParams(f"parameter '{name}' must be an object", param=name)
    return value


def _json_obj(name: str, value: Any) -> dict[str, Any]:
    """An object that has canonical bytes (no lone surrogates, not nested too deeply)."""
    obj = _obj(name, value)
    try:
        canonical(obj)
    except EncodingError as exc:
        raise InvalidParams(
            f"parameter '{name}': {exc.message}", reason=EncodingError.reason, param=name
        ) from None
    return obj


def _height(name: str, value: Any) -> int | str:
    if value == LATEST and isinstance(value, str):
        return LATEST
    if not _is_int(value) or not 0 <= value <= MAX_HEIGHT:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 0..{MAX_HEIGHT} or \"latest\"", param=name
        )
    return int(value)


def _contract_method(name: str, value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_CONTRACT_METHOD_CHARS
        or not is_valid_text(value)
    ):
        raise InvalidParams(
            f"parameter '{name}' must be a non-empty string of at most "
            f"{MAX_CONTRACT_METHOD_CHARS} characters of valid Unicode",
            param=name,
        )
    return value


def _text(max_chars: int) -> Checker:
    """A non-empty string of valid Unicode up to ``max_chars``; the ledger checks its meaning."""

    def check(name: str, value: Any) -> str:
        if (
            not isinstance(value, str)
            or not 0 < len(value) <= max_chars
            or not is_valid_text(value)
        ):
            raise InvalidParams(
                f"parameter '{name}' must be a non-empty string of at most {max_chars} "
                "characters of valid Unicode",
                param=name,
            )
        return value

    return check


def _filters(name: str, value: Any) -> dict[str, str]:
    obj = _obj(name, value)
    if len(obj) > MAX_AID_FILTERS or not all(
        isinstance(v, str) and len(v) <= MAX_AID_TEXT_CHARS and is_valid_text(v)
        for v in obj.values()
    ):
        raise InvalidParams(
            f"parameter '{name}' must be an object of at most {MAX_AID_FILTERS} string values "
            f"of at most {MAX_AID_TEXT_CHARS} characters",
            param=name,
        )
    return {_text(MAX_AID_TEXT_CHARS)(f"{name}.{shown_name(k)}", k): v for k, v in obj.items()}


def _page_limit(name: str, value: Any) -> int:
    if not _is_int(value) or not 0 < value <= MAX_AID_PAGE:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 1..{MAX_AID_PAGE}", param=name
        )
    return int(value)


def _gas(name: str, value: Any) -> int:
    if not _is_int(value) or not 0 < value <= limits.MAX_CALL_GAS:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 1..{limits.MAX_CALL_GAS}", param=name
        )
    return int(value)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: ``check`` validates and normalises; optional ones default via ``default``."""

    name: str
    type: str  # for error messages, GET / and docs
    check: Checker
    required: bool = True
    default: Callable[[], Any] | None = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required}


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    params: tuple[Param, ...]
    invoke: Callable[[NodeAPI, dict[str, Any]], Awaitable[Any]]
    summary: str

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "params": [p.describe() for p in self.params],
        }


def _optional(name: str, type_: str, check: Checker, default: Callable[[], Any]) -> Param:
    return Param(name, type_, check, required=False, default=default)


async def _tx_send(api: NodeAPI, p: dict[str, Any]) -> dict[str, Any]:
    return {"hash": await api.tx_send(p["tx"])}


async def _tx_get(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.tx_get(p["hash"])


async def _block_get(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.block_get(p["height"])


async def _account_get(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.account_get(p["address"])


async def _node_status(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.node_status()


async def _contract_call(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.contract_call(p["contract"], p["method"], p["args"], p["gas"], p["sender"])


async def _contract_get(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.contract_get(p["address"])


async def _aid_get(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_get(p["kind"], p["id"])


async def _aid_list(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_list(p["kind"], p["filters"], p["cursor"], p["limit"])


async def _aid_history(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_history(p["kind"], p["id"], p["cursor"], p["limit"])


async def _aid_trace(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_trace(p["kind"], p["id"])


async def _aid_check(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_check(p["tx"])


async def _aid_policy(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_policy()


HEX64 = "hex64"


def _aid_id() -> Param:
    return Param("id", "string", _text(MAX_AID_TEXT_CHARS))


def _aid_cursor() -> Param:
    return _optional("cursor", "string", _text(MAX_AID_CURSOR_CHARS), lambda: None)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "tx_send",
            (Param("tx", "object", _obj),),
            _tx_send,
            "Validate a signed transaction and add it to the mempool; returns {hash}.",
        ),
        Method(
            "tx_get",
            (Param("hash", HEX64, _hex64),),
            _tx_get,
            "A transaction's status, position and receipt, or null if unknown.",
        ),
        Method(
            "block_get",
            (Param("height", 'integer >= 0 or "latest"', _height),),
            _block_get,
            "A block with its header, tx hashes and commit certificate, or null.",
        ),
        Method(
            "account_get",
            (Param("address", HEX64, _hex64),),
            _account_get,
            "An account's balance and next nonce.",
        ),
        Method("node_status", (), _node_status, "This node's height, view, primary and peers."),
        Method(
            "contract_call",
            (
                Param("contract", HEX64, _hex64),
                Param("method", "string", _contract_method),
                _optional("args", "object", _json_obj, dict),
                _optional("gas", "integer", _gas, lambda: None),
                _optional("sender", HEX64, _hex64, lambda: None),
            ),
            _contract_call,
            "Run a contract method read-only against the latest state.",
        ),
        Method(
            "contract_get",
            (Param("address", HEX64, _hex64),),
            _contract_get,
            "A deployed contract's metadata, or null.",
        ),
        Method(
            "aid_get",
            (Param("kind", "string", _text(MAX_AID_TEXT_CHARS)), _aid_id()),
            _aid_get,
            "One ledger entity (household, fund, program, cycle, ...), or null.",
        ),
        Method(
            "aid_list",
            (
                Param("kind", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("filters", "object", _filters, dict),
                _aid_cursor(),
                _optional("limit", "integer", _page_limit, lambda: None),
            ),
            _aid_list,
            "A page of ledger entities by filters (area, status, program, period, ...).",
        ),
        Method(
            "aid_history",
            (
                Param("kind", "string", _text(MAX_AID_TEXT_CHARS)),
                _aid_id(),
                _aid_cursor(),
                _optional("limit", "integer", _page_limit, lambda: None),
            ),
            _aid_history,
            "Every transaction that changed a ledger entity, with height and hash.",
        ),
        Method(
            "aid_trace",
            (Param("kind", "string", _text(MAX_AID_TEXT_CHARS)), _aid_id()),
            _aid_trace,
            "The chain of custody around a ledger entity, from fund document to bank outcome.",
        ),
        Method(
            "aid_check",
            (Param("tx", "object", _obj),),
            _aid_check,
            "Simulate a signed aid transaction on the latest state without admitting it.",
        ),
        Method("aid_policy", (), _aid_policy, "The ledger's policy, organisations and areas."),
        # --- statistics and reports (oversight-stats; docs/oversight.md) ---------------------
        Method(
            "aid_stats",
            (
                Param("area", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("period", "string", _text(MAX_AID_TEXT_CHARS), lambda: None),
            ),
            lambda api, p: api.aid_stats(p["area"], p["period"]),
            "Every statistics counter of an area (and period), at a stated height.",
        ),
        Method(
            "aid_report",
            (
                Param("kind", "string", _text(MAX_AID_TEXT_CHARS)),
                Param("area", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("period", "string", _text(MAX_AID_TEXT_CHARS), lambda: None),
            ),
            lambda api, p: api.aid_report(p["kind"], p["area"], p["period"]),
            "A report (overview, funds, payments_failed, support_share, incidence, "
            "exit_ranking, idle_funds, alerts) of an area and period, at a stated height.",
        ),
    )
}


def bind_params(method: Method, params: list[Any] | dict[str, Any] | None) -> dict[str, Any]:
    """Map positional or named params onto ``method``'s schema; raise InvalidParams naming one.

    An optional parameter given as ``null`` takes its default, so a positional caller can skip
    it (``[contract, method, {}, null, sender]``).
    """
    spec = method.params
    given: dict[str, Any] = {}
    if params is None:
        pass
    elif isinstance(params, list):
        if len(params) > len(spec):
            raise InvalidParams(
                f"{method.name} takes at most {len(spec)} parameter(s), got {len(params)}",
                param=f"#{len(spec)}",
            )
        given = {p.name: v for p, v in zip(spec, params, strict=False)}
    else:
        known = {p.name for p in spec}
        for key in params:
            if key not in known:
                shown = shown_name(key)
                raise InvalidParams(f"unknown parameter '{shown}' for {method.name}", param=shown)
        given = params
    out: dict[str, Any] = {}
    for p in spec:
        value = given.get(p.name)
        if value is None:
            if p.required:
                if p.name in given:  # present but null: the checker says what it must be
                    p.check(p.name, value)
                raise InvalidParams(f"missing required parameter '{p.name}'", param=p.name)
            out[p.name] = p.default() if p.default is not None else None
            continue
        out[p.name] = p.check(p.name, value)
    return out


def param_name_at(method: Method, index: int) -> str:
    """The name of the positional parameter at ``index`` (``#i`` past the end) for messages."""
    return method.params[index].name if index < len(method.params) else f"#{index}"


def describe_methods() -> list[dict[str, Any]]:
    return [m.describe() for m in METHODS.values()]
