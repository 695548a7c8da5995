"""The peer handshake as pure functions: honest runs pass, every tampering is refused."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain import limits
from chain.crypto import KeyPair
from chain.encoding import canonical
from node import handshake as hs

CHAIN = "aid-test"
LISTENER = KeyPair.from_seed(b"L" * 32)
DIALER = KeyPair.from_seed(b"D" * 32)
OTHER = KeyPair.from_seed(b"O" * 32)
VALIDATORS = {LISTENER.public_hex, DIALER.public_hex}


def run_honest() -> tuple[hs.Hello, hs.Auth, hs.Welcome]:
    hello = hs.parse_hello(hs.encode(hs.make_hello(LISTENER, CHAIN)))
    hs.check_hello(hello, chain_id=CHAIN, expected_id=LISTENER.public_hex)
    auth = hs.parse_auth(hs.encode(hs.make_auth(DIALER, CHAIN, hello)))
    assert hs.check_auth(auth, hello=hello, validators=VALIDATORS) == DIALER.public_hex
    welcome = hs.parse_welcome(hs.encode(hs.make_welcome(LISTENER, CHAIN, auth)))
    hs.check_welcome(welcome, chain_id=CHAIN, auth=auth, expected_id=LISTENER.public_hex)
    return hello, auth, welcome


def kind_of(exc_info: pytest.ExceptionInfo[hs.HandshakeError]) -> str:
    assert exc_info.value.reason == "handshake_refused"
    assert exc_info.value.to_data()["kind"] == exc_info.value.kind
    return exc_info.value.kind


def test_honest_handshake_passes_and_challenges_are_fresh() -> None:
    hello1, auth1, _ = run_honest()
    hello2, auth2, _ = run_honest()
    assert hello1.challenge != hello2.challenge
    assert auth1.challenge != auth2.challenge


def test_dialer_signing_with_another_key_is_refused() -> None:
    hello = hs.make_hello(LISTENER, CHAIN)
    forged = dataclasses.replace(hs.make_auth(OTHER, CHAIN, hello), node_id=DIALER.public_hex)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_auth(forged, hello=hello, validators=VALIDATORS)
    assert kind_of(exc) == "bad_signature"


def test_non_validator_is_refused_even_with_a_valid_signature() -> None:
    hello = hs.make_hello(LISTENER, CHAIN)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_auth(hs.make_auth(OTHER, CHAIN, hello), hello=hello, validators=VALIDATORS)
    assert kind_of(exc) == "unknown_peer"


def test_dialer_claiming_the_listeners_id_is_refused() -> None:
    hello = hs.make_hello(LISTENER, CHAIN)
    auth = hs.make_auth(LISTENER, CHAIN, hello)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_auth(auth, hello=hello, validators=VALIDATORS)
    assert kind_of(exc) == "unexpected_peer"


def test_wrong_chain_is_refused_on_both_sides() -> None:
    hello = hs.make_hello(LISTENER, "other-chain")
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_hello(hello, chain_id=CHAIN, expected_id=LISTENER.public_hex)
    assert kind_of(exc) == "wrong_chain"
    hello = hs.make_hello(LISTENER, CHAIN)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_auth(hs.make_auth(DIALER, "other", hello), hello=hello, validators=VALIDATORS)
    assert kind_of(exc) == "wrong_chain"


def test_dialer_refuses_a_listener_that_is_not_who_it_dialed() -> None:
    hello = hs.make_hello(OTHER, CHAIN)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_hello(hello, chain_id=CHAIN, expected_id=LISTENER.public_hex)
    assert kind_of(exc) == "unexpected_peer"
    bad_version = dataclasses.replace(hs.make_hello(LISTENER, CHAIN), version=99)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_hello(bad_version, chain_id=CHAIN, expected_id=LISTENER.public_hex)
    assert kind_of(exc) == "version"


def test_listener_without_the_key_is_refused() -> None:
    hello = hs.make_hello(LISTENER, CHAIN)
    auth = hs.make_auth(DIALER, CHAIN, hello)
    forged = dataclasses.replace(hs.make_welcome(OTHER, CHAIN, auth), node_id=LISTENER.public_hex)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_welcome(forged, chain_id=CHAIN, auth=auth, expected_id=LISTENER.public_hex)
    assert kind_of(exc) == "bad_signature"


def test_a_dialer_proof_cannot_be_replayed_as_a_listener_proof() -> None:
    # The listener L sees the dialer D's signature over L's challenge. If L replays it as its
    # "welcome" to a dialer whose challenge equals that value, the role field still breaks it.
    hello = hs.make_hello(LISTENER, CHAIN)
    auth = hs.make_auth(DIALER, CHAIN, hello)
    mirrored = hs.Auth(CHAIN, LISTENER.public_hex, hello.challenge, auth.signature)
    replay = hs.Welcome(DIALER.public_hex, auth.signature)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_welcome(replay, chain_id=CHAIN, auth=mirrored, expected_id=DIALER.public_hex)
    assert kind_of(exc) == "bad_signature"


def test_welcome_over_a_different_dialer_challenge_is_refused() -> None:
    hello = hs.make_hello(LISTENER, CHAIN)
    auth = hs.make_auth(DIALER, CHAIN, hello)
    welcome = hs.make_welcome(LISTENER, CHAIN, auth)
    other = dataclasses.replace(auth, challenge=hs.new_challenge())
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_welcome(welcome, chain_id=CHAIN, auth=other, expected_id=LISTENER.public_hex)
    assert kind_of(exc) == "bad_signature"


def test_a_proof_for_an_old_challenge_is_refused() -> None:
    old_hello = hs.make_hello(LISTENER, CHAIN)
    old_auth = hs.make_auth(DIALER, CHAIN, old_hello)
    new_hello = hs.make_hello(LISTENER, CHAIN)
    with pytest.raises(hs.HandshakeError) as exc:
        hs.check_auth(old_auth, hello=new_hello, validators=VALIDATORS)
    assert kind_of(exc) == "bad_signature"


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["chain_id", "node_id", "signature"]), data=st.data())
def test_any_tampered_auth_field_is_refused(field: str, data: st.DataObject) -> None:
    # (auth.challenge is the dialer's own challenge: the listener signs it, it is not signed)
    hello = hs.make_hello(LISTENER, CHAIN)
    obj = hs.make_auth(DIALER, CHAIN, hello).to_json()
    original = obj[field]
    if field == "chain_id":
        obj[field] = data.draw(st.text(min_size=1, max_size=64).filter(lambda s: s != original))
    else:
        pos = data.draw(st.integers(0, len(original) - 1))
        flipped = "0" if original[pos] != "0" else "1"
        obj[field] = original[:pos] + flipped + original[pos + 1 :]
    with pytest.raises(hs.HandshakeError):
        auth = hs.parse_auth(canonical(obj))
        hs.check_auth(auth, hello=hello, validators=VALIDATORS | {obj["node_id"]})


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_parsers_refuse_garbage_with_handshake_error_only(data: bytes | str) -> None:
    for parse in (hs.parse_hello, hs.parse_auth, hs.parse_welcome):
        with pytest.raises(hs.HandshakeError) as exc:
            parse(data)
        assert exc.value.kind == "malformed"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: o.pop("challenge"),
        lambda o: o.update(extra=1),
        lambda o: o.update(type="auth"),
        lambda o: o.update(version=True),
        lambda o: o.update(challenge="AB" * 32),
        lambda o: o.update(node_id="z" * 64),
        lambda o: o.update(chain_id=""),
    ],
)
def test_hello_shape_is_strict(mutate: object) -> None:
    obj = hs.make_hello(LISTENER, CHAIN).to_json()
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(hs.HandshakeError) as exc:
        hs.parse_hello(canonical(obj))
    assert exc.value.kind == "malformed"


def test_oversized_handshake_message_is_refused_before_parsing() -> None:
    with pytest.raises(hs.HandshakeError) as exc:
        hs.parse_auth(b" " * (hs.HANDSHAKE_MAX_BYTES + 1))
    assert exc.value.kind == "malformed"


def test_every_honest_handshake_message_fits_the_pre_authentication_frame_limit() -> None:
    """The listener reads at most HANDSHAKE_MAX_BYTES per frame before authentication."""
    chain_id = "c" * limits.MAX_CHAIN_ID_CHARS  # the longest a chain id may be
    listener, dialer = KeyPair.generate(), KeyPair.generate()
    hello = hs.make_hello(listener, chain_id)
    auth = hs.make_auth(dialer, chain_id, hello)
    welcome = hs.make_welcome(listener, chain_id, auth)
    for message in (hello, auth, welcome):
        assert len(hs.encode(message)) <= hs.HANDSHAKE_MAX_BYTES // 4


def test_busy_is_a_handshake_refusal_kind() -> None:
    err = hs.HandshakeError("busy", "evicted to make room")
    assert err.kind == "busy" and err.reason == "handshake_refused"
