"""``aidchain aid household ...``: a household's personal data, handled on the clerk's machine.

Registration and every correction take personal data on the command line and turn it into
commitments and sealed data in this process (node/aidclient.py, aid/identity.py): the plain
text never reaches a node. ``show`` opens a household's data with an organisation's own key (an
auditor's read is recorded on chain first); ``change-account`` and ``change-members`` open it,
edit it, seal it again to the current readers and send a ``household.change``; ``change-show``
lets the county's approver see what a pending change request would really change before
approving it, and check the sealed data against the commitments the ledger will hold.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aid.errors import BadArgs
from aid.identity import account_commitment, person_commitment
from chain.keyfile import load_key
from cli import notes, payfile
from cli.common import EXIT_OK, CliError, UsageError, add_rpc_option, print_json, rpc_call
from cli.sending import send_action, send_options
from node.aidclient import (
    Member,
    account_change_args,
    household_args,
    members_change_args,
    readers_of,
    sealed_disagreements,
)


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


def required_registry_key(args: argparse.Namespace) -> bytes:
    """The consortium's registry key, from --cluster or --registry-key; usage error if neither."""
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
    registry_key = required_registry_key(args)
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
    registry_key = required_registry_key(args)
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


async def _reader(
    args: argparse.Namespace, ident: str | None = None
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The ``--enc-key`` (private hex), its organisation, and household ``ident`` (default
    ``args.id``), whose data is sealed to that organisation (not yet opened)."""
    ident = args.id if ident is None else ident
    private, org = await notes.key_org(args.rpc, args.enc_key)
    household = await rpc_call(args.rpc, "aid_get", kind="household", id=ident)
    if household is None:
        raise CliError(f"no household {ident}")
    if org["id"] not in household["sealed"]["keys"]:
        raise CliError(f"household {ident}'s data is not sealed to organisation {org['id']}")
    return private, org, household


def _opened(private: str, org: dict[str, Any], household: dict[str, Any]) -> Any:
    what = f"the sealed data of household {household['id']}"
    return notes.opened(private, household["sealed"], org["id"], what)


async def _record_view(args: argparse.Namespace, org: dict[str, Any], ident: str) -> None:
    """An auditor's read of household ``ident`` goes on the record before the data is opened."""
    if org["kind"] != "auditor":
        return
    if args.key is None or not args.purpose:
        raise UsageError("an auditor's view is recorded on chain: give --key and --purpose")
    view = {"household": ident, "purpose": args.purpose}
    await send_action(args.rpc, load_key(args.key), "household.view", view, wait=True, echo=False)


async def _show(args: argparse.Namespace) -> dict[str, Any]:
    private, org, household = await _reader(args)
    await _record_view(args, org, args.id)
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
    check_personal_data(registry_key, [], args.bank_account)
    household, personal = await _to_edit(args, "bank_account")
    readers = await current_readers(args.rpc)
    try:
        fields = account_change_args(registry_key, readers, household, personal, args.bank_account)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return {"household": args.id, **fields, "reason": args.reason}


ChangeArgs = Callable[[argparse.Namespace, bytes], Awaitable[dict[str, Any]]]


def _send_change(args: argparse.Namespace, build: ChangeArgs) -> int:
    """Build the household.change with ``build`` and send it. Each builder checks the personal
    data it was given first, so a malformed number exits 2 before any network call."""
    registry_key = required_registry_key(args)
    key = load_key(args.key)

    async def run() -> None:
        action_args = await build(args, registry_key)
        await send_action(
            args.rpc, key, "household.change", action_args, wait=args.wait, check=not args.no_check
        )

    asyncio.run(run())
    return EXIT_OK


def cmd_household_change_account(args: argparse.Namespace) -> int:
    return _send_change(args, change_account_args)


async def change_members_args(args: argparse.Namespace, registry_key: bytes) -> dict[str, Any]:
    """household.change arguments for a new list of members: commitments computed here, the
    household's data opened with the clerk's organisation key, its members replaced and sealed
    again to the current readers; the size follows the number of members."""
    members = [parse_member(m) for m in args.member]
    check_personal_data(registry_key, members)
    household, personal = await _to_edit(args, "members")
    readers = await current_readers(args.rpc)
    try:
        fields = members_change_args(registry_key, readers, household, personal, members)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return {"household": args.id, **fields, "reason": args.reason}


def cmd_household_change_members(args: argparse.Namespace) -> int:
    return _send_change(args, change_members_args)


PLAIN_FIELDS = ("village", "size", "cause", "income_per_head_yuan")  # shown as they are


def _personal(data: Any, what: str) -> dict[str, Any]:
    """Sealed personal data of the documented shape (docs/ledger.md "Privacy"), else CliError."""
    members = data.get("members") if isinstance(data, dict) else None
    if not isinstance(members, list) or not all(
        isinstance(m, dict) and isinstance(m.get("id_number"), str) for m in members
    ):
        raise CliError(f"{what} is not of the documented shape {{members, bank_account}}")
    return data


def personal_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What replacing ``before`` by ``after`` changes: members joining and leaving (by ID
    number), and the bank account if it differs."""
    old = {m["id_number"]: m for m in before["members"]}
    new = {m["id_number"]: m for m in after["members"]}
    out: dict[str, Any] = {
        "members_joining": [m for n, m in new.items() if n not in old],
        "members_leaving": [m for n, m in old.items() if n not in new],
        "members_staying": [m for n, m in new.items() if n in old],
    }
    if before.get("bank_account") != after.get("bank_account"):
        out["bank_account"] = {
            "before": before.get("bank_account"),
            "after": after.get("bank_account"),
        }
    return out


async def review_change(args: argparse.Namespace, registry_key: bytes | None) -> dict[str, Any]:
    """Change request ``args.change`` as its reviewer needs to see it: the plain fields before
    and after, the personal data opened with the reviewer's key and compared, and (with the
    registry key) whether the sealed data agrees with the commitments the household would hold."""
    change = await rpc_call(args.rpc, "aid_get", kind="change", id=args.change)
    if change is None:
        raise CliError(f"no change request {args.change}")
    ident, fields = change["household"], change["fields"]
    if change["status"] != "pending":  # the household now is no longer what it changed
        raise CliError(
            f"change {args.change} is {change['status']}; change-show compares a pending request "
            f"with the household as it is (what happened: aidchain aid history household {ident})"
        )
    private, org, household = await _reader(args, ident)
    await _record_view(args, org, ident)
    before = _personal(_opened(private, org, household), f"household {ident}'s sealed data")
    after = before
    if "sealed" in fields:
        if org["id"] not in fields["sealed"]["keys"]:
            raise CliError(f"change {args.change}'s data is not sealed to organisation {org['id']}")
        what = f"the sealed data of change {args.change}"
        after = _personal(notes.opened(private, fields["sealed"], org["id"], what), what)
    out: dict[str, Any] = {
        "change": args.change,
        "household": ident,
        "status": change["status"],
        "reason": change["reason"],
        "maker_org": change["maker_org"],
        "stale": household["version"] != change["base_version"],
        "fields": {
            name: {"before": household[name], "after": fields[name]}
            for name in PLAIN_FIELDS
            if name in fields
        },
        "personal": personal_diff(before, after),
        "checked": registry_key is not None,
        "problems": [],
    }
    if registry_key is not None:
        members = fields.get("members", household["members"])
        account = fields.get("account_commitment", household["account_commitment"])
        out["problems"] = sealed_disagreements(registry_key, members, account, after)
    return out


def cmd_household_change_show(args: argparse.Namespace) -> int:
    registry_key = payfile.registry_key_of(args)
    review = asyncio.run(review_change(args, registry_key))
    print_json(review)
    if review["problems"]:
        raise CliError("do not approve: " + "; ".join(review["problems"]))
    return EXIT_OK


def _change_options(p: argparse.ArgumentParser) -> None:
    """What every household correction takes: the sender, the household, why, and the keys."""
    send_options(p)
    p.add_argument("id", help="the household's id")
    p.add_argument("--reason", required=True, help="why, for the reviewer and the record")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    p.add_argument("--cluster", type=Path, help="take the registry key from a local cluster")
    p.add_argument("--registry-key", type=Path)


def _auditor_options(p: argparse.ArgumentParser) -> None:
    """A read of personal data: an auditor's is recorded on chain first."""
    p.add_argument("--key", help="an auditor's account key: the view is recorded first")
    p.add_argument("--purpose", help="why an auditor reads it (recorded on chain)")
    add_rpc_option(p)


def register(sub: Any) -> None:
    """``aidchain aid household ...``."""
    group = sub.add_parser("household", help="register or read a household's personal data")
    hsub = group.add_subparsers(dest="hsub", required=True)
    p = hsub.add_parser("apply", help="household.apply from personal data (sealed client side)")
    send_options(p)
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
    _change_options(p)
    p.add_argument("--bank-account", required=True, help="the new account number")
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
    _change_options(p)
    p.add_argument(
        "--member", action="append", required=True, help='"name,id_number,phone", once per member'
    )
    p.set_defaults(func=cmd_household_change_members)
    p = hsub.add_parser(
        "change-show",
        help="what a pending change request would change, opened for its reviewer",
        description="Opens the household's personal data and the change's proposed data with "
        "your organisation's key and prints what would change: plain fields before and after, "
        "members joining, leaving and staying, the bank account. With the registry key it also "
        "checks that the sealed data agrees with the commitments the household would hold (a "
        "maker could commit one person and seal another), and exits 1 if it does not. An "
        "auditor's read is recorded on chain first (--key, --purpose).",
    )
    p.add_argument("change", help="the change request's id")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    p.add_argument("--cluster", type=Path, help="take the registry key from a local cluster")
    p.add_argument("--registry-key", type=Path, help="check the sealed data against commitments")
    _auditor_options(p)
    p.set_defaults(func=cmd_household_change_show)
    p = hsub.add_parser("show", help="decrypt a household's data for your organisation")
    p.add_argument("id")
    p.add_argument("--enc-key", required=True, type=Path, help="your organisation's enc.key")
    _auditor_options(p)
    p.set_defaults(func=cmd_household_show)
