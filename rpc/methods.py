"""The JSON-RPC method table: names, parameter schemas, and the NodeAPI call behind each.

Parameters arrive by position (array) or by name (object). ``bind_params`` checks count, names
and types against the table and returns clean keyword values, so the node never sees a wrong
type, an upper-case hex string or a missing optional. Every refusal is ``InvalidParams`` with a
message naming the parameter.

The same table is the published API: ``rpc.discover`` renders it as an OpenRPC document
(rpc/openrpc.py). Each checker carries the JSON Schema of what it accepts (``Check``), and each
registration names its result schema and the error reasons it may answer, so adding a method
means adding its schemas in the same block (tests/rpc/test_openrpc.py fails otherwise)::

    Method(
        "tx_proof",
        (Param("hash", HEX64, _hex64),),
        _tx_proof,
        "A committed transaction's proof: tx, receipt, audit paths, header, certificate.",
        result=oa.obj({"tx": oa.TX, "receipt": oa.OBJECT, ...}),
        errors=("unknown_tx", "not_yet_provable"),  # reasons with a code in rpc/errors.py
    ),

A checker decorated with ``@checks(schema)`` publishes that schema (and the tests hold the two
to the same verdicts); a plain function publishes its declared type's (``TYPE_SCHEMAS``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chain import limits
from chain.checks import is_hex64_any_case, is_int
from chain.encoding import canonical, is_valid_text, shown_name
from chain.errors import EncodingError
from rpc import openrpc as oa
from rpc import subscriptions as subs
from rpc.api import NodeAPI
from rpc.errors import InvalidParams

MAX_HEIGHT = 2**63 - 1  # block heights beyond this are refused rather than passed on
MAX_CONTRACT_METHOD_CHARS = limits.MAX_METHOD_CHARS  # what a call transaction may name
LATEST = "latest"
MAX_AID_TEXT_CHARS = 64  # a ledger kind, id or filter value (ids are 20-64 hex characters)
MAX_AID_CURSOR_CHARS = 512  # a cursor is an index key: kind/field/values/id
MAX_AID_FILTERS = 4
MAX_AID_PAGE = 200  # = aid.reads.MAX_PAGE; the ledger refuses larger pages itself too


Checker = Callable[[str, Any], Any]


@dataclass(frozen=True, slots=True)
class Check:
    """A parameter checker with the JSON Schema of the values it accepts (for rpc.discover)."""

    fn: Checker
    schema: oa.Schema

    def __call__(self, name: str, value: Any) -> Any:
        return self.fn(name, value)


def checks(schema: oa.Schema) -> Callable[[Checker], Check]:
    """Decorate a checker with its schema: ``@checks(oa.HEX64) @checks(oa.HEX64)
    def _hex64(name, value): ...``."""

    def wrap(fn: Checker) -> Check:
        return Check(fn, schema)

    return wrap


@checks(oa.HEX64)
def _hex64(name: str, value: Any) -> str:
    if not is_hex64_any_case(value):
        raise InvalidParams(f"parameter '{name}' must be a 64-character hex string", param=name)
    return value.lower()


@checks(oa.OBJECT)
def _obj(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParams(f"parameter '{name}' must be an object", param=name)
    return value


@checks(oa.OBJECT)
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


@checks(oa.one_of(oa.integer(0, MAX_HEIGHT), {"const": LATEST}))
def _height(name: str, value: Any) -> int | str:
    if value == LATEST and isinstance(value, str):
        return LATEST
    if not is_int(value) or not 0 <= value <= MAX_HEIGHT:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 0..{MAX_HEIGHT} or \"latest\"", param=name
        )
    return int(value)


@checks(oa.text(MAX_CONTRACT_METHOD_CHARS))
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


def _text(max_chars: int) -> Check:
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

    return Check(check, oa.text(max_chars))


@checks(
    {
        "type": "object",
        "maxProperties": MAX_AID_FILTERS,
        "propertyNames": oa.text(MAX_AID_TEXT_CHARS),
        "additionalProperties": oa.text(MAX_AID_TEXT_CHARS, min_chars=0),
    }
)
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


@checks(oa.integer(1, MAX_AID_PAGE))
def _page_limit(name: str, value: Any) -> int:
    if not is_int(value) or not 0 < value <= MAX_AID_PAGE:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 1..{MAX_AID_PAGE}", param=name
        )
    return int(value)


@checks(oa.integer(1, limits.MAX_CALL_GAS))
def _gas(name: str, value: Any) -> int:
    if not is_int(value) or not 0 < value <= limits.MAX_CALL_GAS:
        raise InvalidParams(
            f"parameter '{name}' must be an integer in 1..{limits.MAX_CALL_GAS}", param=name
        )
    return int(value)


# the schema of a declared parameter type, for a checker that does not carry its own
TYPE_SCHEMAS: dict[str, oa.Schema] = {
    "hex64": oa.HEX64,
    "string": oa.STRING,
    "integer": {"type": "integer"},
    "object": oa.OBJECT,
    "boolean": oa.BOOLEAN,
}


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

    def schema(self) -> oa.Schema | None:
        """What the checker accepts (its own schema, else its declared type's); None if unknown."""
        if isinstance(self.check, Check):
            return self.check.schema
        return TYPE_SCHEMAS.get(self.type)

    def openrpc(self) -> oa.Schema:
        return oa.content(self.name, self.schema() or oa.ANY, required=self.required)


@dataclass(frozen=True, slots=True)
class Method:
    """One JSON-RPC method: its params, the NodeAPI call, and what rpc.discover publishes.

    ``result`` is the JSON Schema of a successful answer and ``errors`` the application reasons
    (rpc/errors.py) it may answer besides the ones every method may (openrpc.COMMON_ERRORS).
    Every registration states its ``result`` (tests/rpc/test_openrpc.py checks it).
    """

    name: str
    params: tuple[Param, ...]
    invoke: Callable[[NodeAPI, dict[str, Any]], Awaitable[Any]]
    summary: str
    result: oa.Schema | None = None
    errors: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "params": [p.describe() for p in self.params],
        }

    def openrpc(self) -> oa.Schema:
        return oa.method_object(
            self.name,
            self.summary,
            [p.openrpc() for p in self.params],
            oa.ANY if self.result is None else self.result,
            self.errors,
        )


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


async def _aid_areas(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.aid_areas(p["under"])


HEX64 = "hex64"


def _aid_id() -> Param:
    return Param("id", "string", _text(MAX_AID_TEXT_CHARS))


def _aid_cursor() -> Param:
    return _optional("cursor", "string", _text(MAX_AID_CURSOR_CHARS), lambda: None)


def discover_document() -> oa.Schema:
    """The OpenRPC document of the whole table (what ``rpc.discover`` answers)."""
    return oa.document(m.openrpc() for m in METHODS.values())


async def _rpc_discover(api: NodeAPI, p: dict[str, Any]) -> Any:
    return discover_document()


# --- result schemas shared by several methods ----------------------------------------------------

RECEIPT = oa.obj(
    {
        "ok": oa.BOOLEAN,
        "error": oa.nullable(oa.STRING),
        "error_type": oa.nullable(oa.STRING),
        "events": oa.array(oa.OBJECT),
        "gas_used": oa.NATURAL,
        "touched": oa.array(oa.STRING),
    },
    required=("ok", "error", "events"),
)
ENTITY = oa.obj({"kind": oa.STRING, "id": oa.STRING})  # plus the record's own fields
HISTORY_STEP = oa.obj(  # tx null: the block's end-of-block sweep (action "end_block")
    {"height": oa.NATURAL, "tx_index": oa.NATURAL, "tx": oa.nullable(oa.HEX64), "action": oa.STRING}
)

MAX_TRACE_OVERSIGHT = 200  # = aid.reads.MAX_OVERSIGHT_ITEMS
TRACE_ITEM_FIELDS: dict[str, oa.Schema] = {
    "id": oa.STRING,
    "status": oa.STRING,
    "created_height": oa.NATURAL,
}
TRACE_OVERSIGHT = oa.obj(
    {
        "pairings": oa.array(oa.obj(TRACE_ITEM_FIELDS), MAX_TRACE_OVERSIGHT),
        "alerts": oa.array(
            oa.obj({**TRACE_ITEM_FIELDS, "level": oa.STRING, "overdue": oa.BOOLEAN}),
            MAX_TRACE_OVERSIGHT,
        ),
        "grievances": oa.array(
            oa.obj(
                {
                    **TRACE_ITEM_FIELDS,
                    "category": oa.STRING,
                    "overdue": oa.BOOLEAN,
                    "about": oa.STRING,  # "household/<id>" or "entitlement/<id>"
                }
            ),
            MAX_TRACE_OVERSIGHT,
        ),
        "sensitive_grievances": {"const": "omitted"},  # never listed, never counted
        "truncated": oa.BOOLEAN,
    }
)


def _page(item: oa.Schema) -> oa.Schema:
    return oa.obj({"items": oa.array(item, MAX_AID_PAGE), "next_cursor": oa.nullable(oa.STRING)})


# every statistics answer: which report, of which area and period, at which block (aid/reports.py)
REPORT_RESULT = oa.obj(
    {
        "kind": oa.STRING,
        "area": oa.STRING,
        "period": oa.nullable(oa.STRING),
        "height": oa.NATURAL,
        "time": oa.NATURAL,
        "truncated": oa.BOOLEAN,
    }
)


# the reasons an aid_* read may answer (a ledger refusal, a query slot, a reply over the cap)
AID_READ_ERRORS = ("ledger_refused",)
# reads of the ledger index or statistics, refused by a node that keeps neither
READ_SIDE_ERRORS = ("ledger_refused", "read_side_off")
TX_ADMISSION_ERRORS = (
    "malformed_tx",
    "bad_signature",
    "bad_nonce",
    "wrong_chain",
    "mempool_full",
    "unknown_account",
    "malformed_json",
)


# --- public reads: no account, no personal data (docs/oversight.md "Public disclosure") ---------
MAX_PUBLIC_CURSOR_CHARS = 48  # "<height>/<tx index>"
MIN_YEAR, MAX_YEAR = 2000, 2100  # a fund year the public reads accept
# every public answer: the data, the SHA-256 of its canonical JSON (the HTTP ETag), the height
PUBLIC_RESULT = oa.obj({"data": oa.OBJECT, "content_hash": oa.HEX64, "height": oa.NATURAL})


@checks(oa.integer(MIN_YEAR, MAX_YEAR))
def _year(name: str, value: Any) -> int:
    if not is_int(value) or not MIN_YEAR <= value <= MAX_YEAR:
        raise InvalidParams(
            f"parameter '{name}' must be a year in {MIN_YEAR}..{MAX_YEAR}", param=name
        )
    return int(value)


async def _public_disclosure(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.public_disclosure(p["village"], p["period"])


async def _public_funds(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.public_funds(p["area"], p["year"])


async def _public_programs(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.public_programs(p["area"])


async def _public_events(api: NodeAPI, p: dict[str, Any]) -> Any:
    return await api.public_events(p["area"], p["cursor"])


def _area_param(name: str = "area") -> Param:
    return Param(name, "string", _text(12))


PUBLIC_METHODS = (
    Method(
        "public_disclosure",
        (_area_param("village"), Param("period", "string", _text(7))),
        _public_disclosure,
        "The published masked list (公示) of a village and period, with hash and height.",
        result=PUBLIC_RESULT,
        errors=("read_side_off",),
    ),
    Method(
        "public_funds",
        (_area_param(), Param("year", "integer", _year)),
        _public_funds,
        "Funds, allocations and programs of an area and year, with hash and height.",
        result=PUBLIC_RESULT,
        errors=("read_side_off",),
    ),
    Method(
        "public_programs",
        (_area_param(),),
        _public_programs,
        "An area's programs with budgets, payments and targets, with hash and height.",
        result=PUBLIC_RESULT,
        errors=("read_side_off",),
    ),
    Method(
        "public_events",
        (
            _area_param(),
            _optional("cursor", "string", _text(MAX_PUBLIC_CURSOR_CHARS), lambda: None),
        ),
        _public_events,
        "Major events of an area, newest first, paged, with hash and height.",
        result=PUBLIC_RESULT,
        errors=("read_side_off",),
    ),
)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "rpc.discover",
            (),
            _rpc_discover,
            "This API as an OpenRPC 1.x document, generated from the method table.",
            result=oa.obj(
                {"openrpc": oa.STRING, "info": oa.OBJECT, "methods": oa.array(oa.OBJECT)}
            ),
        ),
        Method(
            "tx_send",
            (Param("tx", "object", _obj),),
            _tx_send,
            "Validate a signed transaction and add it to the mempool; returns {hash}.",
            result=oa.obj({"hash": oa.HEX64}),
            errors=TX_ADMISSION_ERRORS,
        ),
        Method(
            "tx_get",
            (Param("hash", HEX64, _hex64),),
            _tx_get,
            "A transaction's status, position and receipt, or null if unknown.",
            result=oa.nullable(
                oa.obj(
                    {
                        "hash": oa.HEX64,
                        "status": oa.enum("pending", "committed"),
                        "height": oa.nullable(oa.NATURAL),
                        "index": oa.nullable(oa.NATURAL),
                        "tx": oa.TX,
                        "receipt": oa.nullable(RECEIPT),
                    }
                )
            ),
        ),
        Method(
            "block_get",
            (Param("height", 'integer >= 0 or "latest"', _height),),
            _block_get,
            "A block with its header, tx hashes and commit certificate, or null.",
            result=oa.nullable(
                oa.obj(
                    {
                        "height": oa.NATURAL,
                        "hash": oa.HEX64,
                        "header": oa.obj(
                            {
                                "height": oa.NATURAL,
                                "prev_hash": oa.HEX64,
                                "tx_root": oa.HEX64,
                                "state_root": oa.HEX64,
                                "time": oa.NATURAL,
                                "proposer": oa.STRING,
                                "view": oa.NATURAL,
                            }
                        ),
                        "txs": oa.array(oa.HEX64),
                        "commit": oa.array(oa.obj({"validator": oa.HEX64, "signature": oa.HEX128})),
                        "commit_view": oa.nullable(oa.NATURAL),
                    }
                )
            ),
        ),
        Method(
            "account_get",
            (Param("address", HEX64, _hex64),),
            _account_get,
            "An account's balance and next nonce.",
            result=oa.obj(
                {
                    "address": oa.HEX64,
                    "balance": oa.NATURAL,
                    "nonce": oa.NATURAL,
                    "next_nonce": oa.NATURAL,
                }
            ),
        ),
        Method(
            "node_status",
            (),
            _node_status,
            "This node's height, view, primary and peers.",
            result=oa.obj(
                {
                    "node_id": oa.HEX64,
                    "name": oa.STRING,
                    "chain_id": oa.STRING,
                    "height": oa.NATURAL,
                    "head_hash": oa.HEX64,
                    "state_root": oa.HEX64,
                    "view": oa.NATURAL,
                    "primary": oa.STRING,
                    "validators": oa.array(oa.STRING),
                    "peers_connected": oa.NATURAL,
                    "mempool_size": oa.NATURAL,
                    "syncing": oa.BOOLEAN,
                    "software": oa.obj({"aidchain": oa.STRING, "python": oa.STRING}),
                    "stats": oa.OBJECT,
                }
            ),
        ),
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
            result=oa.obj(
                {
                    "ok": {"const": True},
                    "result": oa.ANY,
                    "gas_used": oa.NATURAL,
                    "events": oa.array(oa.OBJECT),
                }
            ),
            errors=("not_found", "contract_error", "malformed_json"),
        ),
        Method(
            "contract_get",
            (Param("address", HEX64, _hex64),),
            _contract_get,
            "A deployed contract's metadata, or null.",
            result=oa.nullable(oa.OBJECT),
        ),
        Method(
            "aid_get",
            (Param("kind", "string", _text(MAX_AID_TEXT_CHARS)), _aid_id()),
            _aid_get,
            "One ledger entity (household, fund, program, cycle, ...), or null.",
            result=oa.nullable(ENTITY),
            errors=AID_READ_ERRORS,
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
            result=_page(ENTITY),
            errors=READ_SIDE_ERRORS,
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
            result=_page(HISTORY_STEP),
            errors=READ_SIDE_ERRORS,
        ),
        Method(
            "aid_trace",
            (Param("kind", "string", _text(MAX_AID_TEXT_CHARS)), _aid_id()),
            _aid_trace,
            "The chain of custody around a ledger entity, from fund document to bank outcome.",
            result=oa.obj(
                {
                    "root": oa.STRING,
                    "nodes": oa.array(
                        oa.obj(
                            {
                                "kind": oa.STRING,
                                "id": oa.STRING,
                                "record": oa.OBJECT,
                                "history": oa.array(HISTORY_STEP),
                            }
                        )
                    ),
                    "links": oa.array(oa.array(oa.STRING)),
                    "truncated": oa.BOOLEAN,
                    # a household's pairings, alerts and grievances (never a sensitive one)
                    "oversight": oa.nullable(TRACE_OVERSIGHT),
                }
            ),
            errors=READ_SIDE_ERRORS,
        ),
        Method(
            "aid_check",
            (Param("tx", "object", _obj),),
            _aid_check,
            "Simulate a signed aid transaction on the latest state without admitting it.",
            result=oa.obj(
                {
                    "ok": {"const": True},
                    "events": oa.array(oa.OBJECT),
                    "touched": oa.array(oa.STRING),
                    "gas_used": oa.NATURAL,
                }
            ),
            errors=("ledger_refused", "malformed_tx", "wrong_chain", "bad_signature"),
        ),
        Method(
            "aid_policy",
            (),
            _aid_policy,
            "The ledger's policy, organisations and areas.",
            result=oa.obj(
                {
                    "policy": oa.nullable(oa.OBJECT),
                    "orgs": oa.array(
                        oa.obj(
                            {
                                "id": oa.STRING,
                                "kind": oa.STRING,
                                "name": oa.STRING,
                                "area": oa.STRING,
                                "enc_key": oa.STRING,
                                # keys replaced by org.rotate_key: old seals open with them
                                "enc_keys_retired": oa.array(oa.OBJECT),
                            }
                        )
                    ),
                    "area_count": oa.NATURAL,
                }
            ),
        ),
        Method(
            "aid_areas",
            (_optional("under", "string", _text(12), lambda: None),),
            _aid_areas,
            "The areas directly below an area in the genesis tree (the top ones without it).",
            result=oa.obj(
                {
                    "under": oa.nullable(oa.STRING),
                    "items": oa.array(
                        oa.obj(
                            {
                                "code": oa.STRING,
                                "name": oa.STRING,
                                "level": oa.STRING,
                                "population": oa.NATURAL,
                            },
                            required=("code", "name", "level"),
                        )
                    ),
                }
            ),
            errors=AID_READ_ERRORS,
        ),
        # --- proofs (docs/proofs.md) ---
        Method(
            "tx_proof",
            (Param("hash", HEX64, _hex64),),
            lambda api, p: api.tx_proof(p["hash"]),
            "A committed transaction's proof: tx, receipt, audit paths, headers, certificate.",
            result=oa.obj(
                {
                    "version": oa.NATURAL,
                    "chain_id": oa.STRING,
                    "tx_hash": oa.HEX64,
                    "height": oa.NATURAL,
                    "index": oa.NATURAL,
                    "tx": oa.OBJECT,
                    "receipt": oa.OBJECT,
                    "tx_path": oa.array(oa.HEX64),
                    "receipt_path": oa.array(oa.HEX64),
                    "header": oa.OBJECT,
                    "next_header": oa.OBJECT,
                    "certificate": oa.OBJECT,
                }
            ),
            errors=("unknown_tx", "not_yet_provable"),
        ),
        # oversight (issue 11): the assessment report, and the overdue-visits listing
        Method(
            "aid_assess",
            (
                Param("area", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("period", "string", _text(MAX_AID_TEXT_CHARS), lambda: None),
                _optional("report", "string", _text(MAX_AID_TEXT_CHARS), lambda: "assessment"),
                _aid_cursor(),
                _optional("limit", "integer", _page_limit, lambda: None),
            ),
            lambda api, p: api.aid_assess(**p),
            "Assessment of an area for a period (YYYY or YYYY-MM), or its overdue visits.",
            result=oa.OBJECT,  # two report shapes: docs/oversight.md "Assessment"
            errors=READ_SIDE_ERRORS,
        ),
        # --- public reads (oversight-public; docs/oversight.md) ----------------------------------
        *PUBLIC_METHODS,
        # --- subscriptions (WebSocket /ws only; rpc/subscriptions.py, docs/rpc.md) ---------------
        Method(
            "subscribe",
            (
                Param("topic", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("filter", "object", _obj, lambda: None),
                _optional(
                    "from_height",
                    "integer",
                    Check(subs.check_from_height, oa.integer(0, subs.MAX_HEIGHT)),
                    lambda: None,
                ),
            ),
            subs.subscribe_method,
            "Subscribe to blocks, tx, events or sync on /ws; returns the subscription id.",
            result=oa.STRING,
            # refusals are invalid params with data.reason unknown_topic, bad_filter,
            # too_many_subscriptions or ws_only (docs/rpc.md "Subscriptions")
        ),
        Method(
            "unsubscribe",
            (
                Param(
                    "subscription",
                    "string",
                    Check(subs.check_subscription_id, oa.text(subs.MAX_SUBSCRIPTION_ID_CHARS)),
                ),
            ),
            subs.unsubscribe_method,
            "End a subscription of this connection; false if it is unknown.",
            result=oa.BOOLEAN,
        ),
        # --- statistics and reports (oversight-stats; docs/oversight.md) ---------------------
        Method(
            "aid_stats",
            (
                Param("area", "string", _text(MAX_AID_TEXT_CHARS)),
                _optional("period", "string", _text(MAX_AID_TEXT_CHARS), lambda: None),
            ),
            lambda api, p: api.aid_stats(p["area"], p["period"]),
            "Every statistics counter of an area (and period), at a stated height.",
            result=REPORT_RESULT,
            errors=READ_SIDE_ERRORS,
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
            result=REPORT_RESULT,
            errors=READ_SIDE_ERRORS,
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
