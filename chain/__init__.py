"""Shared chain data types: canonical encoding, keys, transactions, blocks, certificates.

Every other package (consensus, storage, node, rpc, contracts) depends on these and on nothing
else of ours, so the byte-level formats that are hashed or signed live in exactly one place.
"""
