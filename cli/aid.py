"""``aidchain aid ...``: the ledger for a clerk: signed actions, household data, reads.

Every action is signed with the sender's next nonce and first simulated by the node
(``aid_check``, cli/sending.py), so a refusal comes back at once with the reason a clerk can
act on (exit 1), before anything enters the mempool; ``aidchain aid ACTION --help`` prints the
action's entry of aid/catalog.py. Household registration and account correction take personal
data on the command line and turn it into commitments and sealed data in this process
(node/aidclient.py): the plain text is never sent. The bank's batch file and report
(cli/payfile.py, cli/bankreport.py) and sealed notes (cli/notes.py) are commands of this group. Exit codes as everywhere (cli/main.py): 0 ok, 1 refused or failed,
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
from aid.errors import BadArgs, LedgerError
from aid.identity import account_commitment, person_commitment, seal
from aid.indexes import INDEXED_KINDS
from aid.ledger import ACTIONS
from aid.reads import LIST_SPECS, MAX_PAGE
from aid.roles import ROLES
from chain import limits
from chain.encoding import loads_strict
from chain.errors import EncodingError
from chain.keyfile import load_key
from cli import bankreport, notes, payfile, report
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
from cli.sending import LedgerRefused, send_action
from node.aidclient import (
    Member,
    household_args,
    readers_of,
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


def parse_member(text: str) -> Member:
    """``"name,id_number,phone"``; the ID number is checked by household_args, not echoed."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise UsageError('--member must be "name,id_number,phone"')
    return Member(*parts)


def parse_readers(pairs: list[str]) -> dict[str, str]:
    readers = {}
    for pair in pairs:
        org, sep, pub = pair.partition("=")
        try:
            ok = bool(sep and org) and len(bytes.fromhex(pub)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise UsageError(f"--readers {pair!r} must be ORG=<64-hex X25519 public key>")
        readers[org] = pub.lower()
    return readers


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


# --- household personal data ----------------------------------------------------------------------
def _registry_key(args: argparse.Namespace) -> bytes:
    key = payfile.registry_key_of(args)
    if key is None:
        raise UsageError(
            "give --cluster DIR or --registry-key FILE (the consortium's registry key)"
        )
    return key


def check_personal_data(
    registry_key: bytes, members: list[Member], bank_account: str | None = None
) -> None:
    """Refuse a malformed ID number or account (exit 2, never echoed) before any network call."""
    try:
        for member in members:
            person_commitment(registry_key, member.id_number)
        if bank_account is not None:
            account_commitment(registry_key, bank_account)
    except BadArgs as exc:
        raise UsageError(exc.message) from None


def build_apply_args(args: argparse.Namespace, readers: dict[str, str]) -> dict[str, Any]:
    """household.apply arguments from the command line, sealed to ``readers``' keys."""
    registry_key = _registry_key(args)
    members = [parse_member(m) for m in args.member]
    check_personal_data(registry_key, members, args.bank_account)
    return household_args(
        registry_key,
        readers,
        village=args.village,
        members=members,
        bank_account=args.bank_account,
        cause=args.cause,
        income_per_head_yuan=args.income,
    )


async def current_readers(url: str) -> dict[str, str]:
    """The reader organisations' keys as the chain holds them now (rotations included)."""
    return readers_of((await rpc_call(url, "aid_policy"))["orgs"])


def cmd_household_apply(args: argparse.Namespace) -> int:
    registry_key = _registry_key(args)
    check_personal_data(registry_key, [parse_member(m) for m in args.member], args.bank_account)
    key = load_key(args.key)

    async def run() -> None:
        readers = parse_readers(args.readers) if args.readers else await current_readers(args.rpc)
        action_args = build_apply_args(args, readers)
        await send_action(
            args.rpc, key, "household.apply", action_args, wait=args.wait, check=not args.no_check
        )

    asyncio.run(run())
    return EXIT_OK


async def _reader(args: argparse.Namespace) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The ``--enc-key`` (private hex), its organisation, and household ``args.id``, whose data
    is sealed to that organisation (not yet opened)."""
    private, org = await notes.key_org(args.rpc, args.enc_key)
    household = await rpc_call(args.rpc, "aid_get", kind="household", id=args.id)
    if household is None:
        raise CliError(f"no household {args.id}")
    if org["id"] not in household["sealed"]["keys"]:
        raise CliError(f"household {args.id}'s data is not sealed to organisation {org['id']}")
    return private, org, household


def _opened(private: str, org: dict[str, Any], household: dict[str, Any]) -> Any:
    what = f"the sealed data of household {household['id']}"
    return notes.opened(private, household["sealed"], org["id"], what)


async def _show(args: argparse.Namespace) -> dict[str, Any]:
    private, org, household = await _reader(args)
    if org["kind"] == "auditor":
        # an auditor's read is on the record before the data is opened
        if args.key is None or not args.purpose:
            raise UsageError("an auditor's view is recorded on chain: give --key and --purpose")
        view = {"household": args.id, "purpose": args.purpose}
        await send_action(
            args.rpc, load_key(args.key), "household.view", view, wait=True, echo=False
        )
    return {"household": args.id, "org": org["id"], "personal": _opened(private, org, household)}


def cmd_household_show(args: argparse.Namespace) -> int:
    print_json(asyncio.run(_show(args)))
    return EXIT_OK


async def _to_edit(args: argparse.Namespace, field: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Household ``args.id`` and its personal data, opened with the clerk's organisation key
    (``--enc-key``) to be edited and sealed again; the data must hold ``field``."""
    private, org, household = await _reader(args)
    if org["kind"] == "auditor":  # its reads are recorded views (household show), never edits
        raise UsageError("an auditor's key does not change households; use the registrar's office")
    personal = _opened(private, org, household)
    if not isinstance(personal, dict) or field not in personal:
        raise CliError(f"household {args.id}'s sealed data holds no {field} to replace")
    return household, personal


async def change_account_args(args: argparse.Namespace, registry_key: bytes) -> dict[str, Any]:
    """household.change arguments for a new bank account: the household's data opened with the
    clerk's organisation key, the account replaced, sealed again to the current readers."""
    household, personal = await _to_edit(args, "bank_account")
    commitment = account_commitment(registry_key, args.bank_account)
    if commitment == household["account_commitment"]:
        raise UsageError(f"household {args.id} already has this bank account")
    readers = await current_readers(args.rpc)
    return {
        "household": args.id,
        "account_commitment": commitment,
        "sealed": seal(readers, {**personal, "bank_account": args.bank_account}),
        "reason": args.reason,
    }


def cmd_household_change_account(args: argparse.Namespace) -> int:
    registry_key = _registry_key(args)
    check_personal_data(registry_key, [], args.bank_account)
    key = load_key(args.key)

    async def run() -> None:
        action_args = await change_account_args(args, registry_key)
        await send_action(
            args.rpc, key, "household.change", action_args, wait=args.wait, check=not args.no_check
        )

    asyncio.run(run())
    return EXIT_OK


async def change_members_args(args: argparse.Namespace, registry_key: bytes) -> dict[str, Any]:
    """household.change arguments for a new list of members: commitments computed here, the
    household's data opened with the clerk's organisation key, its members replaced and sealed
    again to the current readers; the size follows the number of members."""
    members = [parse_member(m) for m in args.member]
    check_personal_data(registry_key, members)
    commitments = [person_commitment(registry_key, m.id_number) for m in members]
    household, personal = await _to_edit(args, "members")
    if sorted(commitments) == household["members"]:
        raise UsageError(f"household {args.id} already has exactly these members")
    readers = await current_readers(args.rpc)
    listed = [{"name": m.name, "id_number": m.id_number, "phone": m.phone} for m in members]
    action_args: dict[str, Any] = {
        "household": args.id,
        "members": commitments,
        "sealed": seal(readers, {**personal, "members": listed}),
        "reason": args.reason,
    }
    if household["size"] != len(members):
        action_args["size"] = len(members)
    return action_args


def cmd_household_change_members(args: argparse.Namespace) -> int:
    registry_key = _registry_key(args)
    check_personal_data(registry_key, [parse_member(m) for m in args.member])
    key = load_key(args.key)

    async def run() -> None:
        action_args = await change_members_args(args, registry_key)
        await send_action(
            args.rpc, key, "household.change", action_args, wait=args.wait, check=not args.no_check
        )

    asyncio.run(run())
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
    print_json({"fingerprint": registry_fingerprint(_registry_key(args))})
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


def _send_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", required=True, help="the signer's key file")
    add_rpc_option(p)
    p.add_argument("--wait", action="store_true", help="wait for the block and print the receipt")
    p.add_argument(
        "--no-check", action="store_true", help="skip the aid_check simulation before sending"
    )


def _register_household(sub: Any) -> None:
    group = sub.add_parser("household", help="register or read a household's personal data")
    hsub = group.add_subparsers(dest="hsub", required=True)
    p = hsub.add_parser("apply", help="household.apply from personal data (sealed client side)")
    _send_options(p)
    p.add_argument("--cluster", type=Path, help="take the registry key and readers from here")
    p.add_argument("--registry-key", type=Path)
    p.add_argument("--readers", nargs="+", metavar="ORG=PUBKEY")
    p.add_argument("--village", required=True, help="12-digit village code")
    p.add_argument("--member", action="append", required=True, help='"name,id_number,phone"')
    p.add_argument("--bank-account", required=True)
    p.add_argument("--cause", required=True, help="illness, disability, schooling, ...")
    p.add_argument("--income", type=int, required=True, help="income per head, yuan per year")
    p.set_defaults(func=cmd_household_apply)
    p = hsub.add_parser(
        "change-account",
        help="household.change to a new bank account (data re-sealed client side)",
        description="Opens the household's personal data with your organisation's key, replaces "
        "the bank account, seals it again to the organisations that read it now, and sends a "
        "household.change with the new account's commitment; the county's approver reviews it "
        "(household.change_review). A failed payment can then be re-issued (payment.reissue).",
    )
    _send_options(p)
    p.add_argument("id", help="the household's id")
    p.add_argument("--bank-account", required=True, help="the new account number")
    p.add_argument("--reason", required=True, help="why, for the reviewer and the record")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    p.add_argument("--cluster", type=Path, help="take the registry key from a local cluster")
    p.add_argument("--registry-key", type=Path)
    p.set_defaults(func=cmd_household_change_account)
    p = hsub.add_parser(
        "change-members",
        help="household.change to a new list of members (a birth, a death, a marriage)",
        description="Gives the household's whole new list of members. Their ID numbers are "
        "checked and committed here; the household's personal data is opened with your "
        "organisation's key, its members replaced, sealed again to the organisations that read it "
        "now, and sent as a household.change with the new commitments (and size); the county's "
        "approver reviews it (household.change_review). A person still in another active "
        "household is refused: that household's change releases them first.",
    )
    _send_options(p)
    p.add_argument("id", help="the household's id")
    p.add_argument(
        "--member", action="append", required=True, help='"name,id_number,phone", once per member'
    )
    p.add_argument("--reason", required=True, help="why, for the reviewer and the record")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    p.add_argument("--cluster", type=Path, help="take the registry key from a local cluster")
    p.add_argument("--registry-key", type=Path)
    p.set_defaults(func=cmd_household_change_members)
    p = hsub.add_parser("show", help="decrypt a household's data for your organisation")
    p.add_argument("id")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    p.add_argument("--key", help="an auditor's account key: the view is recorded first")
    p.add_argument("--purpose", help="why an auditor reads it (recorded on chain)")
    add_rpc_option(p)
    p.set_defaults(func=cmd_household_show)


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
        _send_options(p)
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
    _register_household(sub)
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
