"""Vote tallies keyed by (kind, view, height, block hash), one vote per sender per slot.

A sender that votes twice for different blocks in the same (kind, view, height) is an
equivocator: the first vote is kept and the second is reported, never counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

PREPARE = "prepare"
COMMIT = "commit"

ADDED = "added"
DUPLICATE = "duplicate"
EQUIVOCATION = "equivocation"
OVER_BUDGET = "over_budget"


@dataclass(slots=True)
class VoteBook:
    """Bounded store of prepare/commit signatures, with a per-sender budget."""

    per_sender_budget: int
    _votes: dict[tuple[str, int, int, str], dict[str, str]] = field(default_factory=dict)
    _index: dict[tuple[str, str, int, int], str] = field(default_factory=dict)
    _per_sender: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, view: int, height: int, block_hash: str, sender: str, sig: str) -> str:
        key = (kind, sender, view, height)
        known = self._index.get(key)
        if known is not None:
            return DUPLICATE if known == block_hash else EQUIVOCATION
        used = self._per_sender.get(sender, 0)
        if used >= self.per_sender_budget:
            return OVER_BUDGET
        self._index[key] = block_hash
        self._per_sender[sender] = used + 1
        self._votes.setdefault((kind, view, height, block_hash), {})[sender] = sig
        return ADDED

    def voters(self, kind: str, view: int, height: int, block_hash: str) -> dict[str, str]:
        return self._votes.get((kind, view, height, block_hash), {})

    def count(self, kind: str, view: int, height: int, block_hash: str) -> int:
        return len(self._votes.get((kind, view, height, block_hash), ()))

    def slots_at(self, kind: str, height: int) -> Iterator[tuple[int, str, dict[str, str]]]:
        """Every (view, block_hash, voters) holding ``kind`` votes at ``height``."""
        for (k, view, h, block_hash), voters in self._votes.items():
            if k == kind and h == height:
                yield view, block_hash, voters

    def prune(self, max_height: int) -> None:
        """Forget every vote at heights <= ``max_height``."""
        self._votes = {k: v for k, v in self._votes.items() if k[2] > max_height}
        self._index = {k: v for k, v in self._index.items() if k[3] > max_height}
        per: dict[str, int] = {}
        for _kind, sender, _view, _h in self._index:
            per[sender] = per.get(sender, 0) + 1
        self._per_sender = per

    def __len__(self) -> int:
        return len(self._index)
