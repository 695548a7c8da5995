"""RFC 6962 Merkle trees: the tree hash, audit paths and their verification.

Why RFC 6962 (Certificate Transparency, restated in RFC 9162 section 2.1) and not a home-made
tree: a third party can check our proofs with any CT library, and its two rules close the holes
of naive trees. A leaf is hashed as ``SHA-256(0x00 || data)`` and an inner node as
``SHA-256(0x01 || left || right)``, so no inner node can pass for a leaf (second preimages), and
a tree of n leaves splits at the largest power of two below n instead of duplicating or promoting
an odd node, so two different lists never share a root. The empty tree's hash is SHA-256 of the
empty string.

Audit paths are listed bottom-up (the leaf's sibling first), exactly as RFC 6962 section 2.1.1
``PATH(m, D[n])`` produces them; ``root_from_path`` is the verification algorithm of RFC 9162
section 2.1.3.2. Everything here works on raw 32-byte digests; callers hex-encode at the edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_BYTES = 32
EMPTY_TREE_HASH = hashlib.sha256(b"").digest()  # MTH({}) in RFC 6962
MAX_PATH_LENGTH = 64  # a tree of up to 2**64 leaves; a longer path cannot be valid


class PathError(ValueError):
    """An index outside the tree or a malformed path: no root can be computed from it."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_hashes(leaves: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves (``leaf_hash`` of each item), bottom-up in O(n).

    Pairing neighbours level by level and carrying a lone last node up unchanged builds exactly
    the RFC's split-at-the-largest-power-of-two tree: the left part of every split is a perfect
    tree, so only the rightmost node of a level can be unpaired.
    """
    if not leaves:
        return EMPTY_TREE_HASH
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tree_hash(items: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 over the raw leaf data ``items``."""
    return root_of_hashes([leaf_hash(item) for item in items])


def audit_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) over hashed ``leaves``: sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise PathError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)  # the subtree D[lo:hi] that holds the leaf
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            path.append(root_of_hashes(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of_hashes(leaves[lo : lo + k]))
            lo += k
    path.reverse()  # collected top-down; the RFC lists the leaf's sibling first
    return path


def root_from_path(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root a leaf hash at ``index`` of a ``size``-leaf tree implies (RFC 9162 2.1.3.2).

    Raises PathError when the path cannot belong to such a tree (index out of range, path too
    short or too long, an element not 32 bytes); the caller compares the result to the root it
    trusts.
    """
    if not 0 <= index < size:
        raise PathError(f"leaf index {index} is outside a tree of {size} leaves")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"audit path has {len(path)} elements, more than {MAX_PATH_LENGTH}")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if len(p) != HASH_BYTES:
            raise PathError("an audit path element is not a 32-byte hash")
        if sn == 0:
            raise PathError(f"audit path is longer than a tree of {size} leaves needs")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise PathError(f"audit path is shorter than a tree of {size} leaves needs")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """True iff ``path`` proves leaf hash ``leaf`` sits at ``index`` of the tree with ``root``."""
    try:
        return root_from_path(leaf, index, size, path) == root
    except PathError:
        return False
