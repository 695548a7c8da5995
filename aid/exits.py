"""Exit from poverty (脱贫): the criteria the agencies attest before a household is lifted.

"两不愁三保障": income above the monitoring line, safe housing, schooling for the children, basic
medical insurance and safe drinking water. Each is recorded by the agency that knows it
(``exit.attest``, aid/monitoring.py) in ``attest/<household>``; ``household.lift`` (propose)
refuses while any criterion is missing or attested as not met, naming which.
"""

from __future__ import annotations

from aid.state import Records

CRITERIA = ("income", "housing", "schooling", "medical_insurance", "drinking_water")


def missing_exit_criteria(records: Records, household: str) -> list[str]:
    """The criteria not (yet) attested as met for ``household``, in CRITERIA order."""
    attested = records.get("attest", household) or {}
    return [c for c in CRITERIA if not (attested.get(c) or {}).get("met")]
