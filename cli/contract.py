"""``aidchain contract ...``: check and run contracts locally, deploy/call/query them on a node.

Exit codes (mapped in cli/main.py): 0 ok; 1 the contract was refused or the call failed; 2 bad
usage (unreadable file, malformed JSON option); 3 the node could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from chain import limits
from chain.crypto import is_pubkey_hex
from chain.keyfile import load_key
from cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_rpc_option,
    json_object,
    print_json,
    rpc_call,
    send_signed,
)
from contracts.runtime import run_local
from contracts.vm.checker import check_source

DEFAULT_SENDER = "00" * 32


def _emit(obj: Any) -> None:
    """Contract commands print one JSON object per line, for scripts."""
    print_json(obj, indent=None)


def _read_source(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limits.MAX_CONTRACT_SOURCE_BYTES:
        raise UsageError(
            f"{path} is {len(data)} bytes; the limit is {limits.MAX_CONTRACT_SOURCE_BYTES}"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None


def _gas(value: int | None) -> int:
    gas = limits.DEFAULT_CALL_GAS if value is None else value
    if not 0 < gas <= limits.MAX_CALL_GAS:
        raise UsageError(f"--gas must be in 1..{limits.MAX_CALL_GAS}")
    return gas


# --- local commands -------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    source = _read_source(args.file)
    module, problems = check_source(source)
    if module is None:
        for problem in problems:
            print(f"{args.file}:{problem.line}:{problem.col}: {problem.message}")
            if problem.hint:
                print(f"    hint: {problem.hint}")
        return EXIT_FAILED
    print(f"{args.file}: ok ({len(module.functions)} functions: {', '.join(module.functions)})")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    source = _read_source(args.file)
    call_args = json_object(args.args, "--args")
    storage = json_object(args.storage, "--storage")
    if not is_pubkey_hex(args.sender):
        raise UsageError("--sender must be 64 lowercase hex characters")
    result, after = run_local(
        source, args.method, call_args, gas=_gas(args.gas), storage=storage, sender=args.sender
    )
    _emit(
        {
            "ok": result.ok,
            "result": result.result,
            "error": result.error,
            "gas_used": result.gas_used,
            "events": result.events,
            "storage": after,
        }
    )
    return EXIT_OK if result.ok else EXIT_FAILED


# --- node commands --------------------------------------------------------------------------------
def cmd_deploy(args: argparse.Namespace) -> int:
    payload = {
        "source": _read_source(args.file),
        "init": json_object(args.init, "--init"),
        "gas": _gas(args.gas),
    }
    key = load_key(args.key)
    return asyncio.run(send_signed(args.rpc, key, "deploy", payload, wait=args.wait))


def cmd_call(args: argparse.Namespace) -> int:
    if not is_pubkey_hex(args.address):
        raise UsageError("ADDRESS must be a 64-hex contract address")
    payload = {
        "contract": args.address,
        "method": args.method,
        "args": json_object(args.args, "--args"),
        "gas": _gas(args.gas),
    }
    key = load_key(args.key)
    return asyncio.run(send_signed(args.rpc, key, "call", payload, wait=args.wait))


def cmd_query(args: argparse.Namespace) -> int:
    if not is_pubkey_hex(args.address):
        raise UsageError("ADDRESS must be a 64-hex contract address")
    params: dict[str, Any] = {
        "contract": args.address,
        "method": args.method,
        "args": json_object(args.args, "--args"),
    }
    if args.gas is not None:
        params["gas"] = _gas(args.gas)
    receipt = dict(asyncio.run(rpc_call(args.rpc, "contract_call", **params)))
    _emit(receipt)
    return EXIT_OK if receipt.get("ok") else EXIT_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``contract`` command group to an ``aidchain`` argument parser."""
    group = subparsers.add_parser("contract", help="check, run, deploy and call contracts")
    sub = group.add_subparsers(dest="contract_command", required=True)

    p = sub.add_parser("check", help="validate a contract; print each problem with line:column")
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("run", help="run one method locally (no chain) and print a JSON result")
    p.add_argument("file")
    p.add_argument("method")
    p.add_argument("--args", help="JSON object of keyword arguments")
    p.add_argument("--gas", type=int)
    p.add_argument("--storage", help="JSON object: the contract's storage before the call")
    p.add_argument("--sender", default=DEFAULT_SENDER, help="64-hex sender address (ctx.sender)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("deploy", help="send a signed deploy transaction")
    p.add_argument("file")
    p.add_argument("--init", help="JSON object of keyword arguments for init()")
    p.add_argument("--gas", type=int)
    p.add_argument("--key", required=True, help="key file (JSON with public_key, secret_key)")
    add_rpc_option(p)
    p.add_argument("--wait", action="store_true", help="wait until committed and print the receipt")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("call", help="send a signed contract call transaction")
    p.add_argument("address")
    p.add_argument("method")
    p.add_argument("--args", help="JSON object of keyword arguments")
    p.add_argument("--gas", type=int)
    p.add_argument("--key", required=True)
    add_rpc_option(p)
    p.add_argument("--wait", action="store_true")
    p.set_defaults(func=cmd_call)

    p = sub.add_parser("query", help="run a method read-only on a node (JSON-RPC contract_call)")
    p.add_argument("address")
    p.add_argument("method")
    p.add_argument("--args", help="JSON object of keyword arguments")
    p.add_argument("--gas", type=int)
    add_rpc_option(p)
    p.set_defaults(func=cmd_query)
