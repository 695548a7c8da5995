"""What the replica asks its runtime to do; the runtime performs them strictly in list order.

A ``Persist`` must be durable (synced) before any later action in the same list is carried out:
that ordering is what makes equivocation after a crash impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chain.block import Block, CommitCertificate
from chain.tx import Transaction
from consensus.messages import Message


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``msg`` to every other validator."""

    msg: Message


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``msg`` to one validator (by public key hex)."""

    to: str
    msg: Message


@dataclass(frozen=True, slots=True)
class ForwardTxs:
    """Send our pending ``txs`` to the primary ``to``, once per view.

    They have waited half the request timeout in our offer. Gossip is sent once, and a primary
    whose pool was full when it arrived never got them; without this, only a view change would
    move them (and one backup alone cannot make one).
    """

    to: str
    txs: tuple[Transaction, ...]


@dataclass(frozen=True, slots=True)
class Persist:
    """Append ``record`` (JSON-able, has an int ``height``) to the vote journal, synced."""

    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CommitBlock:
    """Execute and store ``block`` with its certificate, then call ``Replica.on_block_applied``."""

    block: Block
    certificate: CommitCertificate


@dataclass(frozen=True, slots=True)
class FetchBlocks:
    """We are behind: state-transfer blocks >= ``from_height``; ``peers`` are hints who has them."""

    from_height: int
    peers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PruneJournal:
    """Journal records whose ``height`` is < ``below_height`` may be deleted."""

    below_height: int


Action = Broadcast | Send | ForwardTxs | Persist | CommitBlock | FetchBlocks | PruneJournal
