"""``aidchain keys new``: create a signing key file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chain.crypto import KeyPair
from chain.keyfile import save_key
from cli.common import EXIT_OK


def cmd_keys_new(args: argparse.Namespace) -> int:
    key = KeyPair.generate()
    save_key(args.out, key, overwrite=args.force)
    print(json.dumps({"public_key": key.public_hex, "file": str(args.out)}))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="key files").add_subparsers(dest="sub", required=True)
    p = keys.add_parser("new", help="create an ed25519 key file (mode 0600)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_keys_new)
