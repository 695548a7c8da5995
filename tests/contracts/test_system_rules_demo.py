"""The demo's education and seedlings rules contracts, run in the real VM hook by hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts import runtime
from contracts.runtime import run_local

SYSTEM = Path(runtime.__file__).parent / "system"
GAS = 1_000_000


def household(**over: Any) -> dict[str, Any]:
    view = {
        "id": "h1",
        "village": "530102001001",
        "status": "registered",
        "size": 5,
        "cause": "schooling",
        "income_per_head_yuan": 3000,
        "labels": [],
        "monitored": False,
    }
    return {**view, **over}


PROGRAM = {"id": "p1", "area": "530102000000", "purpose": "education", "category": "cash",
           "per_household_cap": 200_000, "start_period": "2026-01", "end_period": "2026-12"}  # fmt: skip


def deployed(name: str, init: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    source = (SYSTEM / name).read_text(encoding="utf-8")
    result, storage = run_local(source, "init", init, gas=GAS)
    assert result.ok, result.error
    return source, storage


def call(source: str, storage: dict[str, Any], hook: str, **args: Any) -> Any:
    result, _ = run_local(source, hook, args, gas=GAS, storage=storage)
    assert result.ok, result.error
    return result.result


def test_education_subsidy_pays_per_pupil_to_schooling_households() -> None:
    source, storage = deployed("rules_education_subsidy.py", {"per_pupil_fen": 50_000})
    args = {"program": PROGRAM, "period": "2026-03"}
    assert call(source, storage, "eligible", household=household(), **args) is True
    assert "not schooling" in call(
        source, storage, "eligible", household=household(cause="illness"), **args
    )
    assert "lifted" in call(
        source, storage, "eligible", household=household(status="lifted"), **args
    )
    assert call(source, storage, "entitlement", household=household(size=5), **args) == 150_000
    assert call(source, storage, "entitlement", household=household(size=1), **args) == 50_000
    assert call(source, storage, "entitlement", household=household(size=9), **args) == 200_000
    stages = call(source, storage, "stages", program=PROGRAM, total=1, count=1)
    assert [s["org_kind"] for s in stages] == ["poverty_office", "finance"]


def test_seedlings_give_bundles_to_households_lacking_funds_or_skills() -> None:
    init = {"base_bundles": 2, "per_member_bundles": 1, "max_bundles": 8}
    source, storage = deployed("rules_seedlings.py", init)
    program = {**PROGRAM, "category": "in_kind", "purpose": "industry"}
    args = {"program": program, "period": "2026-03"}
    for cause in ("lack_funds", "lack_skills"):
        assert call(source, storage, "eligible", household=household(cause=cause), **args) is True
    assert isinstance(call(source, storage, "eligible", household=household(), **args), str)
    assert call(source, storage, "entitlement", household=household(size=3), **args) == 5
    assert call(source, storage, "entitlement", household=household(size=9), **args) == 8


@pytest.mark.parametrize(
    ("name", "init"),
    [
        ("rules_education_subsidy.py", {"per_pupil_fen": 0}),
        ("rules_seedlings.py", {"base_bundles": 1, "per_member_bundles": -1, "max_bundles": 3}),
        ("rules_seedlings.py", {"base_bundles": 1, "per_member_bundles": 1, "max_bundles": 0}),
    ],
)
def test_bad_parameters_are_refused_at_deploy(name: str, init: dict[str, Any]) -> None:
    source = (SYSTEM / name).read_text(encoding="utf-8")
    result, _ = run_local(source, "init", init, gas=GAS)
    assert not result.ok
