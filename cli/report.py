"""``aidchain aid report`` and ``aidchain aid stats``: the ledger's reports (综合报表) from a node.

A report is computed by the node from its statistics counters at one block and carries that
``height``: two nodes at one height print the same report. ``--flat`` prints one
``path<TAB>value`` line per figure, for a spreadsheet or ``grep``. Exit codes as everywhere
(cli/main.py): 0 ok, 1 refused (an unknown area code or period: the reason is printed), 3 node
unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from typing import Any

from aid.reports import REPORT_KINDS
from cli.common import EXIT_OK, add_rpc_option, print_json, rpc_call


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, scalar) for every leaf; list items by index."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from flatten(item, f"{path}.{i}")
    else:
        yield path, value


def _show(result: Any, flat: bool) -> int:
    if flat:
        for path, value in flatten(result):
            print(f"{path}\t{json.dumps(value, ensure_ascii=False)}")
    else:
        print_json(result)
    return EXIT_OK


def _params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"area": args.area}
    if args.period is not None:
        params["period"] = args.period
    return params


def cmd_report(args: argparse.Namespace) -> int:
    result = asyncio.run(rpc_call(args.rpc, "aid_report", kind=args.kind, **_params(args)))
    return _show(result, args.flat)


def cmd_stats(args: argparse.Namespace) -> int:
    return _show(asyncio.run(rpc_call(args.rpc, "aid_stats", **_params(args))), args.flat)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--area", required=True, help="12-digit area code (county, township, village)")
    p.add_argument("--period", help='"all" (default), a year YYYY or a month YYYY-MM')
    p.add_argument("--flat", action="store_true", help="one path<TAB>value line per figure")
    add_rpc_option(p)


def register(sub: Any) -> None:
    """Adds ``report`` and ``stats`` to the ``aid`` command group's subparsers."""
    p = sub.add_parser("report", help="a report of an area and period (综合报表)")
    p.add_argument("kind", choices=REPORT_KINDS)
    _common(p)
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("stats", help="every statistics counter of an area and period")
    _common(p)
    p.set_defaults(func=cmd_stats)
