"""The genesis' optional ledger section: validated at load, its records derived, hash unchanged without it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aid.state import record_key
from chain.encoding import canonical, sha256_hex
from chain.errors import ConfigError
from node.genesis import validate_genesis
from tests.aid.helpers import ADMINS, COUNTY
from tests.node.test_executor_aid import genesis


def test_the_aid_section_gives_records_and_admins() -> None:
    g = validate_genesis(genesis())
    assert g.aid_records[record_key("policy", "current")]["governance_quorum"] == 3
    assert g.aid_records[record_key("area", COUNTY)] == {"name": "County A"}
    assert g.aid_admins == {k.public_hex for k in ADMINS.values()}
    assert g.hash == sha256_hex(canonical(g.doc))


def test_a_genesis_without_aid_has_no_records_and_keeps_its_hash() -> None:
    doc = genesis()
    del doc["aid"]
    g = validate_genesis(copy.deepcopy(doc))
    assert g.aid_records == {} and g.aid_admins == frozenset()
    assert g.hash == sha256_hex(canonical(doc))
    assert validate_genesis(copy.deepcopy(doc)) == g


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.update(extra=1), 'genesis.aid: genesis "aid" must be an object'),
        (lambda a: a["policy"].update(governance_quorum=1), "genesis.aid: aid.policy.governance"),
        (lambda a: a["orgs"][0].update(kind="church"), "genesis.aid: organisation fin: kind"),
        (lambda a: a["areas"].append({"code": "12", "name": "x"}), "genesis.aid: area code"),
        (lambda a: a["orgs"][1].update(admins=[]), "genesis.aid: organisation office: admins"),
        (lambda a: a["orgs"][2].update(area=["x"]), "genesis.aid: organisation bank: area"),
    ],
)
def test_a_bad_aid_section_is_a_config_error_naming_the_problem(mutate: Any, message: str) -> None:
    doc = genesis()
    mutate(doc["aid"])
    with pytest.raises(ConfigError) as info:
        validate_genesis(doc)
    assert info.value.message.startswith(message)
