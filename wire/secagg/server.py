"""The aggregator's side of a round: collect, check, unmask the sum, keep a transcript.

The aggregator is the party the protocol protects against, so this class holds nothing that
would let it read one node's vector: it sees ephemeral public keys, sealed shares it cannot
open, y_u (uniform mod 2^64 to it), and in round 2 b-shares for survivors and ephemeral-key
shares for nodes that shared keys but sent no masked input. It learns the sum over U2, who took
part, and timings. What it enforces for the federation: every message is signed by a
CA-certified node of U1 and shaped for this round, one submission per node and phase, at least
max(min_survivors, t') key holders and survivors, t' unmask replies, and a decoded sum within
the a-priori ``bound``.

Dropouts (Bonawitz et al.'s AdvertiseKeys/ShareKeys): pair masks come from per-round ephemeral
keys whose secrets are Shamir-shared in the share-keys phase. A node that shared keys but sent
no masked input has its ephemeral secret rebuilt from t' replies, and with it every pair mask
it had with a survivor; a survivor silent in round 2 has its b_u rebuilt from t' replies. So
any pattern of dropouts leaves an exact sum over U2 as long as U2 ≥ t + c and t' survivors
answer round 2; a node that never shared keys is in no one's masks. Checks: a rebuilt ephemeral
secret must give the public key its owner signed; surplus shares (beyond t') of both secrets
must lie on one polynomial (one random linear combination, Schwartz-Zippel); a wrong share or
huge input that slips past makes the affected cells uniform mod 2^64, so the bound check
catches it except with probability about (2·bound+1)/2^64 per cell.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from wire.secagg.errors import (
    AbortError,
    BoundError,
    ConsistencyError,
    MessageError,
    ParamsError,
    ProtocolError,
    ShareError,
    SignatureError,
)
from wire.secagg.messages import (
    PROTOCOL,
    KeyAdvert,
    KeyShares,
    MaskedInput,
    UnmaskReply,
    adverts_hash,
    consistency_message,
    share_value,
)
from wire.secagg.params import RoundParams
from wire.secagg.primitives import MOD, dh, pair_seed, prg, verify
from wire.secagg.roster import Roster, verify_entry
from wire.secagg.shamir import PRIME, combine, consistent

__all__ = ["SecAggServer"]

_HALF = 1 << 63


class SecAggServer:
    """One round at the aggregator: receive_keys → key_holders → receive_masked → survivors →
    (shares_for) → receive_consistency → consistency_signatures → receive_unmask → finish →
    transcript.

    Not thread-safe: drive one round from one task (the aggregator's event loop). The
    ``node_id`` passed with each message must be the sender's verified TLS identity; the
    message's own node id is checked against it.
    """

    def __init__(self, params: RoundParams, roster: Roster, ca_pem: bytes, *,
                 now: datetime | None = None) -> None:
        if params.roster_hash != roster.roster_hash:
            raise ParamsError("the round refers to another roster (roster hash differs)")
        self.params = params
        self._keys = {node_id: verify_entry(roster.entry(node_id), ca_pem, now=now)
                      for node_id in params.u1}
        self._shared: dict[str, KeyAdvert] = {}  # U1' once closed; sealed shares in _inbox
        self._adverts: tuple[KeyAdvert, ...] | None = None
        self._adverts_hash = b""
        self._u1p: tuple[str, ...] = ()
        self._masked: dict[str, MaskedInput] = {}
        self._received: dict[str, tuple[str, str, str]] = {}  # H(y), H(adverts), signature
        self._u2: tuple[str, ...] | None = None
        self._inbox: dict[str, dict[str, bytes]] = {}  # recipient -> sender -> sealed share
        self._consistency: dict[str, bytes] = {}
        self._consistency_closed = False
        self._unmask: dict[str, UnmaskReply] = {}
        self._replied: dict[str, tuple[str, str]] = {}  # H(body), signature
        self._outcome = "open"

    def _member(self, node_id: str, of: tuple[str, ...], what: str) -> None:
        if node_id not in of:
            raise ProtocolError(f"{node_id} is not in {what}")

    def _check_query(self, node_id: str, sender: str, query_id: bytes) -> None:
        if sender != node_id:
            raise ProtocolError(f"{node_id} sent a message in the name of {sender}")
        if query_id != self.params.query_id:
            raise ProtocolError(f"{node_id} answered another query")

    def _needed(self) -> int:
        return max(self.params.min_survivors, self.params.shamir_threshold)

    def receive_keys(self, node_id: str, message: KeyShares) -> None:
        """Accept ``node_id``'s ephemeral key and sealed shares (``node_id`` from its TLS)."""
        params = self.params
        if self._adverts is not None:
            raise ProtocolError(f"the key phase is closed; {node_id} is too late")
        self._member(node_id, params.u1, "U1")
        self._check_query(node_id, message.node_id, message.query_id)
        if node_id in self._shared:
            raise ProtocolError(f"{node_id} already shared its keys")
        if tuple(name for name, _ in message.shares) != params.u1:
            raise MessageError(f"{node_id} must send exactly one share to each member of U1")
        verify(self._keys[node_id], message.signature, message.signed_message(),
               f"{node_id}'s shared keys")
        self._shared[node_id] = message.advert()
        for recipient, sealed in message.shares:
            self._inbox.setdefault(recipient, {})[node_id] = sealed

    def key_holders(self) -> tuple[KeyAdvert, ...]:
        """Close the key phase: U1' is who shared valid keys; what round 1 shows every node.

        Aborts below max(min_survivors, t'): fewer could never give a result.
        """
        if self._adverts is None:
            self._u1p = tuple(sorted(self._shared))
            self._adverts = tuple(self._shared[u] for u in self._u1p)
            self._adverts_hash = adverts_hash(self._adverts)
            if len(self._u1p) < self._needed():
                self._abort()
                raise AbortError(f"only {len(self._u1p)} of {len(self.params.u1)} nodes shared "
                                 f"keys; the round needs {self._needed()} (min_survivors, and "
                                 "t' to unmask)")
        if self._outcome == "aborted":
            raise AbortError("the round was aborted")
        return self._adverts

    def _keyed(self) -> tuple[str, ...]:
        if self._adverts is None:
            raise ProtocolError("the key phase is still open (call key_holders() first)")
        return self._u1p

    def receive_masked(self, node_id: str, message: MaskedInput) -> None:
        """Accept ``node_id``'s round-1 message (``node_id`` from its TLS identity)."""
        params, keyed = self.params, self._keyed()
        if self._u2 is not None:
            raise ProtocolError(f"round 1 is closed; {node_id} is too late")
        self._member(node_id, keyed, "U1'")
        self._check_query(node_id, message.node_id, message.query_id)
        if node_id in self._received:
            raise ProtocolError(f"{node_id} already sent its masked input")
        if len(message.masked) != params.vector_length:
            raise MessageError(f"{node_id} sent {len(message.masked)} cells, the round has "
                               f"{params.vector_length}")
        if message.keys_hash != self._adverts_hash:
            raise ConsistencyError(f"{node_id} masked against other keys than U1'")
        verify(self._keys[node_id], message.signature, message.signed_message(),
               f"{node_id}'s masked input")
        self._masked[node_id] = message
        self._received[node_id] = (message.y_hash.hex(), message.keys_hash.hex(),
                                   message.signature.hex())

    def survivors(self) -> tuple[str, ...]:
        """Close round 1: U2 is who sent a valid masked input.

        Aborts below min_survivors, or below t' (fewer could never unmask).
        """
        self._keyed()
        if self._u2 is None:
            self._u2 = tuple(sorted(self._received))
            if len(self._u2) < self._needed():
                self._abort()
                raise AbortError(f"only {len(self._u2)} of {len(self.params.u1)} nodes sent "
                                 f"round 1; the round needs {self._needed()} (min_survivors, "
                                 "and t' to unmask)")
        return self._u2

    @property
    def u1_prime(self) -> tuple[str, ...]:
        """U1': the nodes whose keys round 1 was masked against."""
        return self._keyed()

    def _survivors(self) -> tuple[str, ...]:
        if self._u2 is None:
            raise ProtocolError("round 1 is still open (call survivors() first)")
        if self._outcome == "aborted":
            raise AbortError("the round was aborted")
        return self._u2

    def shares_for(self, node_id: str) -> dict[str, bytes]:
        """The sealed shares addressed to ``node_id`` by every member of U1' (its own too)."""
        u2 = self._survivors()
        self._member(node_id, u2, "U2")
        if self._outcome != "open":
            raise ProtocolError("the round is over")
        return dict(self._inbox.get(node_id, {}))

    def receive_consistency(self, node_id: str, signature: bytes) -> None:
        u2 = self._survivors()
        if self._consistency_closed:
            raise ProtocolError(f"the consistency round is closed; {node_id} is too late")
        self._member(node_id, u2, "U2")
        if node_id in self._consistency:
            raise ProtocolError(f"{node_id} already signed the survivor sets")
        try:
            verify(self._keys[node_id], signature,
                   consistency_message(self.params.query_id, self._u1p, u2), node_id)
        except SignatureError:
            raise ConsistencyError(f"{node_id} did not sign these sets (U1', U2)") from None
        self._consistency[node_id] = signature

    def consistency_signatures(self) -> dict[str, bytes]:
        """Close the consistency round; what every survivor needs for round 2 (≥ t' of them)."""
        self._survivors()
        self._consistency_closed = True
        if len(self._consistency) < self.params.shamir_threshold:
            self._abort()
            raise AbortError(f"only {len(self._consistency)} survivors signed the survivor sets; "
                             f"the round needs {self.params.shamir_threshold}")
        return dict(self._consistency)

    def receive_unmask(self, node_id: str, reply: UnmaskReply) -> None:
        params, u2 = self.params, self._survivors()
        if not self._consistency_closed:
            raise ProtocolError("round 2 has not started (consistency round still open)")
        self._member(node_id, u2, "U2")
        self._check_query(node_id, reply.node_id, reply.query_id)
        if node_id in self._unmask:
            raise ProtocolError(f"{node_id} already sent its unmask reply")
        dropped = tuple(v for v in self._u1p if v not in u2)
        if tuple(owner for owner, _ in reply.b_shares) != u2:
            raise MessageError(f"{node_id} must send one b-share for each survivor")
        if tuple(owner for owner, _ in reply.key_shares) != dropped:
            raise MessageError(f"{node_id} must send one key share for each node of U1' that "
                               "sent no masked input")
        position = params.index(node_id).to_bytes(4, "big")
        if any(share[:4] != position for _, share in reply.b_shares + reply.key_shares):
            raise ShareError(f"{node_id} sent shares of another position")
        verify(self._keys[node_id], reply.signature, reply.signed_message(),
               f"{node_id}'s unmask reply")
        self._unmask[node_id] = reply
        self._replied[node_id] = (reply.body_hash.hex(), reply.signature.hex())

    def _rebuild(self, u2: tuple[str, ...], dropped: list[str], responders: list[str]
                 ) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """b_v for each survivor and the ephemeral secret of each dropped key holder, from the
        responders' shares (all of them must agree).

        Surplus shares (beyond t') are checked on one random linear combination over all
        secrets with random 128-bit weights: if any secret's shares are off their polynomial,
        so is the combination, except with probability at most 2^-128 (Schwartz-Zippel).
        """
        t = self.params.shamir_threshold
        held = [dict(self._unmask[r].b_shares) | dict(self._unmask[r].key_shares)
                for r in responders]
        owners = [*u2, *dropped]
        points = {v: [share_value(shares[v]) for shares in held] for v in owners}
        if len(responders) > t:
            weights = [secrets.randbits(128) for _ in owners]
            mixed = [(x, sum(w * points[v][i][1] for w, v in zip(weights, owners, strict=True))
                      % PRIME) for i, (x, _) in enumerate(points[owners[0]])]
            if not consistent(mixed, t):
                raise ShareError("the revealed shares disagree: some node sent a wrong share")
        rebuilt = {}
        for v in owners:
            secret = combine(points[v][:t])
            if secret >= 1 << 256:
                raise ShareError(f"the shares of {v}'s secret do not rebuild a 32-byte secret")
            rebuilt[v] = secret.to_bytes(32, "big")
        return ({v: rebuilt[v] for v in u2}, {d: rebuilt[d] for d in dropped})

    def _pair_masks_of(self, dropped: str, secret: bytes, u2: tuple[str, ...]
                       ) -> dict[str, bytes]:
        """The pair seed of ``dropped`` with each survivor, from its rebuilt ephemeral secret,
        after checking that the secret gives the public key its owner signed."""
        advert = self._shared[dropped]
        private = X25519PrivateKey.from_private_bytes(secret)
        public = private.public_key().public_bytes_raw()
        if public != advert.ephemeral_public:
            raise ShareError(f"the key shares of {dropped} do not rebuild its advertised key: "
                             "some node sent a wrong share")
        ephemeral = {u: self._shared[u].ephemeral_public for u in u2}
        return {v: pair_seed(dh(private, ephemeral[v]), self.params.query_id, dropped, v)
                for v in u2}

    def finish(self) -> list[int]:
        """Unmask and decode the sum over U2 (centred); refuse it beyond ``bound``."""
        params, u2 = self.params, self._survivors()
        if self._outcome != "open":
            raise ProtocolError("the round is over")
        responders = sorted(self._unmask)
        if len(responders) < params.shamir_threshold:
            self._abort()
            raise AbortError(f"only {len(responders)} survivors sent unmask replies; "
                             f"{params.shamir_threshold} are needed")
        dropped = [v for v in self._u1p if v not in u2]
        n = params.vector_length
        total = [0] * n
        try:
            self_seeds, ephemeral = self._rebuild(u2, dropped, responders)
            pair_seeds = {d: self._pair_masks_of(d, ephemeral[d], u2) for d in dropped}
        except ShareError:
            self._abort()
            raise
        for v in u2:
            for i, word in enumerate(self._masked[v].masked):
                total[i] += word
            for i, word in enumerate(prg(self_seeds[v], n)):
                total[i] -= word
            for d in dropped:  # y_v holds +PRG(s_{v,d}) if v < d, else -PRG(s_{v,d})
                sign = -1 if v < d else 1
                for i, word in enumerate(prg(pair_seeds[d][v], n)):
                    total[i] += sign * word
        result = [(word % MOD) - MOD if word % MOD >= _HALF else word % MOD for word in total]
        self._forget()
        if any(abs(cell) > params.bound for cell in result):
            self._abort()
            raise BoundError(f"a decoded cell exceeds the bound {params.bound}: some node sent "
                             "an out-of-range input or a wrong share; no result")
        self._outcome = "finished"
        return result

    def _abort(self) -> None:
        self._outcome = "aborted"
        self._forget()

    def _forget(self) -> None:
        """Drop the masked vectors, sealed and revealed shares; hashes and signatures stay."""
        self._masked.clear()
        self._unmask.clear()
        self._inbox.clear()

    def transcript(self) -> dict[str, Any]:
        """A JSON-able record for the history; the masked vectors are dropped from memory.

        Each key-phase signature covers (query id, node, ephemeral key, H(sealed shares)), each
        round-1 signature (query id, node, H(y), H(U1' adverts)), each consistency signature
        (query id, U1', U2) and each unmask signature (query id, node, H(body)), so an auditor
        holding the roster can check every signature from this record alone. Asking for it
        ends the round if it was still open.
        """
        if self._outcome == "open":
            self._outcome = "abandoned"
        self._forget()
        u2 = list(self._u2 or ())
        return {
            "protocol": PROTOCOL,
            "outcome": self._outcome,
            "params": self.params.describe(),
            "u1": list(self.params.u1),
            "u1_prime": list(self._u1p),
            "u2": u2,
            "dropped": ([v for v in self.params.u1 if v not in u2]
                        if self._u2 is not None else []),
            "keys": {node: {"ephemeral_public": m.ephemeral_public.hex(),
                            "shares_sha256": m.shares_hash.hex(),
                            "signature": m.signature.hex()}
                     for node, m in sorted(self._shared.items())},
            "round1": {node: {"y_sha256": y, "keys_sha256": k, "signature": sig}
                       for node, (y, k, sig) in sorted(self._received.items())},
            "consistency": {node: sig.hex() for node, sig in sorted(self._consistency.items())},
            "unmask": {node: {"body_sha256": body, "signature": sig}
                       for node, (body, sig) in sorted(self._replied.items())},
        }
