"""The OpenRPC 1.x document ``rpc.discover`` answers, and the JSON Schema pieces it is built from.

The document is generated from the method table that dispatches (``rpc.methods.METHODS``): each
registration carries its parameters' checkers (which know their schema), its result schema and
the error reasons it may answer, so the published API cannot drift from what the node does. This
module knows nothing of that table (it would be an import cycle): ``document`` takes the method
objects already rendered by ``Method.openrpc()``.

Errors are published once, under ``components.errors``, one per code of rpc/errors.py with its
``data.reason``; each method refers to the ones it may answer. The codes and reasons are the
stable API (docs/rpc.md "Errors"); messages are for humans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rpc import errors

OPENRPC_VERSION = "1.2.6"
API_VERSION = "1"  # bump when a method's params or result change incompatibly

Schema = dict[str, Any]

# --- schema pieces -------------------------------------------------------------------------------

HEX64: Schema = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
HEX128: Schema = {"type": "string", "pattern": "^[0-9a-f]{128}$"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
ANY: Schema = {}
NATURAL: Schema = {"type": "integer", "minimum": 0}


def integer(low: int | None = None, high: int | None = None) -> Schema:
    out: Schema = {"type": "integer"}
    if low is not None:
        out["minimum"] = low
    if high is not None:
        out["maximum"] = high
    return out


def text(max_chars: int, min_chars: int = 1) -> Schema:
    return {"type": "string", "minLength": min_chars, "maxLength": max_chars}


def array(items: Schema, max_items: int | None = None) -> Schema:
    out: Schema = {"type": "array", "items": items}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


def nullable(schema: Schema) -> Schema:
    """``schema`` or JSON ``null`` (a result that may be absent, an optional field left unset)."""
    return {"oneOf": [schema, {"type": "null"}]}


def one_of(*schemas: Schema) -> Schema:
    return {"oneOf": list(schemas)}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(
    properties: Mapping[str, Schema],
    required: Iterable[str] | None = None,
    *,
    closed: bool = False,
) -> Schema:
    """An object with ``properties``; every one is required unless ``required`` names a subset.

    Results stay open (``closed=False``) so a node may add fields without breaking a client that
    validates; parameters the node refuses extra members for are ``closed``.
    """
    out: Schema = {
        "type": "object",
        "properties": dict(properties),
        "required": sorted(properties if required is None else required),
    }
    if closed:
        out["additionalProperties"] = False
    return out


# the signed transaction (docs/transactions.md); the node checks the payload per type
TX: Schema = obj(
    {
        "chain_id": text(64),
        "sender": HEX64,
        "nonce": NATURAL,
        "type": STRING,
        "payload": OBJECT,
        "signature": HEX128,
    },
    closed=True,
)

# --- errors --------------------------------------------------------------------------------------

PROTOCOL_ERRORS: dict[str, tuple[int, str, str]] = {
    # component name: (code, data.reason, meaning)
    "parse_error": (errors.PARSE_ERROR, errors.REASON_PARSE_ERROR, "the body is not JSON"),
    "invalid_request": (
        errors.INVALID_REQUEST,
        errors.REASON_INVALID_REQUEST,
        "not a valid JSON-RPC 2.0 request object",
    ),
    "method_not_found": (
        errors.METHOD_NOT_FOUND,
        errors.REASON_METHOD_NOT_FOUND,
        "no such method (data.method names it)",
    ),
    "invalid_params": (
        errors.INVALID_PARAMS,
        errors.REASON_INVALID_PARAMS,
        "a parameter is missing, unknown or of the wrong type (data.param names it)",
    ),
    "internal_error": (
        errors.INTERNAL_ERROR,
        errors.REASON_INTERNAL,
        "a bug in the node; details are in the node's log, never in the answer",
    ),
    "server_error": (
        errors.SERVER_ERROR,
        errors.REASON_SERVER_ERROR,
        "an application error whose reason has no code of its own (data.reason says which)",
    ),
}

# what each application reason means, for the published error objects (docs/rpc.md "Errors")
REASON_MEANINGS: dict[str, str] = {
    "bad_signature": "the transaction's signature does not verify for its sender",
    "bad_nonce": "the nonce is used already or too far ahead (data.expected when known)",
    "wrong_chain": "the transaction's chain_id is not this chain's",
    "mempool_full": "the mempool or this sender's quota is full: back off and retry",
    "malformed_tx": "the transaction's shape, types or values are wrong",
    "too_large": "over a size limit (data.limit)",
    "not_found": "a referenced object does not exist",
    "contract_error": "a read-only contract call failed (data.error_type, data.gas_used)",
    "invalid_block": "a block failed validation",
    "malformed_json": "a value has no canonical encoding (a float, a duplicate key, too deep)",
    "invalid_certificate": "a commit certificate failed validation",
    "busy": "the node is at a concurrency or reply-budget limit: retry later",
    "unknown_account": "the sender has no state on this chain (data.sender)",
    "ledger_refused": "the ledger refused; its own reason is data.reason (docs/ledger.md)",
}

# every method may answer these (envelope checks, a bug, the reply limits)
COMMON_ERRORS = ("invalid_params", "internal_error", "busy", "too_large")


def error_components() -> dict[str, Schema]:
    """One OpenRPC error object per code: the protocol codes and every application reason."""
    out: dict[str, Schema] = {}
    for name, (code, reason, meaning) in PROTOCOL_ERRORS.items():
        out[name] = {"code": code, "message": meaning, "data": {"reason": reason}}
    for reason, code in errors.APP_ERROR_CODES.items():
        meaning = REASON_MEANINGS.get(reason, reason.replace("_", " "))
        out[reason] = {"code": code, "message": meaning, "data": {"reason": reason}}
    return out


def error_refs(reasons: Sequence[str]) -> list[Schema]:
    """References to ``components.errors`` for the common errors and ``reasons``, in order."""
    names = list(dict.fromkeys((*COMMON_ERRORS, *reasons)))
    known = error_components()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"error reasons without a code in rpc/errors.py: {unknown}")
    return [{"$ref": f"#/components/errors/{name}"} for name in names]


# --- the document --------------------------------------------------------------------------------


def content(name: str, schema: Schema, *, required: bool = True, summary: str = "") -> Schema:
    """An OpenRPC content descriptor (a parameter or a result)."""
    out: Schema = {"name": name, "schema": schema, "required": required}
    if summary:
        out["summary"] = summary
    return out


def method_object(
    name: str,
    summary: str,
    params: Sequence[Schema],
    result: Schema,
    reasons: Sequence[str],
) -> Schema:
    return {
        "name": name,
        "summary": summary,
        "paramStructure": "either",  # by position or by name (docs/rpc.md "Parameters")
        "params": list(params),
        "result": content(f"{name}_result", result),
        "errors": error_refs(reasons),
    }


def document(methods: Iterable[Schema]) -> Schema:
    """The OpenRPC document for the rendered ``methods`` (in table order)."""
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "aidchain node JSON-RPC",
            "version": API_VERSION,
            "description": (
                "A permissioned PBFT chain for poverty-alleviation disbursement. POST / or "
                "WebSocket /ws; prose in docs/rpc.md, a Python client in docs/client.md."
            ),
        },
        "methods": list(methods),
        "components": {"errors": error_components()},
    }
