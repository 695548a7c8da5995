"""SplitMix64: a tiny, fast, seedable PRNG so every simulation is reproducible from its seed.

The simulator must not use ``random`` (global state, version-dependent streams); this is a
self-contained generator whose output depends only on the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_MASK = (1 << 64) - 1


class SplitMix64:
    __slots__ = ("_state",)

    def __init__(self, seed: int) -> None:
        self._state = seed & _MASK

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) (n > 0)."""
        if n <= 0:
            raise ValueError("n must be positive")
        return self.next_u64() % n

    def between(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def chance(self, per_mille: int) -> bool:
        return per_mille > 0 and self.below(1000) < per_mille

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def shuffled(self, items: Sequence[T]) -> list[T]:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out

    def bytes32(self) -> bytes:
        return b"".join(self.next_u64().to_bytes(8, "big") for _ in range(4))

    def fork(self) -> SplitMix64:
        """An independent stream (so adding draws in one place does not shift another)."""
        return SplitMix64(self.next_u64())
