"""``aidchain aid batch-file``: a bank batch's payment instructions, for the bank's core system.

On chain a batch holds entitlements, amounts and account commitments, never an account number.
The bank is one of the organisations a household's personal data is sealed to, so its operator
opens each owed household's data here, on the bank's machine, with the bank's own encryption
key, and writes what a payment run needs: one CSV row per payment the batch still owes
(entitlement, household, amount in fen, account, holder). With the registry key each account is
checked against the commitment the batch was made with: a household whose account changed after
the batch is reported, not written, so the old instruction is never paid to the new account
(that payment goes through a failure report and a re-issue, docs/ledger.md).

The file holds personal data in plain text: it is created mode 0600 and never overwritten.
Exit codes as everywhere (cli/main.py); 1 also when a row could not be written (listed on
stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError

from aid.identity import account_commitment, unseal
from cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    CliError,
    UsageError,
    add_rpc_option,
    list_all,
)
from node.aidclient import enc_public_key, org_of_enc_key, read_enc_key, read_registry_key
from node.cluster import load_cluster
from rpc.client import RpcClient, RpcError, RpcTransportError
from storage.db import write_private_file

COLUMNS = ("entitlement", "household", "amount_fen", "account", "holder")


@dataclass(slots=True)
class PaymentFile:
    """What a batch still owes, opened: the rows to pay and the payments that could not be."""

    batch: str
    bank: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()


async def carried(url: str, batch: str) -> list[dict[str, Any]]:
    """The entitlements batch ``batch`` carries now (their current attempt is in it), in the
    index's order: the index also lists one re-issued since into a later batch."""
    return [e for e in await list_all(url, "entitlement", {"batch": batch}) if e["batch"] == batch]


def _open(sealed: dict[str, Any], org: str, keys: list[str]) -> dict[str, Any] | None:
    """The household's personal data, opened with whichever of the bank's keys it was sealed
    to (a key retired by a rotation still opens what was sealed before it)."""
    if org not in sealed["keys"]:
        return None
    for private in keys:
        try:
            personal = unseal(private, sealed, org)
        except CryptoError:
            continue
        return personal if isinstance(personal, dict) else None
    return None


def _holder(personal: dict[str, Any]) -> str:
    """The name a bank matches the account against: the household's first member's."""
    members = personal.get("members")
    first = members[0] if isinstance(members, list) and members else None
    name = first.get("name") if isinstance(first, dict) else None
    return name if isinstance(name, str) else ""


async def payment_file(
    client: RpcClient, batch_id: str, keys: list[str], registry_key: bytes | None
) -> PaymentFile:
    batch = await client.call("aid_get", kind="batch", id=batch_id)
    if batch is None:
        raise CliError(f"no batch {batch_id} on this chain")
    policy = await client.call("aid_policy")
    orgs = {
        org["id"] for key in keys if (org := org_of_enc_key(policy["orgs"], enc_public_key(key)))
    }
    if orgs != {batch["bank"]}:
        raise UsageError(
            f"batch {batch_id} is for bank {batch['bank']}: give that organisation's "
            f"encryption key (these keys are {', '.join(sorted(orgs)) or 'no organisation'}'s)"
        )
    out = PaymentFile(batch_id, batch["bank"])
    households: dict[str, dict[str, Any] | None] = {}
    owed = [e for e in await carried(client.url, batch_id) if e["status"] == "batched"]
    for ent in owed:
        hh = ent["household"]
        if hh not in households:
            record = await client.call("aid_get", kind="household", id=hh)
            households[hh] = None if record is None else _open(record["sealed"], out.bank, keys)
        personal = households[hh]
        if personal is None:
            out.problems.append(f"{ent['id']}: household {hh}'s data does not open with these keys")
            continue
        account = personal.get("bank_account")
        if not isinstance(account, str):
            out.problems.append(f"{ent['id']}: household {hh}'s data holds no bank account")
            continue
        expected = ent["attempts"][-1]["account_commitment"]
        if registry_key is not None and account_commitment(registry_key, account) != expected:
            out.problems.append(
                f"{ent['id']}: household {hh}'s account changed after the batch was made; "
                "report it failed and re-issue it (docs/ledger.md)"
            )
            continue
        holder = _holder(personal)
        out.rows.append(
            {
                "entitlement": ent["id"],
                "household": hh,
                "amount_fen": ent["amount"],
                "account": account,
                "holder": holder,
            }
        )
    return out


def registry_key_of(args: argparse.Namespace) -> bytes | None:
    """The registry key from ``--cluster DIR`` (a local cluster's) or ``--registry-key FILE``."""
    if args.cluster is not None:
        return read_registry_key(load_cluster(args.cluster).aid_paths()["registry_key"])
    if args.registry_key is not None:
        return read_registry_key(args.registry_key)
    return None


async def _fetch(args: argparse.Namespace, keys: list[str], registry: bytes | None) -> PaymentFile:
    try:
        async with RpcClient(args.rpc) as client:
            return await payment_file(client, args.batch, keys, registry)
    except RpcError as exc:
        raise CliError(f"{exc.message} ({exc.reason})") from None
    except RpcTransportError as exc:
        raise CliError(f"cannot reach node at {args.rpc}: {exc}", EXIT_UNREACHABLE) from None


def cmd_batch_file(args: argparse.Namespace) -> int:
    keys = [read_enc_key(path) for path in args.enc_key]
    registry = registry_key_of(args)
    result = asyncio.run(_fetch(args, keys, registry))
    text = result.csv_text()
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            write_private_file(args.out, text, exclusive=True)
        except OSError as exc:
            raise UsageError(f"cannot create {args.out}: {exc.strerror}") from None
    summary = {
        "batch": result.batch,
        "bank": result.bank,
        "rows": len(result.rows),
        "not_written": len(result.problems),
        "accounts_checked": registry is not None,
    }
    print(f"batch file: {json.dumps(summary)}", file=sys.stderr)
    for problem in result.problems:
        print(f"not written: {problem}", file=sys.stderr)
    return EXIT_FAILED if result.problems else EXIT_OK


def register(sub: Any) -> None:
    """Adds ``batch-file`` to the ``aid`` command group's subparsers."""
    p = sub.add_parser(
        "batch-file",
        help="a bank batch's owed payments with account numbers, as CSV for the core system",
        description="Lists what the batch still owes, opens each household's data with the "
        "bank's encryption key on this machine and writes CSV rows "
        f"({','.join(COLUMNS)}). With the registry key each account is checked against the "
        "commitment the batch was made with; a changed one is listed on stderr, not written.",
    )
    p.add_argument("batch", help="the batch's id")
    p.add_argument(
        "--enc-key",
        metavar="FILE",
        action="append",
        required=True,
        type=Path,
        help="the bank's encryption key file (repeat for a key retired by a rotation)",
    )
    p.add_argument(
        "--registry-key", metavar="FILE", type=Path, help="check each account against the batch"
    )
    p.add_argument(
        "--cluster", metavar="DIR", type=Path, help="take the registry key from a local cluster"
    )
    p.add_argument(
        "--out", metavar="FILE", type=Path, help="write the CSV here (0600, never overwritten)"
    )
    add_rpc_option(p)
    p.set_defaults(func=cmd_batch_file)
