"""Policy parameters every node must agree on, set in genesis (``aid.policy``).

Durations are in seconds of block time. A real network sets them in days (a public notice is at
least 7 days); a demo may set them in seconds so its whole history loads in a minute or two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aid.errors import BadArgs
from aid.state import Records

DAY_S = 86_400
MAX_DURATION_S = 10 * 365 * DAY_S


@dataclass(frozen=True, slots=True)
class Policy:
    governance_quorum: int = 3  # distinct organisations whose admins must approve a role change
    proposal_ttl_s: int = 14 * DAY_S  # a governance proposal not approved by then expires
    notice_period_s: int = 7 * DAY_S  # public notice of a registration or a lifting (公示)
    stage_deadline_s: int = 10 * DAY_S  # each approval stage of a payment cycle
    idle_fund_age_s: int = 365 * DAY_S  # allocated money unspent this long is reported idle
    objection_working_days: int = 7  # a published disclosure takes objections this long (公示)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def policy_from_dict(doc: Any, org_count: int) -> Policy:
    """Validate genesis' ``aid.policy`` (missing keys take the defaults)."""
    if not isinstance(doc, dict):
        raise BadArgs("aid.policy must be an object")
    known = set(Policy.__dataclass_fields__)
    extra = sorted(set(doc) - known)
    if extra:
        raise BadArgs(f"aid.policy has unknown keys {extra}")
    for key, value in doc.items():
        if type(value) is not int or not 1 <= value <= MAX_DURATION_S:
            raise BadArgs(f"aid.policy.{key} must be an integer from 1 to {MAX_DURATION_S}")
    policy = Policy(**doc)
    if not 2 <= policy.governance_quorum <= max(2, org_count):
        raise BadArgs(
            f"aid.policy.governance_quorum must be 2..{max(2, org_count)} organisations: "
            "no single agency may grant roles"
        )
    return policy


def current_policy(records: Records) -> Policy:
    doc = records.get("policy", "current")
    assert doc is not None, "the ledger's policy is written at genesis"
    return Policy(**doc)
