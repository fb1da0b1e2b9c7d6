"""The node's side of a round: share keys, mask, agree on the sets, unmask at most once.

Threat model. The aggregator may be honest-but-curious or actively malicious: it may drop,
delay, replay or reorder messages, lie about who survived, show different sets to different
nodes, or re-run a query id. Against all of that, a node's vector stays hidden unless the
aggregator obtains both its self-mask seed b_u and its ephemeral secret key (t' shares of
either), which this client never allows: it reveals b-shares only for survivors (U2) and
ephemeral-key shares only for nodes that shared keys but sent no masked input (U1' minus U2), only
over sets (U1', U2) that at least t' nodes signed (two different pairs of sets cannot both
gather t' > |U1|/2 signatures from honest nodes), and only once per query id (the caller's
persisted ``claim_unmask``). Every peer key is verified against the federation CA here, every
ephemeral key against its owner's signature, never taken on the aggregator's word. What the
aggregator still learns: the sum over U2, who took part and who dropped, message sizes and
timings. Fewer than t' nodes colluding with it cannot rebuild anyone's b_u or ephemeral key.

Statelessness: the round's secrets (b_u, the ephemeral X25519 key, the coefficients of both
sharings) are derived from the long-term secret, the query id and the round's parameters
(``primitives.round_secrets``), so a node that restarts between share keys and round 1, or is
asked twice, sends the same ephemeral key and the same share plaintexts: never two sharings of
one secret. Round 2 needs nothing from round 1 either: the node's own share comes back sealed,
like every other, through the aggregator, and share keys are recomputed from the long-term key.
"""

from __future__ import annotations

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
    KeyAdvert,
    KeyShares,
    MaskedInput,
    UnmaskReply,
    adverts_hash,
    consistency_message,
    share_plaintext,
    split_plaintext,
)
from wire.secagg.params import RoundParams
from wire.secagg.primitives import (
    MOD,
    FieldStream,
    RoundSecrets,
    dh,
    open_share,
    pair_seed,
    prg,
    round_secrets,
    seal_share,
    sha256,
    share_key,
    sign,
    verify,
)
from wire.secagg.roster import Roster, verify_entry
from wire.secagg.shamir import PRIME, split

__all__ = ["SecAggClient", "check_survivors"]

_LOW, _HIGH = -(1 << 63), 1 << 63


def _raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _sorted_set(names: Sequence[str], what: str) -> tuple[str, ...]:
    ordered = tuple(sorted(set(names)))
    if len(ordered) != len(names):
        raise ConsistencyError(f"{what} names a node twice")
    return ordered


def _check_key_holders(params: RoundParams, keyed: Sequence[str]) -> None:
    """U1' ⊆ U1, and large enough for a result: max(min_survivors, t') members."""
    outside = set(keyed) - set(params.u1)
    if outside:
        raise ConsistencyError(f"U1' members {', '.join(sorted(outside))} are not in U1")
    needed = max(params.min_survivors, params.shamir_threshold)
    if len(keyed) < needed:
        raise ConsistencyError(f"{len(keyed)} nodes shared keys, fewer than the {needed} this "
                               "round needs: it aborts")


def check_survivors(params: RoundParams, u1_prime: Sequence[str], u2: Sequence[str]
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(U1', U2) as sorted tuples, refused unless U2 ⊆ U1' ⊆ U1, |U1'| ≥ max(t + c, t') and
    |U2| ≥ min_survivors (t + c)."""
    keyed, survivors = _sorted_set(u1_prime, "U1'"), _sorted_set(u2, "the survivor set")
    _check_key_holders(params, keyed)
    outside = set(survivors) - set(keyed)
    if outside:
        raise ConsistencyError(f"survivors {', '.join(sorted(outside))} are not in U1'")
    if len(survivors) < params.min_survivors:
        raise ConsistencyError(f"{len(survivors)} survivors are fewer than the "
                               f"{params.min_survivors} this round needs: it aborts")
    return keyed, survivors


class SecAggClient:
    """One node in one round (see the module docstring for what it guarantees).

    ``x25519_private_key`` is the node's long-term secure-aggregation key (its public half is
    in the roster; its raw bytes also key the round's derived secrets); ``signing_key`` is the
    private key of the node's TLS certificate (ECDSA P-256), not the ledger's Ed25519 key. The
    roster entries of U1 are verified against ``ca_pem`` on first use (cached per entry across
    clients, so a running node pays once per roster); ``now`` overrides the clock for
    certificate validity.
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
        self._keyed: tuple[str, ...] | None = None  # U1' as this client masked against it

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
        if own_x25519 != _raw_public(self._x25519) or (
                own_signing.public_numbers() != self._signing_key.public_key().public_numbers()):
            raise RosterError(f"the roster entry of {self.node_id} does not hold this node's "
                              "keys")
        return peers

    @cached_property
    def _round(self) -> RoundSecrets:
        params = self.params
        return round_secrets(self._x25519.private_bytes_raw(), params.query_id,
                             sha256(params.to_bytes()))

    @cached_property
    def _ephemeral(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self._round.ephemeral)

    @property
    def ephemeral_public(self) -> bytes:
        """This round's ephemeral X25519 public key (the same after a restart)."""
        return _raw_public(self._ephemeral)

    def _verify(self) -> None:
        """Check the roster hash, this node's place in U1, and every U1 entry (cached)."""
        _ = self._peers

    def _secret(self, peer: str) -> bytes:
        """The long-term X25519 secret with ``peer``: it keys the shares between the two."""
        if peer not in self._secrets:
            self._secrets[peer] = dh(self._x25519, self._peers[peer][1])
        return self._secrets[peer]

    def share_keys(self) -> KeyShares:
        """Advertise this round's ephemeral key and share b_u and its secret among U1.

        Deterministic in (long-term key, parameters) but for the AES-GCM nonces: a retry sends
        the same key and the same share plaintexts. Reads no data and charges nothing.
        """
        params, me = self.params, self.node_id
        self._verify()
        secrets_ = self._round
        xs = [params.index(peer) for peer in params.u1]
        draw = FieldStream(secrets_.coefficients, PRIME)
        b_ys = split(int.from_bytes(secrets_.self_seed, "big"), params.shamir_threshold, xs,
                     draw=draw)
        key_ys = split(int.from_bytes(secrets_.ephemeral, "big"), params.shamir_threshold, xs,
                       draw=draw)
        shares = tuple(
            (peer, seal_share(share_key(self._secret(peer), params.query_id, me, peer),
                              params.query_id, me, peer, share_plaintext(x, b, k)))
            for peer, x, b, k in zip(params.u1, xs, b_ys, key_ys, strict=True))
        unsigned = KeyShares(me, params.query_id, self.ephemeral_public, shares, b"")
        return KeyShares(me, params.query_id, unsigned.ephemeral_public, shares,
                         sign(self._signing_key, unsigned.signed_message()))

    def _check_adverts(self, adverts: Sequence[KeyAdvert]) -> tuple[str, ...]:
        """U1' from the adverts, each signed by its owner over this query, mine among them."""
        params, me, peers = self.params, self.node_id, self._peers
        names = [a.node_id for a in adverts]
        if names != sorted(set(names)):
            raise ConsistencyError("U1' must be sorted by node id, each node once")
        _check_key_holders(params, names)
        mine = [a for a in adverts if a.node_id == me]
        if not mine:
            raise ProtocolError(f"{me} is not in U1' (its keys did not reach the aggregator)")
        if mine[0].ephemeral_public != self.ephemeral_public:
            raise ConsistencyError(f"U1' holds another ephemeral key under {me}'s name")
        for advert in adverts:
            verify(peers[advert.node_id][0], advert.signature,
                   advert.signed_message(params.query_id), f"{advert.node_id}'s shared keys")
        return tuple(names)

    def round1(self, vector: Sequence[int], adverts: Sequence[KeyAdvert]) -> MaskedInput:
        """Mask ``vector`` (fixed-point cells in [-2^63, 2^63)) against U1' (``adverts``).

        The caller has charged its ledger durably before calling: what this returns may leave
        the node. Each advert's signature is checked against its owner's certified key.
        """
        params, me = self.params, self.node_id
        self._verify()
        if len(vector) != params.vector_length:
            raise ParamsError(f"the vector has {len(vector)} cells, the round "
                              f"{params.vector_length}")
        if any(type(v) is not int or not _LOW <= v < _HIGH for v in vector):
            raise ParamsError("every cell must be an integer in [-2^63, 2^63)")
        keyed = self._check_adverts(adverts)
        n = params.vector_length
        masked = [v % MOD for v in vector]
        masks = [prg(self._round.self_seed, n)]
        negated: list[list[int]] = []
        for advert in adverts:
            peer = advert.node_id
            if peer != me:
                seed = pair_seed(dh(self._ephemeral, advert.ephemeral_public), params.query_id,
                                 me, peer)
                (masks if me < peer else negated).append(prg(seed, n))
        for i in range(n):
            masked[i] = (masked[i] + sum(m[i] for m in masks) - sum(m[i] for m in negated)) % MOD
        self._keyed = keyed
        unsigned = MaskedInput(me, params.query_id, tuple(masked), adverts_hash(adverts), b"")
        return MaskedInput(me, params.query_id, unsigned.masked, unsigned.keys_hash,
                           sign(self._signing_key, unsigned.signed_message()))

    def _sets(self, u1_prime: Sequence[str], u2: Sequence[str]
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        keyed, survivors = check_survivors(self.params, u1_prime, u2)
        if self._keyed is not None and keyed != self._keyed:
            raise ConsistencyError("U1' differs from the one this node masked against")
        if self.node_id not in survivors:
            raise ProtocolError(f"{self.node_id} is not among the survivors: it takes no "
                                "further part")
        return keyed, survivors

    def consistency(self, u1_prime: Sequence[str], u2: Sequence[str]) -> bytes:
        """Sign (U1', U2) after checking U2 ⊆ U1' ⊆ U1, the sizes, and me ∈ U2."""
        self._verify()
        keyed, survivors = self._sets(u1_prime, u2)
        return sign(self._signing_key,
                    consistency_message(self.params.query_id, keyed, survivors))

    def round2(self, u1_prime: Sequence[str], u2: Sequence[str],
               consistency_signatures: Mapping[str, bytes], shares_for_me: Mapping[str, bytes],
               claim_unmask: Callable[[bytes], bool]) -> UnmaskReply:
        """Reveal b-shares for U2 and ephemeral-key shares for U1' minus U2, once per query id.

        ``consistency_signatures`` must hold at least t' signatures, from members of U2, all
        over this same (U1', U2); one that does not verify aborts (the aggregator showed
        someone other sets). ``shares_for_me`` holds the sealed share from every member of
        U1', mine included. ``claim_unmask(query_id)`` is called last, after every check, and
        must durably record the unmask and return False if one was already recorded.
        """
        params, me = self.params, self.node_id
        peers = self._peers
        keyed, survivors = self._sets(u1_prime, u2)
        signers = set(consistency_signatures)
        if not signers <= set(survivors):
            raise ConsistencyError("consistency signatures from nodes outside U2: "
                                   f"{', '.join(sorted(signers - set(survivors)))}")
        if len(signers) < params.shamir_threshold:
            raise ConsistencyError(f"only {len(signers)} nodes signed the survivor sets; "
                                   f"{params.shamir_threshold} must before anything is unmasked")
        message = consistency_message(params.query_id, keyed, survivors)
        for signer in sorted(signers):
            try:
                verify(peers[signer][0], consistency_signatures[signer], message, signer)
            except SignatureError:
                raise ConsistencyError(f"{signer} did not sign these sets: the aggregator "
                                       "showed different sets to different nodes, or forged "
                                       "a signature; the round aborts") from None
        senders = set(shares_for_me)
        if senders != set(keyed):
            missing, extra = set(keyed) - senders, senders - set(keyed)
            raise ShareError(f"shares for {me} must come from exactly U1' (missing: "
                             f"{', '.join(sorted(missing)) or 'none'}; outside U1': "
                             f"{', '.join(sorted(extra)) or 'none'})")
        b_shares, key_shares = [], []
        for sender in keyed:
            key = share_key(self._secret(sender), params.query_id, sender, me)
            x, b_share, key_share = split_plaintext(
                open_share(key, params.query_id, sender, me, shares_for_me[sender]))
            if x != params.index(me):
                raise ShareError(f"the share from {sender} is for another position")
            if sender in survivors:  # b-share only: its masked input is in the sum
                b_shares.append((sender, b_share))
            else:  # key share only: it sent no masked input, its pair masks must go
                key_shares.append((sender, key_share))
        if not claim_unmask(params.query_id):
            raise ReplayError(f"{me} already unmasked query {params.query_id.hex()}: a second "
                              "unmask is refused")
        unsigned = UnmaskReply(me, params.query_id, tuple(b_shares), tuple(key_shares), b"")
        return UnmaskReply(me, params.query_id, unsigned.b_shares, unsigned.key_shares,
                           sign(self._signing_key, unsigned.signed_message()))
