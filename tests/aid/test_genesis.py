from __future__ import annotations

import copy
from typing import Any

import pytest

from aid.errors import BadArgs, UnknownArea
from aid.genesis import genesis_records
from tests.aid.helpers import COUNTY, genesis_doc


def test_a_valid_section_becomes_policy_area_and_org_records() -> None:
    writes = genesis_records(genesis_doc())
    assert writes["aid/policy/current"]["governance_quorum"] == 3
    assert writes[f"aid/area/{COUNTY}"] == {"name": "County A"}
    assert writes["aid/org/bank"]["kind"] == "bank"


def broken(edit: Any) -> dict[str, Any]:
    doc = copy.deepcopy(genesis_doc())
    edit(doc)
    return doc


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["policy"].update(governance_quorum=1), "no single agency"),
        (lambda d: d["policy"].update(governance_quorum=8), "governance_quorum must be 2..7"),
        (lambda d: d["policy"].update(notice_days=7), "unknown keys"),
        (lambda d: d["policy"].update(notice_period_s=0), "notice_period_s must be an integer"),
        (lambda d: d["areas"].append({"code": COUNTY, "name": "again"}), "listed twice"),
        (lambda d: d["areas"].append({"code": "530102009001", "name": "orphan"}), "parent"),
        (lambda d: d["orgs"][0].update(kind="church"), "kind must be one of"),
        (lambda d: d["orgs"][0].update(area="539999000000"), "is not in aid.areas"),
        (lambda d: d["orgs"][0].update(admins=[]), "admins must be"),
        (lambda d: d["orgs"][0].update(enc_key="zz"), "enc_key"),
        (lambda d: d["orgs"][1].update(id="fin"), "unique"),
        (lambda d: d["orgs"][0].pop("enc_key"), "exactly the fields"),
        (lambda d: d.update(extra=1), "policy, areas and orgs"),
    ],
)
def test_malformed_sections_are_refused_with_a_reason(edit: Any, message: str) -> None:
    with pytest.raises(BadArgs, match=message):
        genesis_records(broken(edit))


def test_malformed_area_codes_name_the_code() -> None:
    with pytest.raises(UnknownArea, match="5301"):
        genesis_records(broken(lambda d: d["areas"].append({"code": "5301", "name": "x"})))
