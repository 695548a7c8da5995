"""JSON-RPC error codes and the one mapping from typed node errors to error objects.

Protocol errors (parse, invalid request, unknown method, invalid params, internal) use the codes
the JSON-RPC 2.0 specification fixes. Application errors (``chain.errors.AidchainError``) get one
stable code per ``reason`` in -32000..-32099, so clients may switch on either the code or
``error.data.reason``; both are public API and must never be renumbered.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chain.errors import AidchainError

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

SERVER_ERROR = -32000  # an application error whose reason has no code of its own

# reason -> code; append only, never renumber (clients switch on these)
APP_ERROR_CODES: dict[str, int] = {
    "bad_signature": -32001,
    "bad_nonce": -32002,
    "wrong_chain": -32003,
    "mempool_full": -32004,
    "malformed_tx": -32005,
    "too_large": -32006,
    "not_found": -32007,
    "contract_error": -32008,
    "invalid_block": -32009,
    "malformed_json": -32010,
    "invalid_certificate": -32011,
    "busy": -32012,
    "unknown_account": -32013,
    "ledger_refused": -32020,
    "unknown_tx": -32030,
    "not_yet_provable": -32031,
    "read_side_off": -32032,
}

# Reasons that name a family: every error class below the one declaring such a reason shares its
# code and keeps its own reason in data.reason (the ledger's wrong_role, over_budget, ... are all
# -32020 ``ledger_refused``; aid/errors.py LedgerError declares it).
FAMILY_REASONS = frozenset({"ledger_refused"})
LEDGER_REFUSED = APP_ERROR_CODES["ledger_refused"]

TOO_LARGE = APP_ERROR_CODES["too_large"]

# reasons carried in data.reason for the protocol-level errors
REASON_PARSE_ERROR = "malformed_json"
REASON_INVALID_REQUEST = "invalid_request"
REASON_METHOD_NOT_FOUND = "method_not_found"
REASON_INVALID_PARAMS = "invalid_params"
REASON_INTERNAL = "internal_error"
REASON_SERVER_ERROR = "server_error"


class RpcProtocolError(AidchainError):
    """A request the dispatcher refuses before (or instead of) calling the node."""

    code = INTERNAL_ERROR
    reason = REASON_INTERNAL

    def __init__(self, message: str, *, reason: str | None = None, **data: Any) -> None:
        super().__init__(message, **data)
        if reason is not None:
            self.reason = reason


class ParseError(RpcProtocolError):
    code = PARSE_ERROR
    reason = REASON_PARSE_ERROR


class InvalidRequest(RpcProtocolError):
    code = INVALID_REQUEST
    reason = REASON_INVALID_REQUEST


class MethodNotFound(RpcProtocolError):
    code = METHOD_NOT_FOUND
    reason = REASON_METHOD_NOT_FOUND


class InvalidParams(RpcProtocolError):
    code = INVALID_PARAMS
    reason = REASON_INVALID_PARAMS


class InternalError(RpcProtocolError):
    code = INTERNAL_ERROR
    reason = REASON_INTERNAL


def code_for_reason(reason: str) -> int:
    """The stable application code for ``reason`` (-32000 for a reason without its own)."""
    return APP_ERROR_CODES.get(reason, SERVER_ERROR)


def _safe_data(reason: str, data: dict[str, Any]) -> dict[str, Any]:
    """``{"reason": reason, **data}`` with ``reason`` winning, dropping data that is not JSON."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "reason":
            continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            log.warning("dropping non-JSON error data field %r (%s)", key, type(value).__name__)
            continue
        out[key] = value
    return {"reason": reason, **out}


def family_reason(err: AidchainError) -> str | None:
    """The family reason declared by a class above ``err``'s, if any (see FAMILY_REASONS)."""
    for cls in type(err).__mro__:
        declared = cls.__dict__.get("reason")
        if declared in FAMILY_REASONS:
            return str(declared)
    return None


def error_object(err: AidchainError) -> dict[str, Any]:
    """The JSON-RPC ``error`` member for a typed error (protocol or application)."""
    if isinstance(err, RpcProtocolError):
        code = err.code
    else:
        code = code_for_reason(family_reason(err) or err.reason)
    return {"code": code, "message": err.message, "data": _safe_data(err.reason, err.data)}


def internal_error_object() -> dict[str, Any]:
    """The ``error`` member for an unexpected exception: it says nothing about the cause."""
    return error_object(InternalError("internal error"))
