"""The ledger's rules contracts, written in the contract subset (deployed as source, never imported).

A program names a rules contract that answers, at fixed hooks, who is eligible, how much and
which approval stages an amount needs (docs/ledger.md, "Rules contracts"); the monitoring rules
contract flags households at risk of returning to poverty (docs/oversight.md). The demo county
deploys these (node/demo.py), the ledger bench the living subsidy (node/benchledger.py).
"""

from __future__ import annotations

from contracts.packaged import packaged_source

NAMES = (
    "rules_living_subsidy",
    "rules_education_subsidy",
    "rules_seedlings",
    "rules_monitored_support",
    "monitoring_rules",
)


def source(name: str) -> str:
    """The source text of a system contract, e.g. ``source("rules_living_subsidy")``."""
    return packaged_source(__name__, NAMES, name, "system")
