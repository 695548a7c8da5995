"""RFC 6962 trees: the published Certificate Transparency vectors and properties of paths."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.merkle import (
    EMPTY_TREE_HASH,
    PathError,
    audit_path,
    leaf_hash,
    node_hash,
    root_from_path,
    root_of_hashes,
    tree_hash,
    verify_inclusion,
)

# The test data of RFC 6962's reference implementation (certificate-transparency, merkle tree
# tests), restated in RFC 9162 test suites: eight leaves and the root of each prefix.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def reference_mth(items: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 writes it (recursive split), to check the fast one."""
    if not items:
        return hashlib.sha256(b"").digest()
    if len(items) == 1:
        return hashlib.sha256(b"\x00" + items[0]).digest()
    k = 1
    while k * 2 < len(items):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(items[:k]) + reference_mth(items[k:])).digest()


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert EMPTY_TREE_HASH.hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert tree_hash([]) == EMPTY_TREE_HASH


@pytest.mark.parametrize("n", range(1, 9))
def test_the_published_roots_of_every_prefix(n: int) -> None:
    assert tree_hash(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_PATHS)
def test_the_published_audit_paths(index: int, size: int, path: list[str]) -> None:
    leaves = [leaf_hash(item) for item in CT_LEAVES[:size]]
    got = audit_path(leaves, index)
    assert [p.hex() for p in got] == path
    root = root_from_path(leaves[index], index, size, got)
    assert root.hex() == CT_ROOTS[size - 1]


def test_prefixes_keep_leaves_and_nodes_apart() -> None:
    a, b = b"a", b"b"
    # a leaf whose data is the concatenation of two leaf hashes is not their parent
    assert tree_hash([a, b]) == node_hash(leaf_hash(a), leaf_hash(b))
    assert tree_hash([leaf_hash(a) + leaf_hash(b)]) != tree_hash([a, b])
    # no odd-node promotion: [a, b, c] differs from [a, b, c, c] and from [[a, b], c]
    c = b"c"
    assert tree_hash([a, b, c]) != tree_hash([a, b, c, c])


def test_paths_refuse_what_cannot_be_a_tree() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(7)]
    root = root_of_hashes(leaves)
    path = audit_path(leaves, 2)
    assert verify_inclusion(leaves[2], 2, 7, path, root)
    assert not verify_inclusion(leaves[2], 2, 7, path[1:], root)  # too short
    assert not verify_inclusion(leaves[2], 2, 7, [*path, path[0]], root)  # too long
    assert not verify_inclusion(leaves[2], 2, 4, path, root)
    assert not verify_inclusion(leaves[2], 7, 7, path, root)
    assert not verify_inclusion(leaves[2], 2, 7, [path[0][:31], *path[1:]], root)
    with pytest.raises(PathError):
        audit_path(leaves, 7)
    with pytest.raises(PathError):
        audit_path(leaves, -1)
    with pytest.raises(PathError):
        root_from_path(leaves[0], 0, 0, [])
    with pytest.raises(PathError):
        root_from_path(leaves[0], 0, 2**70, [leaves[1]] * 70)


items_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(items=items_lists)
def test_fast_root_equals_the_rfc_definition(items: list[bytes]) -> None:
    assert tree_hash(items) == reference_mth(items)


@settings(max_examples=150, deadline=None)
@given(items=items_lists, data=st.data())
def test_every_leaf_has_a_path_to_the_root(items: list[bytes], data: st.DataObject) -> None:
    leaves = [leaf_hash(item) for item in items]
    root = reference_mth(items)
    index = data.draw(st.integers(0, len(items) - 1))
    path = audit_path(leaves, index)
    assert len(path) <= (len(items) - 1).bit_length()
    assert root_from_path(leaves[index], index, len(items), path) == root


@settings(max_examples=150, deadline=None)
@given(items=items_lists, data=st.data())
def test_a_changed_leaf_index_size_or_path_element_fails(
    items: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(item) for item in items]
    n = len(items)
    root = root_of_hashes(leaves)
    index = data.draw(st.integers(0, n - 1))
    path = audit_path(leaves, index)
    other = leaf_hash(items[index] + b"!")
    assert not verify_inclusion(other, index, n, path, root)
    if path:
        j = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        bad = bytearray(path[j])
        bad[bit // 8] ^= 1 << (bit % 8)
        assert not verify_inclusion(
            leaves[index], index, n, [*path[:j], bytes(bad), *path[j + 1 :]], root
        )
    for wrong in (index - 1, index + 1):
        if 0 <= wrong < n and leaves[wrong] != leaves[index]:
            assert not verify_inclusion(leaves[index], wrong, n, path, root)


def test_the_tree_size_must_come_from_the_signed_header() -> None:
    """A path alone does not fix the tree size: leaf 0 of 3 has the same path shape as leaf 0
    of 4. That is why headers carry ``tx_count`` and the verifier never takes a size from the
    proof (docs/proofs.md)."""
    leaves = [leaf_hash(bytes([i])) for i in range(3)]
    root = root_of_hashes(leaves)
    path = audit_path(leaves, 0)
    assert verify_inclusion(leaves[0], 0, 3, path, root)
    assert verify_inclusion(leaves[0], 0, 4, path, root)
