"""What a malicious aggregator, a forged roster or a misbehaving node runs into.

Each test plays the attacker with real keys: a second unmask (also after a restart), a
replayed query id, a roster that does not match, (U1', U2) sets that differ between nodes,
forged or swapped ephemeral keys, tampered or misaddressed shares, roster entries from another
CA, under another name or with a bad binding, and nodes that send wrong shares or values.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from test_secagg_support import Federation, make_federation, run_round

from wire.secagg import (
    BoundError,
    ConsistencyError,
    KeyAdvert,
    MaskedInput,
    MessageError,
    ParamsError,
    ProtocolError,
    ReplayError,
    Roster,
    RosterError,
    RoundParams,
    SecAggError,
    SecAggServer,
    ShareError,
    SignatureError,
    UnmaskReply,
    make_entry,
    sign_roster,
    verify_entry,
    verify_roster,
    verify_transcript,
)
from wire.secagg.primitives import sign
from wire.tls import init_ca, issue

K = 6


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    return make_federation(tmp_path_factory.mktemp("secagg-sec"), K)


@dataclasses.dataclass
class Played:
    params: RoundParams
    server: SecAggServer
    u1p: tuple[str, ...]
    u2: tuple[str, ...]
    signatures: dict[str, bytes]


def keyed_round(fed: Federation, params: RoundParams, silent: tuple[str, ...] = ()
                ) -> tuple[SecAggServer, tuple[KeyAdvert, ...]]:
    """A server past the key phase, ``silent`` nodes having shared no keys."""
    server = SecAggServer(params, fed.roster, fed.ca_pem)
    for u in params.u1:
        if u not in silent:
            server.receive_keys(u, fed.client(u, params).share_keys())
    return server, server.key_holders()


def through_consistency(fed: Federation, params: RoundParams,
                        absent: tuple[str, ...] = ()) -> Played:
    """A round up to round 2; ``absent`` nodes shared keys but sent no masked input."""
    server, adverts = keyed_round(fed, params)
    for u in params.u1:
        if u not in absent:
            server.receive_masked(u, fed.client(u, params).round1([1] * params.vector_length,
                                                                  adverts))
    u1p, u2 = server.u1_prime, server.survivors()
    for u in u2:
        server.receive_consistency(u, fed.client(u, params).consistency(u1p, u2))
    return Played(params, server, u1p, u2, server.consistency_signatures())


def unmask(fed: Federation, played: Played, u: str) -> UnmaskReply:
    """Round 2 by a freshly built client: the node restarted since round 1."""
    return fed.client(u, played.params).round2(played.u1p, played.u2, played.signatures,
                                               played.server.shares_for(u), fed.claim(u))


# ------------------------------------------------------------------ unmask once, never both


def test_a_second_unmask_is_refused_also_after_a_restart(fed: Federation) -> None:
    played = through_consistency(fed, fed.params(fed.ids(K)))
    u = played.u2[0]
    unmask(fed, played, u)
    with pytest.raises(ReplayError, match="already unmasked"):
        unmask(fed, played, u)


def test_a_replayed_query_id_gets_no_second_unmask(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)
    inputs = {u: [3, 4, 5, 6] for u in u1}
    assert run_round(fed, params, inputs).total == [18, 24, 30, 36]
    with pytest.raises(ReplayError):  # same query id, now claiming u1[0] dropped
        run_round(fed, params, inputs, silent_round1=frozenset(u1[:1]))


def test_a_failed_round2_does_not_use_up_the_unmask(fed: Federation) -> None:
    played = through_consistency(fed, fed.params(fed.ids(K)))
    u = played.u2[1]
    shares = played.server.shares_for(u)
    bad = dict(shares, **{played.u2[0]: bytes(len(shares[played.u2[0]]))})
    with pytest.raises(ShareError, match="does not decrypt"):
        fed.client(u, played.params).round2(played.u1p, played.u2, played.signatures, bad,
                                            fed.claim(u))
    unmask(fed, played, u)  # the claim was not spent by the refused attempt


def test_replies_reveal_key_shares_only_for_dropped_and_b_shares_only_for_survivors(
        fed: Federation) -> None:
    u1 = fed.ids(K)
    played = through_consistency(fed, fed.params(u1), absent=(u1[2],))
    reply = unmask(fed, played, u1[0])
    assert [owner for owner, _ in reply.b_shares] == [u for u in u1 if u != u1[2]]
    assert [owner for owner, _ in reply.key_shares] == [u1[2]]
    # Both secrets for one owner cannot even be built as a reply...
    with pytest.raises(ProtocolError, match="both a b-share and a key share for org-001"):
        UnmaskReply(reply.node_id, reply.query_id, reply.b_shares,
                    tuple(sorted(((u1[1], reply.b_shares[1][1]), *reply.key_shares))),
                    reply.signature)
    # ...and a reply that swaps u1[1]'s b-share for a key share is refused before use.
    forged = UnmaskReply(reply.node_id, reply.query_id,
                         tuple(p for p in reply.b_shares if p[0] != u1[1]),
                         tuple(sorted(((u1[1], reply.b_shares[1][1]), *reply.key_shares))),
                         reply.signature)
    with pytest.raises(MessageError, match="one b-share for each survivor"):
        played.server.receive_unmask(u1[0], forged)


def test_no_node_ever_reveals_both_secrets_of_one_owner(fed: Federation) -> None:
    """Across a whole round with dropouts at every phase, over all replies."""
    u1 = fed.ids(K)
    outcome = run_round(fed, fed.params(u1, threshold=4, min_survivors=3),
                        {u: [1, 1, 1, 1] for u in u1}, silent_keys=frozenset(u1[:1]),
                        silent_round1=frozenset(u1[1:2]))
    assert outcome.total == [4] * 4 and len(outcome.replies) == 4
    for reply in outcome.replies.values():
        assert {o for o, _ in reply.b_shares} == set(u1[2:])
        assert {o for o, _ in reply.key_shares} == {u1[1]}


# ------------------------------------------------------------------ consistency


def test_different_survivor_sets_shown_to_different_nodes_are_caught(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)  # t' = 4
    played = through_consistency(fed, params)
    # The aggregator tells the last node that u1[0] dropped, to get its ephemeral-key share,
    # while the others (who signed all six) reveal u1[0]'s b-shares.
    other = u1[1:]
    client = fed.client(u1[-1], params)
    shares = played.server.shares_for(u1[-1])
    with pytest.raises(ConsistencyError, match="outside U2: org-000"):
        client.round2(played.u1p, other, played.signatures, shares, fed.claim(u1[-1]))
    theirs = {v: s for v, s in played.signatures.items() if v in other}
    with pytest.raises(ConsistencyError, match="did not sign these sets"):
        client.round2(played.u1p, other, theirs, shares, fed.claim(u1[-1]))
    fewer = dict(list(played.signatures.items())[:3])
    with pytest.raises(ConsistencyError, match="only 3 nodes signed"):
        client.round2(played.u1p, played.u2, fewer, shares, fed.claim(u1[-1]))
    forged = dict(played.signatures, **{u1[0]: played.signatures[u1[1]]})
    with pytest.raises(ConsistencyError, match=f"{u1[0]} did not sign"):
        client.round2(played.u1p, played.u2, forged, shares, fed.claim(u1[-1]))


def test_a_different_u1_prime_shown_to_different_nodes_is_caught(fed: Federation) -> None:
    """Tell one node that u1[0] never shared keys (so its shares go unrevealed), another that
    it did: the signatures over (U1', U2) disagree, and a node that masked against one U1'
    refuses another."""
    u1 = fed.ids(K)
    params = fed.params(u1, threshold=4, min_survivors=4)
    played = through_consistency(fed, params, absent=(u1[0],))
    smaller = played.u1p[1:]
    client = fed.client(u1[-1], params)
    shares = {v: s for v, s in played.server.shares_for(u1[-1]).items() if v in smaller}
    with pytest.raises(ConsistencyError, match="did not sign these sets"):
        client.round2(smaller, played.u2, played.signatures, shares, fed.claim(u1[-1]))
    server, adverts = keyed_round(fed, params)
    masked = fed.client(u1[-1], params)
    masked.round1([1, 1, 1, 1], adverts)
    with pytest.raises(ConsistencyError, match="differs from the one this node masked"):
        masked.consistency(smaller, smaller)
    assert server.u1_prime == u1


def test_forged_swapped_or_missing_ephemeral_keys_are_refused(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)
    _, adverts = keyed_round(fed, params)
    client = fed.client(u1[0], params)
    other = X25519PrivateKey.generate().public_key().public_bytes_raw()
    swapped = list(adverts)
    swapped[2] = dataclasses.replace(adverts[2], ephemeral_public=other)
    with pytest.raises(SignatureError, match="org-002's shared keys"):
        client.round1([1, 2, 3, 4], swapped)
    mine = list(adverts)
    mine[0] = dataclasses.replace(adverts[0], ephemeral_public=other)
    with pytest.raises(ConsistencyError, match="another ephemeral key under org-000"):
        client.round1([1, 2, 3, 4], mine)
    with pytest.raises(ProtocolError, match="not in U1'"):
        client.round1([1, 2, 3, 4], adverts[1:])
    with pytest.raises(ConsistencyError, match="3 nodes shared keys, fewer than the 4"):
        client.round1([1, 2, 3, 4], adverts[:3])
    other_round = keyed_round(fed, fed.params(u1))[1]  # signed for another query id
    with pytest.raises(SignatureError):
        client.round1([1, 2, 3, 4], (adverts[0], *other_round[1:]))


def test_the_server_refuses_a_signature_over_other_sets(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)
    server, adverts = keyed_round(fed, params)
    for u in u1:
        server.receive_masked(u, fed.client(u, params).round1([0] * 4, adverts))
    u1p, u2 = server.u1_prime, server.survivors()
    with pytest.raises(ConsistencyError):
        server.receive_consistency(u1[0], fed.client(u1[0], params).consistency(u1p, u1[:5]))
    server.receive_consistency(u1[0], fed.client(u1[0], params).consistency(u1p, u2))
    with pytest.raises(ProtocolError, match="already signed"):
        server.receive_consistency(u1[0], fed.client(u1[0], params).consistency(u1p, u2))


def test_consistency_checks_the_sets(fed: Federation) -> None:
    u1 = fed.ids(K)
    client = fed.client(u1[0], fed.params(u1[:5], min_survivors=4))
    with pytest.raises(ConsistencyError, match="not in U1"):
        client.consistency(list(u1), list(u1[:5]))
    with pytest.raises(ConsistencyError, match="not in U1'"):
        client.consistency(u1[:4], u1[1:5])
    with pytest.raises(ConsistencyError, match="fewer than the 4"):
        client.consistency(u1[:5], u1[:3])
    with pytest.raises(ConsistencyError, match="shared keys, fewer than the 4"):
        client.consistency(u1[:3], u1[:3])
    with pytest.raises(ConsistencyError, match="twice"):
        client.consistency(u1[:5], [u1[0], u1[0], u1[1], u1[2]])
    with pytest.raises(ProtocolError, match="not among the survivors"):
        client.consistency(u1[:5], u1[1:5])


# ------------------------------------------------------------------ round parameters


def test_a_wrong_roster_hash_is_refused(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = dataclasses.replace(fed.params(u1), roster_hash=secrets.token_bytes(32))
    with pytest.raises(ParamsError, match="another roster"):
        fed.client(u1[0], params).share_keys()
    with pytest.raises(ParamsError, match="another roster"):
        SecAggServer(params, fed.roster, fed.ca_pem)


def test_a_node_outside_u1_and_bad_vectors_are_refused(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1[:4])
    with pytest.raises(ProtocolError, match="not in U1"):
        fed.client(u1[5], params).share_keys()
    _, adverts = keyed_round(fed, params)
    client = fed.client(u1[0], params)
    for vector in ([1, 2, 3], [1, 2, 3, 1 << 63], [1, 2, 3, True], [1, 2, 3, 0.5]):
        with pytest.raises(ParamsError):
            client.round1(vector, adverts)  # type: ignore[arg-type]


# ------------------------------------------------------------------ shares


def test_tampered_misaddressed_and_replayed_shares_are_refused(fed: Federation) -> None:
    u1 = fed.ids(K)
    played = through_consistency(fed, fed.params(u1))
    a, b = u1[0], u1[1]
    client = fed.client(a, played.params)
    mine, theirs = played.server.shares_for(a), played.server.shares_for(b)
    flipped = bytearray(mine[b])
    flipped[20] ^= 1
    cases = {
        "tampered": dict(mine, **{b: bytes(flipped)}),
        "addressed to another node": dict(mine, **{u1[2]: theirs[u1[2]]}),
        "missing": {v: s for v, s in mine.items() if v != b},
    }
    earlier = through_consistency(fed, fed.params(u1))  # same nodes, another query id
    cases["from another query"] = dict(mine, **{b: earlier.server.shares_for(a)[b]})
    for name, shares in cases.items():
        with pytest.raises(ShareError):
            client.round2(played.u1p, played.u2, played.signatures, shares, fed.claim(a))
        assert name


def test_shares_from_a_node_outside_u1_prime_are_refused(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)
    server, _ = keyed_round(fed, params, silent=(u1[3],))
    full, _ = keyed_round(fed, params)  # the same query id, where u1[3] did share keys
    played = through_consistency(fed, params)
    u1p = tuple(u for u in u1 if u != u1[3])
    shares = dict(server._inbox[u1[0]], **{u1[3]: full._inbox[u1[0]][u1[3]]})
    signatures = {u: s for u, s in played.signatures.items() if u in u1p}
    with pytest.raises(ConsistencyError, match="did not sign"):
        fed.client(u1[0], params).round2(u1p, u1p, signatures, shares, fed.claim(u1[0]))
    with pytest.raises(ShareError, match="outside U1'"):
        fed.client(u1[0], params).round2(played.u1p, played.u2, played.signatures,
                                         {**shares, "org-009": b""}, fed.claim(u1[0]))


# ------------------------------------------------------------------ the roster


def test_roster_entries_that_do_not_verify(fed: Federation, tmp_path: Path) -> None:
    good = fed.roster.entry("org-000")
    verify_entry(good, fed.ca_pem)
    init_ca(tmp_path / "foreign")
    foreign = issue(tmp_path / "foreign", role="node", name="org-000", out=tmp_path / "f",
                    dns=("localhost",))
    member = fed.members["org-000"]
    from test_secagg_support import _load_key

    other_ca = make_entry("org-000", foreign.cert.read_bytes(), member.x25519,
                          _load_key(foreign.key))
    with pytest.raises(RosterError, match="not issued by the federation CA"):
        verify_entry(other_ca, fed.ca_pem)
    wrong_name = make_entry("org-001", member.certificate_pem, member.x25519, member.signing)
    with pytest.raises(RosterError, match="not of koepel://node/org-001"):
        verify_entry(wrong_name, fed.ca_pem)
    swapped = dataclasses.replace(good, x25519_public=fed.roster.entry("org-001").x25519_public)
    with pytest.raises(RosterError, match="bad binding signature"):
        verify_entry(swapped, fed.ca_pem)
    aggregator = make_entry("federation", fed.aggregator_pem, member.x25519, fed.aggregator_key)
    with pytest.raises(RosterError, match="koepel://aggregator/federation"):
        verify_entry(aggregator, fed.ca_pem)
    with pytest.raises(RosterError, match="not valid now"):
        verify_entry(good, fed.ca_pem, now=datetime.now(UTC) + timedelta(days=4000))
    with pytest.raises(RosterError, match="not a CA"):
        verify_entry(good, fed.members["org-001"].certificate_pem)


def test_a_round_over_a_roster_with_a_forged_key_is_refused(fed: Federation) -> None:
    """The aggregator puts its own X25519 key under org-001's name: every node refuses."""
    entries = list(fed.roster.entries)
    entries[1] = dataclasses.replace(entries[1], x25519_public=X25519PrivateKey.generate()
                                     .public_key().public_bytes_raw())
    roster = Roster(tuple(entries))
    params = dataclasses.replace(fed.params(fed.ids(K)), roster_hash=roster.roster_hash)
    member = fed.members["org-000"]
    from wire.secagg import SecAggClient

    client = SecAggClient("org-000", member.x25519, member.signing, roster, params, fed.ca_pem)
    with pytest.raises(RosterError, match="org-001"):
        client.share_keys()
    with pytest.raises(RosterError, match="org-001"):
        SecAggServer(params, roster, fed.ca_pem)
    wrong_key = SecAggClient("org-000", X25519PrivateKey.generate(), member.signing, fed.roster,
                             fed.params(fed.ids(K)), fed.ca_pem)
    with pytest.raises(RosterError, match="does not hold this node's keys"):
        wrong_key.share_keys()


def test_the_roster_signature(fed: Federation) -> None:
    signature = sign_roster(fed.roster, fed.aggregator_key)
    verify_roster(fed.roster, signature, fed.aggregator_pem, fed.ca_pem)
    smaller = Roster(fed.roster.entries[1:])
    with pytest.raises(SignatureError):
        verify_roster(smaller, signature, fed.aggregator_pem, fed.ca_pem)
    node = fed.members["org-000"]
    with pytest.raises(RosterError, match="aggregator"):
        verify_roster(fed.roster, sign_roster(fed.roster, node.signing), node.certificate_pem,
                      fed.ca_pem)
    assert Roster.from_bytes(fed.roster.to_bytes()) == fed.roster
    with pytest.raises(RosterError, match="sorted"):
        Roster(tuple(reversed(fed.roster.entries)))
    with pytest.raises(RosterError, match="one per node"):
        Roster.build([fed.roster.entries[0]] * 2)


# ------------------------------------------------------------------ the server's checks


def test_the_server_refuses_duplicates_forgeries_and_late_messages(fed: Federation) -> None:
    u1 = fed.ids(K)
    params = fed.params(u1)
    server = SecAggServer(params, fed.roster, fed.ca_pem)
    shared = fed.client(u1[0], params).share_keys()
    with pytest.raises(ProtocolError, match="key phase is still open"):
        server.receive_masked(u1[0], MaskedInput(u1[0], params.query_id, (1, 2, 3, 4),
                                                 bytes(32), b""))
    with pytest.raises(ProtocolError, match="in the name of"):
        server.receive_keys(u1[1], shared)
    with pytest.raises(SignatureError):
        server.receive_keys(u1[0], dataclasses.replace(shared, ephemeral_public=bytes(32)))
    with pytest.raises(MessageError, match="one share to each member"):
        server.receive_keys(u1[0], dataclasses.replace(shared, shares=shared.shares[1:]))
    server.receive_keys(u1[0], shared)
    with pytest.raises(ProtocolError, match="already shared"):
        server.receive_keys(u1[0], shared)
    for u in u1[1:5]:
        server.receive_keys(u, fed.client(u, params).share_keys())
    adverts = server.key_holders()
    with pytest.raises(ProtocolError, match="key phase is closed"):
        server.receive_keys(u1[5], fed.client(u1[5], params).share_keys())
    message = fed.client(u1[0], params).round1([1, 2, 3, 4], adverts)
    with pytest.raises(ProtocolError, match="in the name of"):
        server.receive_masked(u1[1], message)
    changed = dataclasses.replace(message, masked=(0, *message.masked[1:]))
    with pytest.raises(SignatureError):
        server.receive_masked(u1[0], changed)
    with pytest.raises(MessageError, match="cells"):
        server.receive_masked(u1[0], dataclasses.replace(message, masked=message.masked[:3]))
    with pytest.raises(ConsistencyError, match="other keys"):
        server.receive_masked(u1[0], dataclasses.replace(message, keys_hash=bytes(32)))
    other_params = fed.params(u1)
    other = fed.client(u1[0], other_params).round1(
        [1, 2, 3, 4], keyed_round(fed, other_params)[1])
    with pytest.raises(ProtocolError, match="another query"):
        server.receive_masked(u1[0], other)
    with pytest.raises(ProtocolError, match="not in U1'"):
        server.receive_masked(u1[5], message)
    server.receive_masked(u1[0], message)
    with pytest.raises(ProtocolError, match="already sent"):
        server.receive_masked(u1[0], message)
    for u in u1[1:4]:
        server.receive_masked(u, fed.client(u, params).round1([1, 2, 3, 4], adverts))
    u1p, u2 = server.u1_prime, server.survivors()
    with pytest.raises(ProtocolError, match="round 1 is closed"):
        server.receive_masked(u1[4], fed.client(u1[4], params).round1([1, 2, 3, 4], adverts))
    with pytest.raises(ProtocolError, match="not in U2"):
        server.shares_for(u1[4])
    for u in u2:
        server.receive_consistency(u, fed.client(u, params).consistency(u1p, u2))
    with pytest.raises(ProtocolError, match="not in U2"):
        server.receive_consistency(u1[4], b"")
    reply = fed.client(u1[0], params).round2(u1p, u2, server.consistency_signatures(),
                                             server.shares_for(u1[0]), fed.claim(u1[0]))
    assert [o for o, _ in reply.key_shares] == [u1[4]]
    with pytest.raises(SignatureError):
        server.receive_unmask(u1[0], dataclasses.replace(
            reply, key_shares=((u1[4], reply.key_shares[0][1][:-1] + b"\0"),)))
    server.receive_unmask(u1[0], reply)
    with pytest.raises(ProtocolError, match="already sent"):
        server.receive_unmask(u1[0], reply)


def _resigned(fed: Federation, reply: UnmaskReply, **change: object) -> UnmaskReply:
    """A node that lies in its own reply (and signs the lie with its own key)."""
    unsigned = dataclasses.replace(reply, signature=b"", **change)  # type: ignore[arg-type]
    return dataclasses.replace(unsigned, signature=sign(fed.members[reply.node_id].signing,
                                                         unsigned.signed_message()))


@pytest.mark.parametrize("responders, error", [(K, ShareError), (4, BoundError)])
def test_a_node_sending_a_wrong_share_is_caught(fed: Federation, responders: int,
                                                error: type[Exception]) -> None:
    u1 = fed.ids(K)
    played = through_consistency(fed, fed.params(u1, bound=1000))  # t' = 4
    for i, u in enumerate(u1[:responders]):
        reply = unmask(fed, played, u)
        if i == 0:
            owner, share = reply.b_shares[2]
            wrong = share[:-1] + bytes([share[-1] ^ 1])
            b_shares = (*reply.b_shares[:2], (owner, wrong), *reply.b_shares[3:])
            reply = _resigned(fed, reply, b_shares=b_shares)
        played.server.receive_unmask(u, reply)
    with pytest.raises(error):
        played.server.finish()
    assert played.server.transcript()["outcome"] == "aborted"


@pytest.mark.parametrize("responders", [K - 1, 4])
def test_a_node_sending_a_wrong_key_share_is_caught(fed: Federation, responders: int) -> None:
    """With surplus shares the polynomial check fails; with exactly t' the rebuilt ephemeral
    secret does not give the key its owner signed."""
    u1 = fed.ids(K)
    played = through_consistency(fed, fed.params(u1, bound=1000), absent=(u1[5],))
    for i, u in enumerate(played.u2[:responders]):
        reply = unmask(fed, played, u)
        if i == 0:
            owner, share = reply.key_shares[0]
            wrong = share[:-1] + bytes([share[-1] ^ 1])
            reply = _resigned(fed, reply, key_shares=((owner, wrong),))
        played.server.receive_unmask(u, reply)
    with pytest.raises(ShareError, match="disagree" if responders > 4 else "advertised key"):
        played.server.finish()


def test_the_transcript_is_json_and_keeps_no_vectors(fed: Federation) -> None:
    u1 = fed.ids(K)
    outcome = run_round(fed, fed.params(u1), {u: [7, 7, 7, 7] for u in u1},
                        silent_round1=frozenset(u1[:1]))
    assert outcome.total == [35] * 4
    record = outcome.server.transcript()
    text = json.dumps(record)
    assert record["dropped"] == [u1[0]] and record["u2"] == list(u1[1:])
    assert set(record["round1"]) == set(u1[1:]) == set(record["unmask"])
    assert outcome.server._masked == {} and outcome.server._unmask == {}
    assert "masked" not in text
    with pytest.raises(ProtocolError, match="over"):
        outcome.server.finish()


def test_an_auditor_verifies_the_transcript_and_catches_edits(fed: Federation) -> None:
    u1 = fed.ids(K)
    outcome = run_round(fed, fed.params(u1, threshold=4, min_survivors=4),
                        {u: [1, 1, 1, 1] for u in u1}, silent_keys=frozenset(u1[5:]),
                        silent_round1=frozenset(u1[:1]), silent_round2=frozenset())
    record = json.loads(json.dumps(outcome.server.transcript()))
    assert verify_transcript(record, fed.roster, fed.ca_pem).u1 == u1
    assert record["u1_prime"] == list(u1[:5]) and record["u2"] == list(u1[1:5])
    edits = {
        "invented key holder": lambda r: r["keys"].update({u1[5]: r["keys"][u1[0]]}) or r.update(
            u1_prime=sorted(r["keys"])),
        "hidden key holder": lambda r: r["keys"].pop(u1[0]) and r.update(
            u1_prime=sorted(r["keys"])),
        "swapped ephemeral key": lambda r: r["keys"][u1[0]].update(
            ephemeral_public=r["keys"][u1[1]]["ephemeral_public"]),
        "older protocol": lambda r: r.update(protocol="bonawitz-ccs17-full-graph-pki/v1"),
        "unknown protocol": lambda r: r.update(protocol="bonawitz-ccs17-full-graph-pki/v9"),
        "hidden participant": lambda r: r.update(u2=r["u2"][1:], dropped=r["dropped"] + []),
        "edited hash": lambda r: r["round1"][u1[1]].update(y_sha256="00" * 32),
        "invented node": lambda r: r["round1"].update({u1[0]: r["round1"][u1[1]]}),
        "moved signature": lambda r: r["consistency"].update(
            {u1[2]: r["consistency"][u1[3]]}),
        "edited reply": lambda r: r["unmask"][u1[4]].update(body_sha256="11" * 32),
        "other roster": lambda r: r["params"].update(roster_hash="22" * 32),
    }
    for name, edit in edits.items():
        changed = json.loads(json.dumps(record))
        edit(changed)
        with pytest.raises(SecAggError):
            verify_transcript(changed, fed.roster, fed.ca_pem)
        assert name


def test_a_transcript_kept_before_the_key_phase_still_verifies() -> None:
    """A v1 round (long-term-key pair seeds, no U1'), made by koepel before this protocol
    version and frozen in tests/fixtures: it passes the audit, and an edit is still caught."""
    fixture = json.loads((Path(__file__).parent / "fixtures" / "secagg" / "transcript-v1.json")
                         .read_text())
    record, ca_pem = fixture["transcript"], fixture["ca_pem"].encode()
    moment = datetime.fromisoformat(fixture["verified_at"])
    roster = Roster.from_bytes(bytes.fromhex(record["roster"]))
    assert record["protocol"].endswith("/v1") and record["dropped"] == ["org-0"]
    assert verify_transcript(record, roster, ca_pem, now=moment).u1 == roster.node_ids
    edited = json.loads(json.dumps(record))
    edited["consistency"]["org-1"] = edited["consistency"]["org-2"]
    with pytest.raises(SignatureError, match="org-1's consistency signature"):
        verify_transcript(edited, roster, ca_pem, now=moment)
    edited = json.loads(json.dumps(record))
    edited["round1"]["org-3"]["y_sha256"] = "00" * 32
    with pytest.raises(SignatureError):
        verify_transcript(edited, roster, ca_pem, now=moment)
