"""Examples of the contract language: a household registry and a program budget, retired.

They were the chain's first disbursement contracts. The ledger (``aid/``) now does their work
natively, with more than they could: household registration with keyed commitments and public
notice, programs with budgets drawn from allocations, per-household caps, multi-stage
approvals by role and area, and no double payment ever (docs/ledger.md). They stay as worked
examples of the language (storage, events, transfers, a cross-contract call) for
docs/contracts.md and the VM's tests. Do not deploy them to disburse real funds.
"""

from __future__ import annotations

from contracts.packaged import packaged_source

NAMES = ("household_registry", "program_budget")


def source(name: str) -> str:
    """The source text of an example contract, e.g. ``source("program_budget")``."""
    return packaged_source(__name__, NAMES, name, "example")
