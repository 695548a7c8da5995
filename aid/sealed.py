"""Sealed data: encrypted on the client to organisations, as an envelope the ledger cannot open.

Household personal data, visit notes and sensitive grievances travel this way (the ledger never
sees plain text)::

    {"data": "<base64: the data, encrypted once under a fresh key (SecretBox)>",
     "keys": {"<org id>": "<base64: that key in a sealed box to the organisation>", ...}}

(aid/identity.py ``seal``). What the ledger can check is the shape: every organisation exists,
every wrapped key has the one size a sealed 32-byte key has, the data is bounded base64 long
enough to hold a nonce and a tag. One reader for all of them, so the rule cannot drift between
actions.
"""

from __future__ import annotations

from typing import Any

from aid.args import MAX_LIST_ITEMS, Args
from aid.errors import BadArgs
from aid.roles import require_org
from aid.state import Records

MAX_SEALED_DATA_CHARS = 8_192  # the encrypted data of one envelope, in base64 (6,144 bytes)
SECRETBOX_OVERHEAD = 40  # a 24-byte nonce and a 16-byte tag around the data
WRAPPED_KEY_BYTES = 80  # a 32-byte data key in a sealed box: 32-byte ephemeral key, 16-byte tag
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def base64_bytes(value: Any) -> int | None:
    """How many bytes a padded standard-base64 string holds; None if ``value`` is not one.

    Stricter than ``base64.b64decode(validate=True)``, which also takes padding after a whole
    quantum (``"QUJD="``): one envelope has one spelling.
    """
    if not isinstance(value, str) or not value or len(value) % 4:
        return None
    body = value.rstrip("=")
    pad = len(value) - len(body)
    if pad > 2 or body.strip(_BASE64):
        return None
    return len(value) // 4 * 3 - pad


def sealed_data(
    a: Args, records: Records, name: str, *, what: str, max_orgs: int = MAX_LIST_ITEMS
) -> dict[str, Any]:
    """The envelope in argument ``name`` (``what`` it holds, for the message), keys sorted."""
    raw = a.mapping(name)
    if set(raw) != {"data", "keys"}:
        raise BadArgs(
            f'{name} must be {{"data", "keys"}}: {what} sealed client side to organisations',
            argument=name,
        )
    size = base64_bytes(raw["data"])
    if size is None or len(raw["data"]) > MAX_SEALED_DATA_CHARS or size <= SECRETBOX_OVERHEAD:
        raise BadArgs(
            f"{name}.data must be base64 of encrypted data, at most {MAX_SEALED_DATA_CHARS} chars",
            argument=name,
        )
    keys = raw["keys"]
    if not isinstance(keys, dict) or not 0 < len(keys) <= max_orgs:
        raise BadArgs(
            f"{name}.keys must seal {what} to 1 to {max_orgs} organisations", argument=name
        )
    for org_id, wrapped in keys.items():
        require_org(records, org_id)
        if base64_bytes(wrapped) != WRAPPED_KEY_BYTES:
            raise BadArgs(
                f"{name}.keys[{org_id!r}] must be a data key sealed to it, in base64",
                argument=name,
            )
    return {"data": raw["data"], "keys": {k: keys[k] for k in sorted(keys)}}
