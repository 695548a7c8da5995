"""Key files: JSON ``{"public_key": <64 hex>, "secret_key": <64 hex ed25519 seed>}``, mode 0600.

A node refuses a key file that group or others can read: a validator key that leaks lets anyone
vote in that agency's name.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from chain.crypto import KeyPair, is_pubkey_hex
from chain.errors import KeyFileError


def save_key(path: str | Path, key: KeyPair, *, overwrite: bool = False) -> None:
    """Write ``key`` to ``path`` atomically with mode 0600 (refuses to overwrite unless asked)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key file")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps({"public_key": key.public_hex, "secret_key": key.seed_hex}, indent=2) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_key(path: str | Path, *, check_permissions: bool = True) -> KeyPair:
    """Load and validate a key file; with ``check_permissions`` refuse group/other-readable files."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if check_permissions and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o});"
            f" run: chmod 600 {path}"
        )
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        public, secret = obj["public_key"], obj["secret_key"]
        key = KeyPair.from_seed_hex(secret)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a valid key file: {exc}") from None
    if not is_pubkey_hex(public) or key.public_hex != public:
        raise KeyFileError(f"{path}: public_key does not match secret_key")
    return key
