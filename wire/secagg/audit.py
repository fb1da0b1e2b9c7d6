"""Checking a secure-aggregation transcript after the fact, with nothing but the roster and CA.

The aggregator keeps ``SecAggServer.transcript()`` in its history. An auditor (``koepel audit
verify``) can then confirm, without trusting the aggregator: that the round referred to this
roster; that every node of U1' signed its ephemeral key and sealed shares for this query id;
that every node counted in U2 signed its masked input for this query id, against exactly the
recorded U1' and keys (so the aggregator neither invented a participant nor dropped one that it
later unmasked); that every consistency signature covers the very (U1', U2) recorded; that
every unmask reply is signed by its node; and that U1, U1', U2 and the dropped set fit
together (U2 ⊆ U1' ⊆ U1).

Rounds kept before the key phase existed (protocol v1: pair seeds from the long-term keys, no
U1') are still verified, by their own message formats (``_verify_v1``), so that an older
history keeps passing its audit. It cannot check the sum itself (no one
but the aggregator saw the masked vectors, and they are gone): it checks who vouched for what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from wire.secagg.codec import Writer
from wire.secagg.errors import MessageError, SignatureError
from wire.secagg.messages import (
    PROTOCOL,
    KeyAdvert,
    adverts_hash,
    consistency_message,
    round1_message,
    round2_message,
)
from wire.secagg.params import RoundParams
from wire.secagg.primitives import verify
from wire.secagg.roster import Roster, verify_entry

__all__ = ["verify_transcript"]


def _hex(value: object, what: str) -> bytes:
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise MessageError(f"{what} is not hex") from None


def _mapping(record: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = record.get(key)
    if not isinstance(value, Mapping):
        raise MessageError(f"the transcript has no {key} section")
    return value


def _survivors(record: Mapping[str, object], params: RoundParams, within: Sequence[str],
               name: str) -> list[str]:
    """U2: exactly the nodes of ``within`` that sent round 1; the dropped set U1 minus U2;
    consistency and unmask signatures only from U2."""
    round1 = _mapping(record, "round1")
    u2 = record.get("u2")
    if not isinstance(u2, list) or u2 != sorted(round1) or not set(u2) <= set(within):
        raise MessageError(f"U2 is not exactly the nodes of {name} that sent round 1")
    dropped = record.get("dropped")
    if dropped != [u for u in params.u1 if u not in u2] and (u2 or dropped != []):
        raise MessageError("the dropped set is not U1 minus U2")
    if not set(_mapping(record, "consistency")) <= set(u2) or not set(
            _mapping(record, "unmask")) <= set(u2):
        raise MessageError("signatures from nodes outside U2")
    return u2


def _after_round1(record: Mapping[str, object], keys: Mapping[str, ec.EllipticCurvePublicKey],
                  agreed: bytes, sets: str, round2: Callable[[str, bytes], bytes]) -> None:
    """Every consistency signature over ``agreed``; every unmask reply signed by its node."""
    for node, signature in _mapping(record, "consistency").items():
        try:
            verify(keys[node], _hex(signature, "signature"), agreed, node)
        except SignatureError:
            raise SignatureError(f"{node}'s consistency signature is not over the recorded "
                                 f"{sets}") from None
    for node, entry in _mapping(record, "unmask").items():
        if not isinstance(entry, Mapping):
            raise MessageError(f"the unmask record of {node} is malformed")
        verify(keys[node], _hex(entry.get("signature"), "signature"),
               round2(node, _hex(entry.get("body_sha256"), "body hash")),
               f"{node}'s unmask reply")


def verify_transcript(record: Mapping[str, object], roster: Roster, ca_certificate_pem: bytes,
                      *, now: datetime | None = None) -> RoundParams:
    """Raise ``SecAggError`` unless every signature and set in ``record`` checks out.

    ``now`` is the moment at which certificates must have been valid (the round's time, from
    the history entry); returns the round's parameters.
    """
    if record.get("protocol") not in (PROTOCOL, _V1):
        raise MessageError(f"the transcript is of protocol {record.get('protocol')!r}; this "
                           f"koepel verifies {PROTOCOL} and {_V1}")
    described = _mapping(record, "params")
    if not isinstance(described.get("u1"), list):
        raise MessageError("the transcript's U1 is not a list")
    try:
        params = RoundParams(
            _hex(described["query_id"], "query_id"), _hex(described["roster_hash"], "hash"),
            tuple(described["u1"]),  # type: ignore[arg-type]
            described["shamir_threshold"], described["min_survivors"],  # type: ignore[arg-type]
            described["vector_length"], described["bound"])  # type: ignore[arg-type]
    except (KeyError, TypeError) as exc:
        raise MessageError(f"the transcript's parameters are incomplete: {exc}") from None
    if params.roster_hash != roster.roster_hash:
        raise MessageError("the transcript refers to another roster")
    keys = {u: verify_entry(roster.entry(u), ca_certificate_pem, now=now) for u in params.u1}
    if record.get("protocol") == _V1:
        _verify_v1(record, params, keys)
        return params
    key_phase, round1 = _mapping(record, "keys"), _mapping(record, "round1")
    qid = params.query_id
    u1p = record.get("u1_prime")
    if not isinstance(u1p, list) or u1p != sorted(key_phase) or not set(u1p) <= set(params.u1):
        raise MessageError("U1' is not exactly the nodes of U1 that shared keys")
    u2 = _survivors(record, params, u1p, "U1'")
    adverts = []
    for node in u1p:
        entry = key_phase[node]
        if not isinstance(entry, Mapping):
            raise MessageError(f"the key record of {node} is malformed")
        advert = KeyAdvert(node, _hex(entry.get("ephemeral_public"), "ephemeral key"),
                           _hex(entry.get("shares_sha256"), "shares hash"),
                           _hex(entry.get("signature"), "signature"))
        verify(keys[node], advert.signature, advert.signed_message(qid), f"{node}'s shared keys")
        adverts.append(advert)
    keyed = adverts_hash(adverts) if adverts else b""
    for node, entry in round1.items():
        if not isinstance(entry, Mapping):
            raise MessageError(f"the round-1 record of {node} is malformed")
        keys_hash = _hex(entry.get("keys_sha256"), "keys hash")
        if keys_hash != keyed:
            raise MessageError(f"{node} masked against other keys than the recorded U1'")
        message = round1_message(qid, node, _hex(entry.get("y_sha256"), "y hash"), keys_hash)
        verify(keys[node], _hex(entry.get("signature"), "signature"), message,
               f"{node}'s masked input")
    _after_round1(record, keys, consistency_message(qid, u1p, u2), "U1' and U2",
                  lambda node, body: round2_message(qid, node, body))
    return params


_V1 = "bonawitz-ccs17-full-graph-pki/v1"


def _verify_v1(record: Mapping[str, object], params: RoundParams,
               keys: Mapping[str, ec.EllipticCurvePublicKey]) -> None:
    """A v1 round: U2 signed round 1 over (H(y), H(shares)), consistency over U2 alone."""
    round1 = _mapping(record, "round1")
    u2 = _survivors(record, params, params.u1, "U1")
    qid = params.query_id

    def signed(tag: bytes, node: str, *hashes: bytes) -> bytes:
        writer = Writer(tag).blob(qid).text(node)
        for digest in hashes:
            writer.blob(digest)
        return writer.getvalue()

    for node, entry in round1.items():
        if not isinstance(entry, Mapping):
            raise MessageError(f"the round-1 record of {node} is malformed")
        verify(keys[node], _hex(entry.get("signature"), "signature"),
               signed(b"koepel-secagg-round1-v1", node, _hex(entry.get("y_sha256"), "y hash"),
                      _hex(entry.get("shares_sha256"), "shares hash")), f"{node}'s masked input")
    _after_round1(record, keys,
                  Writer(b"koepel-secagg-consistency-v1").blob(qid).texts(sorted(u2)).getvalue(),
                  "U2", lambda node, body: signed(b"koepel-secagg-round2-v1", node, body))
