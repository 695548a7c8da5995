"""The simulator's PRNG and the new-view choice rule, as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consensus.messages import PreparedCert, ViewChange
from consensus.prng import SplitMix64
from consensus.replica import choose_prepared


@given(st.integers(0, 2**64 - 1))
def test_prng_is_a_pure_function_of_its_seed(seed: int) -> None:
    a, b = SplitMix64(seed), SplitMix64(seed)
    assert [a.next_u64() for _ in range(20)] == [b.next_u64() for _ in range(20)]


@given(st.integers(0, 2**32), st.integers(1, 1000))
def test_prng_ranges(seed: int, n: int) -> None:
    r = SplitMix64(seed)
    for _ in range(50):
        assert 0 <= r.below(n) < n
        assert 5 <= r.between(5, 5 + n) <= 5 + n
    assert sorted(r.shuffled(range(n))) == list(range(n))


def test_prng_known_vector() -> None:
    # SplitMix64 reference output for seed 0 (Vigna)
    assert SplitMix64(0).next_u64() == 0xE220A8397B1DCDAF


vc_strategy = st.builds(
    lambda last, pview, has, tag: ViewChange(
        9,
        last,
        None,
        PreparedCert(pview, last + 1, f"{tag:02x}" * 32, ()) if has else None,
        None,
        f"{tag:02x}" * 32,
        "00" * 64,
    ),
    st.integers(0, 5),
    st.integers(0, 8),
    st.booleans(),
    st.integers(0, 255),
)


@given(st.lists(vc_strategy, min_size=1, max_size=7))
def test_choice_is_the_highest_view_prepared_at_the_next_height(vcs: list[ViewChange]) -> None:
    top, chosen = choose_prepared(vcs)
    assert top == max(vc.last_height for vc in vcs)
    candidates = [vc.prepared for vc in vcs if vc.prepared and vc.prepared.height == top + 1]
    if not candidates:
        assert chosen is None
    else:
        assert chosen is not None and chosen.view == max(p.view for p in candidates)
        assert choose_prepared(list(reversed(vcs))) == (top, chosen)  # order does not matter
