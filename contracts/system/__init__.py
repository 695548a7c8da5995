"""Disbursement contracts written in the contract subset (deployed as source, never imported)."""

from __future__ import annotations

from importlib import resources

NAMES = ("household_registry", "program_budget")


def source(name: str) -> str:
    """The source text of a system contract, e.g. ``source("program_budget")``."""
    if name not in NAMES:
        raise KeyError(f"no system contract {name!r}; known: {', '.join(NAMES)}")
    return resources.files(__name__).joinpath(f"{name}.py").read_text(encoding="utf-8")
