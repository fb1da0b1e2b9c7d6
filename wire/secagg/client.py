"""The node's side of a round: mask, share, agree on the survivors, unmask at most once.

Threat model. The aggregator may be honest-but-curious or actively malicious: it may drop,
delay, replay or reorder messages, lie about who survived, show different survivor sets to
different nodes, or re-run a query id. Against all of that, a node's vector stays hidden
unless the aggregator obtains both its self-mask seed b_u (t' shares) and all its pairwise
seeds, which this client never allows: it reveals b-shares only for survivors and seeds only
for dropped nodes, only over a survivor set that at least t' nodes signed (two different sets
cannot both gather t' > |U1|/2 signatures from honest nodes), and only once per query id (the
caller's persisted ``claim_unmask``). Every peer key is verified against the federation CA
here, never taken on the aggregator's word. What the aggregator still learns: the sum over U2,
who took part and who dropped, message sizes and timings. Nodes that collude with it learn
what their own masks and shares give them: fewer than t' colluders cannot rebuild anyone's b.

Statelessness: nothing needed after round 1 lives in this object. b_u is forgotten once
shared (the node's own share comes back sealed, like every other, through the aggregator);
seeds and share keys are recomputed from the long-term X25519 key and the query id. A node may
restart between rounds and build a new client.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wire.secagg.errors import (
    ConsistencyError,
    ParamsError,
    ProtocolError,
    ReplayError,
    RosterError,
    ShareError,
    SignatureError,
)
from wire.secagg.messages import (
    MaskedInput,
    UnmaskReply,
    consistency_message,
    share_plaintext,
    share_value,
)
from wire.secagg.params import RoundParams
from wire.secagg.primitives import (
    MOD,
    dh,
    open_share,
    pair_seed,
    prg,
    seal_share,
    share_key,
    sign,
    verify,
)
from wire.secagg.roster import Roster, verify_entry
from wire.secagg.shamir import split

__all__ = ["SecAggClient", "check_survivors"]

_LOW, _HIGH = -(1 << 63), 1 << 63


def check_survivors(params: RoundParams, u2: Sequence[str]) -> tuple[str, ...]:
    """U2 as a sorted tuple, refused unless it is a subset of U1 of at least min_survivors."""
    survivors = tuple(sorted(set(u2)))
    if len(survivors) != len(u2):
        raise ConsistencyError("the survivor set names a node twice")
    outside = set(survivors) - set(params.u1)
    if outside:
        raise ConsistencyError(f"survivors {', '.join(sorted(outside))} are not in U1")
    if len(survivors) < params.min_survivors:
        raise ConsistencyError(f"{len(survivors)} survivors are fewer than the "
                               f"{params.min_survivors} this round needs: it aborts")
    return survivors


class SecAggClient:
    """One node in one round (see the module docstring for what it guarantees).

    ``x25519_private_key`` is the node's long-term secure-aggregation key (its public half is
    in the roster); ``signing_key`` is the private key of the node's TLS certificate (ECDSA
    P-256), not the ledger's Ed25519 key. The roster entries of U1 are verified against
    ``ca_pem`` on first use (cached per entry across clients, so a running node pays once per
    roster); ``now`` overrides the clock for certificate validity.
    """

    def __init__(self, node_id: str, x25519_private_key: X25519PrivateKey,
                 signing_key: ec.EllipticCurvePrivateKey, roster: Roster, params: RoundParams,
                 ca_pem: bytes, *, now: datetime | None = None) -> None:
        self.node_id = node_id
        self._x25519 = x25519_private_key
        self._signing_key = signing_key
        self.roster = roster
        self.params = params
        self._ca_pem = ca_pem
        self._now = now
        self._secrets: dict[str, bytes] = {}

    @cached_property
    def _peers(self) -> dict[str, tuple[ec.EllipticCurvePublicKey, bytes]]:
        """Each U1 member's certified signing key and X25519 key, verified against the CA."""
        params = self.params
        if params.roster_hash != self.roster.roster_hash:
            raise ParamsError("the round refers to another roster (roster hash differs)")
        if self.node_id not in params.u1:
            raise ProtocolError(f"{self.node_id} is not in U1 for this round")
        peers = {}
        for node_id in params.u1:
            entry = self.roster.entry(node_id)
            peers[node_id] = (verify_entry(entry, self._ca_pem, now=self._now),
                              entry.x25519_public)
        own_signing, own_x25519 = peers[self.node_id]
        mine = self._x25519.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if own_x25519 != mine or (own_signing.public_numbers()
                                  != self._signing_key.public_key().public_numbers()):
            raise RosterError(f"the roster entry of {self.node_id} does not hold this node's "
                              "keys")
        return peers

    def _verify(self) -> None:
        """Check the roster hash, this node's place in U1, and every U1 entry (cached)."""
        _ = self._peers

    def _secret(self, peer: str) -> bytes:
        if peer not in self._secrets:
            self._secrets[peer] = dh(self._x25519, self._peers[peer][1])
        return self._secrets[peer]

    def _seed(self, peer: str) -> bytes:
        return pair_seed(self._secret(peer), self.params.query_id, self.node_id, peer)

    def round1(self, vector: Sequence[int]) -> MaskedInput:
        """Mask ``vector`` (fixed-point cells in [-2^63, 2^63)) and share the self mask.

        The caller has charged its ledger durably before calling: what this returns may leave
        the node. b_u is drawn here, shared, and forgotten.
        """
        params, me = self.params, self.node_id
        self._verify()
        if len(vector) != params.vector_length:
            raise ParamsError(f"the vector has {len(vector)} cells, the round "
                              f"{params.vector_length}")
        if any(type(v) is not int or not _LOW <= v < _HIGH for v in vector):
            raise ParamsError("every cell must be an integer in [-2^63, 2^63)")
        b = secrets.token_bytes(32)
        masked = [v % MOD for v in vector]
        masks = [prg(b, params.vector_length)]
        negated: list[list[int]] = []
        for peer in params.u1:
            if peer != me:
                (masks if me < peer else negated).append(prg(self._seed(peer),
                                                             params.vector_length))
        for i in range(params.vector_length):
            masked[i] = (masked[i] + sum(m[i] for m in masks) - sum(m[i] for m in negated)) % MOD
        xs = [params.index(peer) for peer in params.u1]
        ys = split(int.from_bytes(b, "big"), params.shamir_threshold, xs)
        shares = tuple(
            (peer, seal_share(share_key(self._secret(peer), params.query_id, me, peer),
                              params.query_id, me, peer, share_plaintext(x, y)))
            for peer, x, y in zip(params.u1, xs, ys, strict=True))
        del b, ys  # b_u lives on only as shares (Python cannot wipe memory; this is hygiene)
        unsigned = MaskedInput(me, params.query_id, tuple(masked), shares, b"")
        return MaskedInput(me, params.query_id, unsigned.masked, shares,
                           sign(self._signing_key, unsigned.signed_message()))

    def consistency(self, u2: Sequence[str]) -> bytes:
        """Sign the survivor set, after checking U2 ⊆ U1, |U2| ≥ min_survivors, me ∈ U2."""
        self._verify()
        survivors = check_survivors(self.params, u2)
        if self.node_id not in survivors:
            raise ProtocolError(f"{self.node_id} is not among the survivors: it takes no "
                                "further part")
        return sign(self._signing_key, consistency_message(self.params.query_id, survivors))

    def round2(self, u2: Sequence[str], consistency_signatures: Mapping[str, bytes],
               shares_for_me: Mapping[str, bytes],
               claim_unmask: Callable[[bytes], bool]) -> UnmaskReply:
        """Reveal b-shares for survivors and seeds for dropped nodes, once per query id.

        ``consistency_signatures`` must hold at least t' signatures, from members of U2, all
        over this same U2; one that does not verify aborts (the aggregator showed someone
        another set). ``shares_for_me`` holds the sealed share from every member of U2, mine
        included. ``claim_unmask(query_id)`` is called last, after every check, and must
        durably record the unmask and return False if one was already recorded.
        """
        params, me = self.params, self.node_id
        peers = self._peers
        survivors = check_survivors(params, u2)
        if me not in survivors:
            raise ProtocolError(f"{me} is not among the survivors: it takes no further part")
        signers = set(consistency_signatures)
        if not signers <= set(survivors):
            raise ConsistencyError("consistency signatures from nodes outside U2: "
                                   f"{', '.join(sorted(signers - set(survivors)))}")
        if len(signers) < params.shamir_threshold:
            raise ConsistencyError(f"only {len(signers)} nodes signed the survivor set; "
                                   f"{params.shamir_threshold} must before anything is unmasked")
        message = consistency_message(params.query_id, survivors)
        for signer in sorted(signers):
            try:
                verify(peers[signer][0], consistency_signatures[signer], message, signer)
            except SignatureError:
                raise ConsistencyError(f"{signer} did not sign this survivor set: the aggregator "
                                       "showed different survivor sets to different nodes, or "
                                       "forged a signature; the round aborts") from None
        senders = set(shares_for_me)
        if senders != set(survivors):
            missing, extra = set(survivors) - senders, senders - set(survivors)
            raise ShareError(f"shares for {me} must come from exactly U2 (missing: "
                             f"{', '.join(sorted(missing)) or 'none'}; outside U2: "
                             f"{', '.join(sorted(extra)) or 'none'})")
        b_shares = []
        for sender in survivors:
            key = share_key(self._secret(sender), params.query_id, sender, me)
            plain = open_share(key, params.query_id, sender, me, shares_for_me[sender])
            x, _ = share_value(plain)
            if x != params.index(me):
                raise ShareError(f"the share from {sender} is for another position")
            b_shares.append((sender, plain))
        dropped = [peer for peer in params.u1 if peer not in survivors]
        seeds = [(peer, self._seed(peer)) for peer in dropped]
        if not claim_unmask(params.query_id):
            raise ReplayError(f"{me} already unmasked query {params.query_id.hex()}: a second "
                              "unmask is refused")
        unsigned = UnmaskReply(me, params.query_id, tuple(b_shares), tuple(seeds), b"")
        return UnmaskReply(me, params.query_id, unsigned.b_shares, unsigned.seeds,
                           sign(self._signing_key, unsigned.signed_message()))
