"""``aidchain audit ...``: export, prove, reconcile, sample, and draft a public disclosure.

- ``export`` streams the node's AU-3 CSV (``GET /audit/export.csv``) to stdout, checks its
  trailer, and with ``--record --key`` puts its scope, height, row count and SHA-256 on chain;
- ``verify FILE`` checks a file's trailer hash and that the chain recorded that hash;
- ``reconcile --statement bank.csv`` lists every mismatch between a bank statement and the
  ledger's paid payments (exit 1 if there is any); with ``--batch B --record --key`` and no
  mismatch it sends ``batch.reconcile`` with the statement's SHA-256, count and total;
- ``sample declare`` / ``sample show`` declare an auditor's sample and recompute its draw from
  the seed block's hash, as anyone can;
- ``disclose`` builds a village's masked list for ``disclosure.draft``: it opens the households'
  sealed data with the office's key here, masks each head of household's name and sends only
  the masked names.

Exit codes as everywhere (cli/main.py): 0 ok, 1 failed or mismatches found, 2 bad usage,
3 node unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey

from aid.audit import (
    EXPORT_COLUMNS,
    Payment,
    check_export,
    draw_sample,
    paid_payment,
    parse_statement,
    parse_trailer,
    population_hash,
    reconcile,
)
from aid.disclosure import masked_rows
from aid.errors import BadArgs
from aid.identity import unseal
from chain.keyfile import load_key
from cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    CliError,
    UsageError,
    add_rpc_option,
    list_all,
    print_json,
    rpc_call,
)
from cli.sending import send_action
from node.aidclient import read_enc_key

EXPORT_READ_BYTES = 64 * 1024


# --- Parquet (optional extra: pip install aidchain[parquet]) --------------------------------------
PARQUET_ROW_GROUP = 50_000  # rows buffered per Parquet row group: memory stays bounded


class ParquetSink:
    """Writes the export's rows to Parquet as they stream by, one row group at a time.

    Typed columns for analysts (DuckDB, pandas): ``height`` and ``tx_index`` integers,
    ``time_utc`` a UTC millisecond timestamp, the rest strings. The file's key-value metadata
    carries the export's height, row count and the CSV's SHA-256: the CSV is what the chain
    records; the Parquet file says which CSV it was made from.
    """

    def __init__(self, path: str) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError("Parquet needs the extra: pip install 'aidchain[parquet]'") from None
        self._pa, self._pq = pa, pq
        self._path = path
        self._schema = pa.schema(
            [
                ("height", pa.int64()),
                ("tx_index", pa.int32()),
                ("time_utc", pa.timestamp("ms", tz="UTC")),
                *((name, pa.string()) for name in EXPORT_COLUMNS[3:]),
            ]
        )
        self._writer = pq.ParquetWriter(path, self._schema)
        self._rows: list[list[str]] = []
        self._header_seen = False

    def feed(self, lines: bytes) -> None:
        """Complete CSV lines of the export (comment lines and the header are skipped)."""
        text = lines.decode("utf-8")
        for row in csv.reader(io.StringIO(text)):
            if not row or row[0].startswith("#"):
                continue
            if not self._header_seen:
                self._header_seen = True
                continue
            self._rows.append(row)
        if len(self._rows) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        pa, cols = self._pa, list(zip(*self._rows, strict=True))
        times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in cols[2]]
        arrays = [
            pa.array([int(v) for v in cols[0]], pa.int64()),
            pa.array([int(v) for v in cols[1]], pa.int32()),
            pa.array(times, pa.timestamp("ms", tz="UTC")),
            *(pa.array(list(c), pa.string()) for c in cols[3:]),
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows = []

    def close(self, height: int, rows: int, csv_sha256: str) -> None:
        self._flush()
        self._writer.add_key_value_metadata(
            {
                "aidchain.height": str(height),
                "aidchain.rows": str(rows),
                "aidchain.csv_sha256": csv_sha256,
            }
        )
        self._writer.close()


# --- export and verify ---------------------------------------------------------------------------
async def _export(args: argparse.Namespace) -> int:
    scope = {
        k: v
        for k, v in (
            ("area", args.area),
            ("from", args.from_),
            ("to", args.to),
            ("program", args.program),
            ("org", args.org),
        )
        if v
    }
    url = urljoin(args.rpc, "/audit/export.csv") + "?" + urlencode(scope)
    sink = ParquetSink(args.parquet) if args.parquet else None
    whole, body = hashlib.sha256(), hashlib.sha256()
    held = b""  # the last (possibly incomplete) line: the trailer once the stream ends
    out = sys.stdout.buffer
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            if resp.status != 200:
                raise CliError(f"audit export refused ({resp.status}): {await resp.text()}")
            async for chunk in resp.content.iter_chunked(EXPORT_READ_BYTES):
                out.write(chunk)
                whole.update(chunk)
                data = held + chunk
                cut = data.rfind(b"\n", 0, len(data) - 1) + 1
                body.update(data[:cut])
                if sink is not None:
                    sink.feed(data[:cut])
                held = data[cut:]
    except aiohttp.ClientConnectionError as exc:
        raise CliError(f"cannot reach node at {args.rpc}: {exc}", EXIT_UNREACHABLE) from None
    out.flush()
    try:
        height, rows, claimed = parse_trailer(held)
    except BadArgs as exc:
        raise CliError(f"the export ended early: {exc.message}") from None
    if claimed != body.hexdigest():
        raise CliError("the export's trailer does not match its content: do not use this file")
    file_hash = whole.hexdigest()
    if sink is not None:
        sink.close(height, rows, file_hash)
    info: dict[str, Any] = {"height": height, "rows": rows, "file_hash": file_hash}
    if args.record:
        if args.key is None:
            raise UsageError("--record needs --key (an auditor's key)")
        record = {"scope": scope, "height": height, "rows": rows, "file_hash": file_hash}
        sent = await send_action(
            args.rpc, load_key(args.key), "audit.record_export", record, wait=True, echo=False
        )
        info["recorded_tx"] = sent["hash"]
    print(f"audit export: {json.dumps(info)}", file=sys.stderr)  # stdout holds the file
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    return asyncio.run(_export(args))


async def _verify(args: argparse.Namespace) -> int:
    data = Path(args.file).read_bytes()
    try:
        check = check_export(data)
    except BadArgs as exc:
        raise CliError(str(exc.message)) from None
    file_hash = hashlib.sha256(data).hexdigest()
    record = await rpc_call(args.rpc, "aid_get", kind="export", id=file_hash)
    ok = check.intact and record is not None and record["height"] == check.height
    print_json(
        {
            "intact": check.intact,
            "height": check.height,
            "rows": check.rows,
            "file_hash": file_hash,
            "recorded": record,
            "proven": ok,
        }
    )
    return EXIT_OK if ok else EXIT_FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    return asyncio.run(_verify(args))


# --- reconcile -----------------------------------------------------------------------------------
async def ledger_payments(
    url: str, batch: str | None, area: str | None, period: str | None
) -> list[Payment]:
    """The ledger's paid payments of a batch, or of an area's programs in a period."""
    pairs: list[tuple[str, str]] = []
    if batch:
        record = await rpc_call(url, "aid_get", kind="batch", id=batch)
        if record is None:
            raise CliError(f"no batch {batch}")
        cycle = await rpc_call(url, "aid_get", kind="cycle", id=record["cycle"])
        pairs.append((cycle["program"], cycle["period"]))
    else:
        assert area is not None and period is not None
        programs = await list_all(url, "program", {"area": area})
        pairs += [(p["id"], period) for p in programs]
    out = []
    for program, per in pairs:
        for ent in await list_all(url, "entitlement", {"program": program, "period": per}):
            paid = paid_payment(ent["id"], ent, batch)
            if paid is not None:
                out.append(paid)
    return out


async def _reconcile(args: argparse.Namespace) -> int:
    if not args.batch and not (args.area and args.period):
        raise UsageError("give --batch, or --area and --period")
    if args.record and not (args.batch and args.key):
        raise UsageError("--record needs --batch and --key (a finance allocator's key)")
    try:
        raw = Path(args.statement).read_bytes()
        statement = parse_statement(raw.decode("utf-8"))
    except BadArgs as exc:
        raise UsageError(exc.message) from None
    except UnicodeDecodeError:
        raise UsageError(f"{args.statement} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {args.statement}: {exc.strerror}") from None
    ledger = await ledger_payments(args.rpc, args.batch, args.area, args.period)
    mismatches = reconcile(ledger, statement)
    count, total = len(ledger), sum(p.amount_fen for p in ledger)
    out: dict[str, Any] = {
        "ledger": {"count": count, "total_fen": total},
        "statement": {
            "count": len(statement),
            "total_fen": sum(p.amount_fen for p in statement),
        },
        "mismatches": [m.to_dict() for m in mismatches],
    }
    if args.record and not mismatches:  # the statement agrees: put its hash on chain
        action = {
            "batch": args.batch,
            "statement_hash": hashlib.sha256(raw).hexdigest(),
            "count": count,
            "total": total,
        }
        sent = await send_action(
            args.rpc, load_key(args.key), "batch.reconcile", action, wait=True, echo=False
        )
        out["recorded_tx"] = sent["hash"]
    print_json(out)
    return EXIT_FAILED if mismatches else EXIT_OK


def cmd_reconcile(args: argparse.Namespace) -> int:
    return asyncio.run(_reconcile(args))


# --- samples -------------------------------------------------------------------------------------
async def show_sample(url: str, sample_id: str) -> dict[str, Any]:
    sample = await rpc_call(url, "aid_get", kind="sample", id=sample_id)
    if sample is None:
        raise CliError(f"no sample {sample_id}")
    block = await rpc_call(url, "block_get", height=sample["seed_height"])
    if block is None:
        raise CliError(f"the seed block {sample['seed_height']} is not committed yet")
    cycle = await rpc_call(url, "aid_get", kind="cycle", id=sample["cycle"])
    ents = await list_all(
        url, "entitlement", {"program": cycle["program"], "period": cycle["period"]}
    )
    population = [e["id"] for e in ents if e["cycle"] == sample["cycle"]]
    seed = block["hash"]
    return {
        "sample": sample_id,
        "seed_height": sample["seed_height"],
        "seed_hash": seed,
        "population_count": len(population),
        "population_matches": population_hash(population) == sample["population_hash"],
        "picks": draw_sample(seed, population, sample["n"]),
    }


def cmd_sample_show(args: argparse.Namespace) -> int:
    result = asyncio.run(show_sample(args.rpc, args.sample))
    print_json(result)
    return EXIT_OK if result["population_matches"] else EXIT_FAILED


def cmd_sample_declare(args: argparse.Namespace) -> int:
    action_args = {"cycle": args.cycle, "n": args.n, "purpose": args.purpose}
    asyncio.run(send_action(args.rpc, load_key(args.key), "audit.sample", action_args, wait=True))
    return EXIT_OK


# --- disclosure ----------------------------------------------------------------------------------
async def disclosure_rows(
    url: str, village: str, cycles: list[str], enc_key_hex: str
) -> tuple[str, list[dict[str, str]]]:
    """(period, rows) of a village's entitlements in ``cycles``, names masked here."""
    public = bytes(PrivateKey(bytes.fromhex(enc_key_hex)).public_key).hex()
    policy = await rpc_call(url, "aid_policy")
    org = next((o for o in policy["orgs"] if o["enc_key"] == public), None)
    if org is None:
        raise UsageError("--enc-key is not the encryption key of any organisation")
    periods: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for cycle_id in cycles:
        cycle = await rpc_call(url, "aid_get", kind="cycle", id=cycle_id)
        if cycle is None:
            raise CliError(f"no cycle {cycle_id}")
        periods.add(cycle["period"])
        filters = {"program": cycle["program"], "period": cycle["period"]}
        for ent in await list_all(url, "entitlement", filters):
            if ent["cycle"] != cycle_id:
                continue
            household = await rpc_call(url, "aid_get", kind="household", id=ent["household"])
            if household["village"] != village:
                continue
            try:
                personal = unseal(enc_key_hex, household["sealed"], org["id"])
            except (KeyError, CryptoError):
                raise CliError(
                    f"household {ent['household']} is not sealed to {org['id']}"
                ) from None
            pairs.append((ent["id"], personal["members"][0]["name"]))
    if len(periods) != 1:
        raise UsageError("the cycles of one disclosure must share one period")
    return periods.pop(), masked_rows(pairs)


async def _disclose(args: argparse.Namespace) -> int:
    period, rows = await disclosure_rows(
        args.rpc, args.village, args.cycle, read_enc_key(args.enc_key)
    )
    draft = {"village": args.village, "period": period, "cycles": args.cycle, "rows": rows}
    await send_action(args.rpc, load_key(args.key), "disclosure.draft", draft, wait=args.wait)
    return EXIT_OK


def cmd_disclose(args: argparse.Namespace) -> int:
    return asyncio.run(_disclose(args))


# --- parser --------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    sub = subparsers.add_parser(
        "audit", help="audit export and proof, bank reconciliation, samples, disclosure drafts"
    ).add_subparsers(dest="sub", required=True)

    p = add_rpc_option(sub.add_parser("export", help="stream the AU-3 CSV of a scope to stdout"))
    p.add_argument("--area", required=True, help="12-digit area code")
    p.add_argument("--from", dest="from_", metavar="DATE", help="first UTC date, YYYY-MM-DD")
    p.add_argument("--to", metavar="DATE", help="last UTC date, YYYY-MM-DD (inclusive)")
    p.add_argument("--program", help="only actions about this program")
    p.add_argument("--org", help="only actions by this organisation")
    p.add_argument("--record", action="store_true", help="record the file's hash on chain")
    p.add_argument("--key", help="auditor key file (with --record)")
    p.add_argument("--parquet", metavar="FILE", help="also write the rows to a Parquet file")
    p.set_defaults(func=cmd_export)

    p = add_rpc_option(
        sub.add_parser("verify", help="prove an export file: trailer hash and on-chain record")
    )
    p.add_argument("file")
    p.set_defaults(func=cmd_verify)

    p = add_rpc_option(
        sub.add_parser("reconcile", help="bank statement CSV against the ledger's payments")
    )
    p.add_argument("--statement", required=True, help="CSV with entitlement,bank_ref,amount_fen")
    p.add_argument("--batch", help="a bank batch id")
    p.add_argument("--area", help="programs in this area ...")
    p.add_argument("--period", help="... in this period (YYYY-MM)")
    p.add_argument(
        "--record",
        action="store_true",
        help="with --batch, when nothing mismatches: send batch.reconcile (statement hash)",
    )
    p.add_argument("--key", help="finance allocator key file (with --record)")
    p.set_defaults(func=cmd_reconcile)

    sample = sub.add_parser("sample", help="auditor's samples").add_subparsers(
        dest="sample_cmd", required=True
    )
    p = add_rpc_option(sample.add_parser("declare", help="declare a sample of a cycle's payments"))
    p.add_argument("--cycle", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--purpose", required=True)
    p.add_argument("--key", required=True, help="auditor key file")
    p.set_defaults(func=cmd_sample_declare)
    p = add_rpc_option(
        sample.add_parser("show", help="recompute a sample's draw from its seed block")
    )
    p.add_argument("sample")
    p.set_defaults(func=cmd_sample_show)

    p = add_rpc_option(sub.add_parser("disclose", help="draft a village's masked list (公示)"))
    p.add_argument("--village", required=True)
    p.add_argument("--cycle", action="append", required=True, help="a cycle (repeatable)")
    p.add_argument("--key", required=True, help="the office handler's key file")
    p.add_argument("--enc-key", required=True, help="the office's encryption key file")
    p.add_argument("--wait", action="store_true")
    p.set_defaults(func=cmd_disclose)
