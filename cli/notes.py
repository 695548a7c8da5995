"""``aidchain aid seal`` and ``aidchain aid open``: sealed notes, made and read client side.

A visit's findings (``findings_sealed``) and a grievance's content (``content_sealed``, the only
form a report of fraud or bribery may take) travel sealed to the organisations allowed to read
them, like a household's personal data (docs/ledger.md "Privacy"). ``seal`` builds such an
envelope from a text, for the organisations named, with the keys the chain holds for them now,
and prints it as one JSON line for ``--arg findings_sealed=...``. ``open`` reads a sealed field
of an entity with the reader's own key. A household's personal data is opened by ``household
show`` instead, which records an auditor's view on chain first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError

from aid.identity import seal, unseal
from aid.oversight import MAX_SEALED_ORGS
from aid.sealed import MAX_SEALED_DATA_CHARS
from cli.common import EXIT_OK, CliError, UsageError, add_rpc_option, print_json, rpc_call
from node.aidclient import enc_public_key, org_of_enc_key, read_enc_key

SEALED_NOTES = {"visit": "findings_sealed", "grievance": "content_sealed"}  # kind -> its field


def _text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    try:
        return sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from None


async def sealed_note(url: str, text: str, to: list[str]) -> dict[str, Any]:
    """The envelope of ``text`` for the organisations ``to``, with their keys as of now."""
    if not 1 <= len(set(to)) <= MAX_SEALED_ORGS:
        raise UsageError(f"--to names 1 to {MAX_SEALED_ORGS} organisations")
    orgs = {o["id"]: o["enc_key"] for o in (await rpc_call(url, "aid_policy"))["orgs"]}
    unknown = sorted(set(to) - set(orgs))
    if unknown:
        raise UsageError(f"no organisation {', '.join(unknown)} on this chain")
    envelope = seal({org: orgs[org] for org in to}, text)
    if len(envelope["data"]) > MAX_SEALED_DATA_CHARS:
        raise UsageError(f"the note is too long: at most {MAX_SEALED_DATA_CHARS} chars sealed")
    return envelope


def cmd_seal(args: argparse.Namespace) -> int:
    envelope = asyncio.run(sealed_note(args.rpc, _text(args), args.to))
    print(json.dumps(envelope, separators=(",", ":")))
    return EXIT_OK


async def key_org(url: str, enc_key: Path) -> tuple[str, dict[str, Any]]:
    """The private key in ``enc_key`` and the organisation it is (or was, before a rotation)
    the encryption key of."""
    private = read_enc_key(enc_key)
    org = org_of_enc_key((await rpc_call(url, "aid_policy"))["orgs"], enc_public_key(private))
    if org is None:
        raise UsageError(f"{enc_key} is not the encryption key of any organisation")
    return private, org


def opened(private: str, sealed: dict[str, Any], org: str, what: str) -> Any:
    """``sealed`` opened as ``org``; CliError naming ``what`` when the key does not open it."""
    try:
        return unseal(private, sealed, org)
    except CryptoError:
        raise CliError(f"{what} does not open with this key") from None


async def opened_note(args: argparse.Namespace) -> dict[str, Any]:
    private, org = await key_org(args.rpc, args.enc_key)
    record = await rpc_call(args.rpc, "aid_get", kind=args.kind, id=args.id)
    if record is None:
        raise CliError(f"no {args.kind} {args.id}")
    field = SEALED_NOTES[args.kind]
    sealed = record.get(field)
    if not isinstance(sealed, dict) or not isinstance(sealed.get("keys"), dict):
        raise CliError(f"{args.kind} {args.id} has no sealed note ({field})")
    if org["id"] not in sealed["keys"]:
        raise CliError(f"{args.kind} {args.id}'s {field} is not sealed to {org['id']}")
    content = opened(private, sealed, org["id"], f"{args.kind} {args.id}'s {field}")
    return {"kind": args.kind, "id": args.id, "field": field, "org": org["id"], "content": content}


def cmd_open(args: argparse.Namespace) -> int:
    print_json(asyncio.run(opened_note(args)))
    return EXIT_OK


def register(sub: Any) -> None:
    """Adds ``seal`` and ``open`` to the ``aid`` command group's subparsers."""
    p = sub.add_parser("seal", help="seal a note (visit findings, a grievance) to organisations")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the note (visible in the shell's history: prefer --file)")
    given.add_argument("--file", metavar="FILE", help="the note's text file, - for stdin")
    p.add_argument("--to", action="append", required=True, metavar="ORG", help="a reader")
    add_rpc_option(p)
    p.set_defaults(func=cmd_seal)
    p = sub.add_parser(
        "open", help="open a visit's findings or a grievance's content with your organisation's key"
    )
    p.add_argument("kind", choices=sorted(SEALED_NOTES))
    p.add_argument("id")
    p.add_argument(
        "--enc-key", metavar="FILE", required=True, type=Path, help="your organisation's enc.key"
    )
    add_rpc_option(p)
    p.set_defaults(func=cmd_open)
