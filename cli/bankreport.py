"""``aidchain aid batch-report``: the bank's outcomes of a batch, from its core system's CSV.

The other half of ``batch-file`` (cli/payfile.py): after the payment run the bank's system
writes one row per payment, ``entitlement,outcome,amount_fen,bank_ref,code`` (``bank_ref`` for
``paid``, a failure ``code`` for ``failed`` and ``returned``), and this command sends them as
``payment.report`` actions of at most ``MAX_REPORTS`` rows, each checked by the node first and
waited for. The file is read and checked whole before anything is sent.

Running it again after an interruption is safe: a row whose payment the chain already records
with the same outcome (and reference or code) is skipped, so only what is missing is sent. A row
about an entitlement the batch does not carry now (never in it, or re-issued into a later batch)
refuses the whole file: the bank's file and the chain disagree, and a person must look.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aid.payments import MAX_REPORTS
from chain.keyfile import load_key
from cli.common import EXIT_OK, CliError, UsageError, add_rpc_option, print_json, rpc_call
from cli.payfile import carried
from cli.sending import send_action

COLUMNS = ("entitlement", "outcome", "amount_fen", "bank_ref", "code")
OUTCOMES = ("paid", "failed", "returned")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One row of the bank's file, as the ledger's report row."""

    entitlement: str
    outcome: str
    amount: int
    detail: str  # bank_ref when paid, the failure code otherwise

    def report_row(self) -> dict[str, Any]:
        key = "bank_ref" if self.outcome == "paid" else "code"
        row = {"entitlement": self.entitlement, "outcome": self.outcome, "amount": self.amount}
        return {**row, key: self.detail}


def read_outcomes(text: str, source: str) -> list[Outcome]:
    """Every row of the file, checked; UsageError naming the line of the first bad one."""
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise UsageError(f"{source}: the header needs {', '.join(COLUMNS)} (missing {missing})")
    out: list[Outcome] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        ent, outcome = (row.get("entitlement") or "").strip(), (row.get("outcome") or "").strip()
        detail = (row.get("bank_ref" if outcome == "paid" else "code") or "").strip()
        amount = (row.get("amount_fen") or "").strip()
        why = (
            "no entitlement" if not ent
            else f"entitlement {ent} twice" if ent in seen
            else f"outcome must be {', '.join(OUTCOMES)}" if outcome not in OUTCOMES
            else "amount_fen must be a whole number of fen" if not amount.isdigit()
            else f"{'bank_ref' if outcome == 'paid' else 'code'} is empty" if not detail
            else ""
        )  # fmt: skip
        if why:
            raise UsageError(f"{source}, line {line}: {why}")
        seen.add(ent)
        out.append(Outcome(ent, outcome, int(amount), detail))
    return out


def recorded(entitlement: dict[str, Any], row: Outcome) -> bool:
    """Whether the chain already holds this outcome of the entitlement's current attempt."""
    attempt = entitlement["attempts"][-1]
    key = "bank_ref" if row.outcome == "paid" else "code"
    return entitlement["status"] == row.outcome and attempt.get(key) == row.detail


async def report(args: argparse.Namespace, rows: list[Outcome]) -> dict[str, Any]:
    if await rpc_call(args.rpc, "aid_get", kind="batch", id=args.batch) is None:
        raise CliError(f"no batch {args.batch} on this chain")
    chain = {e["id"]: e for e in await carried(args.rpc, args.batch)}
    strangers = [r.entitlement for r in rows if r.entitlement not in chain]
    if strangers:
        raise CliError(
            f"batch {args.batch} does not carry {len(strangers)} of the file's entitlements "
            f"(never in it, or re-issued into a later batch): {', '.join(strangers[:5])}"
            + (" ..." if len(strangers) > 5 else "")
            + "; nothing was sent"
        )
    todo = [r for r in rows if not recorded(chain[r.entitlement], r)]
    key = load_key(args.key)
    sent = []
    for start in range(0, len(todo), MAX_REPORTS):
        part = [r.report_row() for r in todo[start : start + MAX_REPORTS]]
        action = {"batch": args.batch, "results": part}
        out = await send_action(args.rpc, key, "payment.report", action, wait=True, echo=False)
        sent.append(out["hash"])
    return {
        "batch": args.batch,
        "rows": len(rows),
        "sent": len(todo),
        "already_recorded": len(rows) - len(todo),
        "reports": sent,
    }


def cmd_batch_report(args: argparse.Namespace) -> int:
    try:
        text = Path(args.results).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {args.results}: {exc.strerror}") from None
    rows = read_outcomes(text, str(args.results))
    print_json(asyncio.run(report(args, rows)))
    return EXIT_OK


def register(sub: Any) -> None:
    """Adds ``batch-report`` to the ``aid`` command group's subparsers."""
    p = sub.add_parser(
        "batch-report",
        help="send a batch's payment outcomes from the bank's CSV (skips what is recorded)",
        description="Reads the bank's CSV (entitlement,outcome,amount_fen,bank_ref,code: "
        "bank_ref for paid, a failure code for failed and returned), checks it whole, and sends "
        f"it as payment.report actions of at most {MAX_REPORTS} rows, each checked by the node "
        "and waited for. Rows the chain already records are skipped, so a run that was "
        "interrupted can simply run again.",
    )
    p.add_argument("batch", help="the batch's id")
    p.add_argument(
        "--results",
        metavar="FILE",
        required=True,
        help="CSV: entitlement,outcome,amount_fen,bank_ref,code",
    )
    p.add_argument("--key", metavar="FILE", required=True, help="the bank operator's key file")
    add_rpc_option(p)
    p.set_defaults(func=cmd_batch_report)
