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
    # oversight (aid/assistance.py, aid/monitoring.py, aid/grievances.py): a paired cadre visits
    # at least this often; a household with a label (or monitored) takes the shortest that applies
    visit_cadence_s: int = 30 * DAY_S
    visit_cadence_dibao_s: int = 30 * DAY_S
    visit_cadence_wubao_s: int = 14 * DAY_S
    visit_cadence_tekun_s: int = 14 * DAY_S
    visit_cadence_disabled_s: int = 14 * DAY_S
    visit_cadence_monitored_s: int = 14 * DAY_S
    # an alert is closed within its level's deadline, or it escalates to the level above
    alert_deadline_yellow_s: int = 15 * DAY_S
    alert_deadline_orange_s: int = 7 * DAY_S
    alert_deadline_red_s: int = 3 * DAY_S
    grievance_deadline_s: int = 15 * DAY_S  # filed -> resolved, else it escalates
    payment_deadline_s: int = 5 * DAY_S  # batch sent -> bank's report, for assessment
    objection_working_days: int = 7  # a published disclosure takes objections this long (公示)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    def visit_cadence_ms(self, labels: list[str], monitored: bool) -> int:
        """How often a paired cadre must visit: the shortest cadence that applies."""
        cadences = [self.visit_cadence_s]
        cadences += [getattr(self, f"visit_cadence_{label}_s") for label in labels]
        if monitored:
            cadences.append(self.visit_cadence_monitored_s)
        return min(cadences) * 1000

    def alert_deadline_ms(self, level: str) -> int:
        return int(getattr(self, f"alert_deadline_{level}_s")) * 1000


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
    if org_count < 2:
        raise BadArgs(
            "aid.orgs must list at least 2 organisations: a role grant needs the admins of "
            "governance_quorum (at least 2) distinct organisations, so one alone could grant none"
        )
    if not 2 <= policy.governance_quorum <= org_count:
        raise BadArgs(
            f"aid.policy.governance_quorum must be 2..{org_count} organisations: "
            "no single agency may grant roles"
        )
    if not (
        policy.alert_deadline_red_s
        <= policy.alert_deadline_orange_s
        <= policy.alert_deadline_yellow_s
    ):
        raise BadArgs(
            "aid.policy alert deadlines must not grow with the level: "
            "alert_deadline_red_s <= alert_deadline_orange_s <= alert_deadline_yellow_s"
        )
    return policy


def current_policy(records: Records) -> Policy:
    doc = records.peek("policy", "current")  # read-only: Policy takes its integers
    assert doc is not None, "the ledger's policy is written at genesis"
    return Policy(**doc)
