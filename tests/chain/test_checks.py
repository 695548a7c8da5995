"""The shared shape predicates: JSON's true is never an integer, hashes are exact-length hex."""

from __future__ import annotations

from chain.checks import is_hex64, is_hex64_any_case, is_hex128, is_int, is_uint


def test_integers_exclude_bools() -> None:
    assert is_int(0) and is_int(-5) and is_int(2**70)
    assert not is_int(True) and not is_int(1.0) and not is_int("1")
    assert is_uint(0) and not is_uint(-1) and not is_uint(False)
    assert is_uint(10, 10) and not is_uint(11, 10)


def test_hex_exact_length_and_case() -> None:
    assert is_hex64("ab" * 32) and not is_hex64("AB" * 32) and not is_hex64("ab" * 32 + "\n")
    assert is_hex64_any_case("AB" * 32) and not is_hex64_any_case("g" * 64)
    assert not is_hex64("a" * 63) and not is_hex64(b"a" * 64)
    assert is_hex128("0f" * 64) and not is_hex128("0f" * 32)
