"""``aidchain aid ...``: the ledger for a clerk: signed actions, household data, reads.

Every action is signed with the sender's next nonce and first simulated by the node
(``aid_check``, cli/sending.py), so a refusal comes back at once with the reason a clerk can
act on (exit 1), before anything enters the mempool; ``aidchain aid ACTION --help`` prints the
action's entry of aid/catalog.py. The household commands (cli/household.py), the bank's batch
file and report (cli/payfile.py, cli/bankreport.py) and sealed notes (cli/notes.py) are
commands of this group. Exit codes as everywhere (cli/main.py): 0 ok, 1 refused or failed,
2 bad usage or key file, 3 node unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import textwrap
from pathlib import Path
from typing import Any

from aid.areas import area_contains, area_level
from aid.catalog import CATALOG, ActionDoc
from aid.errors import LedgerError
from aid.indexes import INDEXED_KINDS
from aid.ledger import ACTIONS
from aid.reads import LIST_SPECS, MAX_PAGE
from aid.roles import ROLES
from chain import limits
from chain.encoding import loads_strict
from chain.errors import EncodingError
from chain.keyfile import load_key
from cli import bankreport, household, notes, payfile, report
from cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CliError,
    UsageError,
    add_rpc_option,
    json_object,
    print_json,
    rpc_call,
)
from cli.sending import LedgerRefused, send_action, send_options
from node.aidclient import (
    registry_fingerprint,
    write_enc_key,
    write_registry_key,
)

# every filter some kind's list takes (aid/reads.py LIST_SPECS), in first-seen order
LIST_FILTERS = tuple(
    dict.fromkeys(name for specs in LIST_SPECS.values() for _, names in specs for name in names)
)
KINDS = tuple(sorted(INDEXED_KINDS))  # what aid_get, aid_history and aid_trace read


# --- arguments ------------------------------------------------------------------------------------
def parse_action_args(args_json: str | None, pairs: list[str] | None) -> dict[str, Any]:
    """The action's arguments: ``--args JSON`` overlaid by each ``--arg name=value``.

    A value that parses as JSON (numbers, true/false, lists, objects, quoted strings) is taken
    as that; anything else is a plain string, so ``--arg stage=village`` needs no quoting.
    A run of digits too large for any of the ledger's integers (``limits.MAX_AMOUNT`` and up)
    stays a string too: it is an id or a hash that happens to hold no letter (an id is 20 hex
    characters, so about one in 13,000 is all digits), never a number the ledger would take.
    Digits meant as text below that bound, an area code say, are quoted: ``area='"5301..."'``.
    """
    out = json_object(args_json, "--args")
    for pair in pairs or []:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--arg {pair!r} must be NAME=VALUE")
        out[name] = _pair_value(text)
    return out


def _pair_value(text: str) -> Any:
    """What ``--arg NAME=text`` sends (``parse_action_args``)."""
    try:
        value = loads_strict(text)
    except EncodingError:
        return text
    if type(value) is int and text.isdigit() and value >= limits.MAX_AMOUNT:
        return text
    return value


def quoting_hint(argument: str | None, pairs: list[str] | None) -> str:
    """Advice for a refused ``argument`` that went as a number from unquoted digits, else "".

    A clerk who types ``--arg area=530102001001`` sends the number 530102001001, and the ledger
    answers that ``area`` must be a string: true, but it does not say why, nor how to send it.
    """
    given = [text for name, _, text in (p.partition("=") for p in pairs or []) if name == argument]
    if not given:
        return ""
    text = given[-1]  # the last --arg of a name is the one sent
    if not (text.isdigit() and type(_pair_value(text)) is int):
        return ""
    return (
        f"--arg {argument}={text} went as a number; to send it as text, quote it as JSON: "
        f"--arg '{argument}=\"{text}\"'"
    )


def check_gas(gas: int | None) -> int | None:
    if gas is not None and not 0 <= gas <= limits.MAX_CALL_GAS:
        raise UsageError(f"--gas must be in 0..{limits.MAX_CALL_GAS}")
    return gas


def cmd_action(args: argparse.Namespace) -> int:
    action_args = parse_action_args(args.args, args.arg)
    key = load_key(args.key)
    sending = send_action(
        args.rpc,
        key,
        args.action,
        action_args,
        gas=check_gas(args.gas),
        wait=args.wait,
        check=not args.no_check,
    )
    try:
        asyncio.run(sending)
    except LedgerRefused as exc:
        hint = quoting_hint(exc.argument, args.arg)
        if hint:
            raise CliError(f"{exc}\n{hint}", exc.code) from None
        raise
    return EXIT_OK


# --- reads ----------------------------------------------------------------------------------------
def list_params(args: argparse.Namespace) -> dict[str, Any]:
    filters = {f: getattr(args, f) for f in LIST_FILTERS if getattr(args, f) is not None}
    return page_params(args, {"kind": args.kind, "filters": filters})


def page_params(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the page options: --cursor, and --limit (checked)."""
    if args.cursor is not None:
        params["cursor"] = args.cursor
    if args.limit is not None:
        if not 1 <= args.limit <= MAX_PAGE:
            raise UsageError(f"--limit must be in 1..{MAX_PAGE}")
        params["limit"] = args.limit
    return params


def _read(args: argparse.Namespace, method: str, params: dict[str, Any]) -> int:
    result = asyncio.run(rpc_call(args.rpc, method, **params))
    print_json(result)
    return EXIT_OK if result is not None else EXIT_FAILED


def cmd_get(args: argparse.Namespace) -> int:
    return _read(args, "aid_get", {"kind": args.kind, "id": args.id})


def cmd_list(args: argparse.Namespace) -> int:
    return _read(args, "aid_list", list_params(args))


def cmd_history(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"kind": args.kind, "id": args.id}
    if args.cursor is not None:
        params["cursor"] = args.cursor
    return _read(args, "aid_history", params)


def cmd_trace(args: argparse.Namespace) -> int:
    return _read(args, "aid_trace", {"kind": args.kind, "id": args.id})


def cmd_areas(args: argparse.Namespace) -> int:
    return _read(args, "aid_areas", {} if args.under is None else {"under": args.under})


def cmd_policy(args: argparse.Namespace) -> int:
    return _read(args, "aid_policy", {})


def grant_rows(entity: dict[str, Any] | None, args: argparse.Namespace) -> list[dict[str, str]]:
    """One row per grant of an ``aid_get grants`` entity, narrowed by --area, --role, --org."""
    if entity is None:
        return []
    rows = []
    for role, area, org in entity["grants"]:
        if args.area is not None and not area_contains(args.area, area):
            continue
        if args.role not in (None, role) or args.org not in (None, org):
            continue
        rows.append({"account": entity["id"], "role": role, "area": area, "org": org})
    return rows


def roles_params(args: argparse.Namespace) -> dict[str, Any]:
    """The ``aid_list kind=grants`` page the options ask for (role or org, then area)."""
    filters: dict[str, str] = {}
    if args.role is not None:
        filters["role"] = args.role
    elif args.org is not None:
        filters["org"] = args.org
    if args.area is not None:
        filters["area"] = args.area
    return page_params(args, {"kind": "grants", "filters": filters})


async def _roles(args: argparse.Namespace) -> dict[str, Any]:
    if args.area is not None:
        try:
            area_level(args.area)
        except LedgerError as exc:
            raise UsageError(f"--area: {exc.message}") from None
    if args.account is not None:
        entity = await rpc_call(args.rpc, "aid_get", kind="grants", id=args.account)
        return {"items": grant_rows(entity, args), "next_cursor": None}
    page = await rpc_call(args.rpc, "aid_list", **roles_params(args))
    rows: dict[tuple[str, ...], dict[str, str]] = {}
    for entity in page["items"]:  # an account listed under two areas appears twice
        for row in grant_rows(entity, args):
            rows[tuple(row.values())] = row
    return {"items": list(rows.values()), "next_cursor": page["next_cursor"]}


def cmd_roles(args: argparse.Namespace) -> int:
    print_json(asyncio.run(_roles(args)))
    return EXIT_OK


def cmd_enc_keygen(args: argparse.Namespace) -> int:
    public = write_enc_key(args.out)
    print_json({"enc_key": public, "private_key_file": str(args.out)})
    return EXIT_OK


def cmd_registry_keygen(args: argparse.Namespace) -> int:
    key = write_registry_key(args.out)
    print_json({"registry_key_file": str(args.out), "fingerprint": registry_fingerprint(key)})
    return EXIT_OK


def cmd_registry_fingerprint(args: argparse.Namespace) -> int:
    print_json({"fingerprint": registry_fingerprint(household.required_registry_key(args))})
    return EXIT_OK


# --- parser ---------------------------------------------------------------------------------------
HELP_WIDTH = 79


def action_description(action: str, doc: ActionDoc) -> str:
    """``aidchain aid ACTION --help``'s text: what it does, who may, its arguments, the effect."""

    def para(label: str, text: str) -> str:
        return textwrap.fill(
            text, HELP_WIDTH, initial_indent=f"{label:8}", subsequent_indent=" " * 8
        )

    width = max((len(arg.name) for arg in doc.args), default=0) + 2
    rows = [
        textwrap.fill(
            arg.what + ("" if arg.required else " (optional)"),
            HELP_WIDTH,
            initial_indent=f"  {arg.name:{width}}",
            subsequent_indent=" " * (width + 2),
        )
        for arg in doc.args
    ]
    return "\n".join(
        [
            f"{action}: {doc.summary}.",
            "",
            para("who:", doc.who),
            para("effect:", doc.effect),
            "",
            "arguments (each as --arg NAME=VALUE, or all as --args JSON):",
            *rows,
            "",
            f"The full reference, with every refusal: {doc.reference}.",
        ]
    )


def list_filters_help() -> str:
    """The filters each kind's list takes, from the indexes that serve them (LIST_SPECS): one
    alternative per index, a later filter only with the ones before it."""
    lines = ["filters by kind (alternatives separated by |; [ ] only with what precedes it):"]
    for kind in sorted(LIST_SPECS):
        ways = []
        for _, names in LIST_SPECS[kind]:
            first, *rest = names
            ways.append(" ".join([f"--{first}", *(f"[--{n}]" for n in rest)]))
        lines.append(f"  {kind:12}{' | '.join(ways)}")
    return "\n".join(lines)


def _register_reads(sub: Any) -> None:
    p = sub.add_parser("get", help="one ledger entity")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("id")
    add_rpc_option(p)
    p.set_defaults(func=cmd_get)
    p = sub.add_parser(
        "list",
        help="a page of entities, filtered",
        epilog=list_filters_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("kind", choices=sorted(LIST_SPECS))
    for name in LIST_FILTERS:
        kinds = sorted(k for k, specs in LIST_SPECS.items() if any(name in f for _, f in specs))
        p.add_argument("--" + name, help="for " + ", ".join(kinds))
    p.add_argument("--cursor")
    p.add_argument("--limit", type=int)
    add_rpc_option(p)
    p.set_defaults(func=cmd_list)
    for name, func, text in (
        ("history", cmd_history, "every transaction that changed an entity"),
        ("trace", cmd_trace, "the chain of custody from fund document to bank outcome"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("kind", choices=KINDS)
        p.add_argument("id")
        add_rpc_option(p)
        if name == "history":
            p.add_argument("--cursor")
        p.set_defaults(func=func)
    p = sub.add_parser(
        "areas", help="the areas directly below an area, with names (the top ones without it)"
    )
    p.add_argument("under", nargs="?", help="a 12-digit area code of the chain's tree")
    add_rpc_option(p)
    p.set_defaults(func=cmd_areas)
    p = sub.add_parser("policy", help="the ledger policy and organisations")
    add_rpc_option(p)
    p.set_defaults(func=cmd_policy)
    p = sub.add_parser("roles", help="role grants: of one account, or in an area")
    p.add_argument("--account", help="one account's grants")
    p.add_argument("--area", help="grants for this area and the areas below it")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--org", help="grants held for this organisation")
    p.add_argument("--cursor")
    p.add_argument("--limit", type=int)
    add_rpc_option(p)
    p.set_defaults(func=cmd_roles)
    p = sub.add_parser(
        "enc-keygen", help="a new X25519 key pair for an organisation (org.rotate_key)"
    )
    p.add_argument("--out", required=True, type=Path, help="the new private key file (0600)")
    p.set_defaults(func=cmd_enc_keygen)
    p = sub.add_parser(
        "registry-keygen", help="a new registry key for a consortium (docs/operations.md)"
    )
    p.add_argument("--out", required=True, type=Path, help="the new registry key file (0600)")
    p.set_defaults(func=cmd_registry_keygen)
    p = sub.add_parser(
        "registry-fingerprint",
        help="the registry key's fingerprint, to compare with the other agencies' by phone",
    )
    p.add_argument("--cluster", type=Path, help="take the registry key from a local cluster")
    p.add_argument("--registry-key", type=Path)
    p.set_defaults(func=cmd_registry_fingerprint)


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = subparsers.add_parser(
        "aid",
        help="the disbursement ledger: actions, households, reads",
        description="The disbursement ledger. `aidchain aid ACTION --help` says who may send an "
        "action and the arguments it takes.",
    ).add_subparsers(dest="sub", required=True, metavar="COMMAND")
    for action in ACTIONS:
        doc = CATALOG[action]
        p = sub.add_parser(
            action,
            help=doc.summary,
            description=action_description(action, doc),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        send_options(p)
        p.add_argument("--args", help="the action's arguments as a JSON object")
        p.add_argument(
            "--arg",
            action="append",
            metavar="NAME=VALUE",
            help="one argument; VALUE is JSON if it parses as JSON (quote digits meant as text: "
            "area='\"530102001001\"'), else a string",
        )
        p.add_argument(
            "--gas",
            type=int,
            help="gas for the rules contracts the action runs (default: what the check used, "
            "plus a fifth; 0 with --no-check)",
        )
        p.set_defaults(func=cmd_action, action=action)
    household.register(sub)  # aidchain aid household ... (cli/household.py)
    _register_reads(sub)
    _register_assess(sub)


# --- assessment (issue 11, aid/assessment.py) -----------------------------------------------------
def cmd_assess(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"area": args.area}
    if args.overdue:
        params["report"] = "overdue_visits"
        if args.cursor is not None:
            params["cursor"] = args.cursor
        if args.limit is not None:
            params["limit"] = args.limit
    elif args.period is None:
        raise UsageError("aid assess needs --period YYYY or YYYY-MM (or --overdue)")
    else:
        params["period"] = args.period
    return _read(args, "aid_assess", params)


def _register_assess(sub: Any) -> None:
    p = sub.add_parser("assess", help="assessment of an area for a period, or overdue visits")
    p.add_argument("area", help="12-digit area code (county, township, village)")
    p.add_argument("--period", help="a year (2026) or a month (2026-11)")
    p.add_argument("--overdue", action="store_true", help="list pairings whose visit is overdue")
    p.add_argument("--cursor")
    p.add_argument("--limit", type=int)
    add_rpc_option(p)
    p.set_defaults(func=cmd_assess)
    report.register(sub)  # aidchain aid report / aid stats (cli/report.py)
    payfile.register(sub)  # aidchain aid batch-file (cli/payfile.py)
    notes.register(sub)  # aidchain aid seal / open (cli/notes.py)
    bankreport.register(sub)  # aidchain aid batch-report (cli/bankreport.py)
