"""An equivocating validator, as a wrapper around a runner's transport port. Tests only.

PBFT exists to survive validators that lie, so the simulator and the integration tests run
replicas whose outgoing messages are rewritten on the way out. The honest code path never sees
this module: the simulator (``consensus/simulator.py``) and the test launcher
(``tests/byzantine_node.py``) wrap a runner's ``Transport`` with it; the daemon and its config
know nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from chain.block import Block
from chain.crypto import KeyPair
from chain.tx import Transaction
from consensus.messages import (
    Commit,
    Message,
    Prepare,
    PrePrepare,
    make_commit,
    make_pre_prepare,
    make_prepare,
)
from consensus.runner import Transport


def conflicting(
    msg: Message, key: KeyPair, chain_id: str, entropy: Callable[[], bytes]
) -> Message | None:
    """A validly signed message contradicting ``msg`` (same kind, view and height), or None.

    ``entropy`` returns 32 fresh bytes: the simulator's seeded generator, or ``os.urandom``.
    """
    if isinstance(msg, PrePrepare):
        bump = 1 + entropy()[0] % 5
        header = replace(msg.block.header, time=msg.block.header.time + bump)
        return make_pre_prepare(key, chain_id, msg.view, Block(header, msg.block.txs))
    if isinstance(msg, Prepare):
        return make_prepare(key, chain_id, msg.view, msg.height, entropy().hex())
    if isinstance(msg, Commit):
        return make_commit(key, chain_id, msg.view, msg.height, entropy().hex())
    return None


Twin = Callable[[Message], Message | None]


class Equivocator:
    """Sends each proposal and vote to some validators and a conflicting twin to the others.

    ``lie_to(peer)`` picks who gets the twin; ``twin`` makes it (``conflicting`` by default, the
    simulator adds lies of its own about view changes). One twin per message, so every liar's
    victim sees the same lie.
    """

    def __init__(
        self,
        inner: Transport,
        validators: tuple[str, ...],
        me: str,
        twin: Twin,
        lie_to: Callable[[str], bool],
    ) -> None:
        self.inner = inner
        self.peers = tuple(v for v in validators if v != me)
        self.twin = twin
        self.lie_to = lie_to

    def broadcast(self, msg: Message) -> None:
        self._deliver(self.peers, msg)

    def send(self, to: str, msg: Message) -> None:
        self._deliver((to,), msg)

    def forward(self, to: str, txs: Sequence[Transaction]) -> None:
        self.inner.forward(to, txs)  # transactions carry their senders' signatures: no lie here

    def _deliver(self, peers: tuple[str, ...], msg: Message) -> None:
        made: list[Message | None] = []
        for peer in peers:
            out = msg
            if self.lie_to(peer):
                if not made:
                    made.append(self.twin(msg))
                out = made[0] or msg
            self.inner.send(peer, out)
