"""Sealed boxes: data encrypted on the client to organisations, as ``{org id: hex box}``.

Household personal data, visit notes and sensitive grievances travel this way (the ledger never
sees plain text). What the ledger can check is the shape: every organisation exists, every box
is bounded lowercase hex. One reader for all of them, so the rule cannot drift between actions.
"""

from __future__ import annotations

from aid.args import Args
from aid.errors import BadArgs
from aid.roles import require_org
from aid.state import Records

MAX_SEALED_HEX = 8_192  # one organisation's sealed box, in hex
_HEX_DIGITS = "0123456789abcdef"


def sealed_boxes(
    a: Args, records: Records, name: str, *, what: str, max_orgs: int | None = None
) -> dict[str, str]:
    """``{org id: hex sealed box}`` of argument ``name`` (``what`` it holds, for the message)."""
    raw = a.mapping(name) if max_orgs is None else a.mapping(name, max_items=max_orgs)
    if not raw:
        raise BadArgs(f"{name} must hold {what} sealed to at least one organisation", argument=name)
    for org_id, box in raw.items():
        require_org(records, org_id)
        if (
            not isinstance(box, str)
            or not 0 < len(box) <= MAX_SEALED_HEX
            or len(box) % 2
            or box.strip(_HEX_DIGITS)
        ):
            raise BadArgs(
                f"{name}[{org_id!r}] must be a hex sealed box of <= {MAX_SEALED_HEX} chars",
                argument=name,
            )
    return {k: raw[k] for k in sorted(raw)}
