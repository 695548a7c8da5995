"""A committed transaction as the SDK returns it from ``wait_for_receipt``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed transaction: where it is and its receipt (``ok``, ``events``, ...).

    ``index`` (its position in the block) is None when it came from a ``tx`` notification.
    """

    hash: str
    height: int
    index: int | None
    receipt: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.receipt.get("ok"))

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self.receipt.get("events") or [])
