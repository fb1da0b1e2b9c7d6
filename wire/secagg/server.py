"""The aggregator's side of a round: collect, check, unmask the sum, keep a transcript.

The aggregator is the party the protocol protects against, so this class holds nothing that
would let it read one node's vector: it sees y_u (uniform mod 2^64 to it), sealed shares it
cannot open, and in round 2 b-shares for survivors and seeds for dropped nodes. It learns the
sum over U2, who took part, and timings. What it enforces for the federation: every message is
signed by a CA-certified node of U1 and shaped for this round, one submission per node and
phase, at least ``min_survivors`` survivors and t' unmask replies, and a decoded sum within the
a-priori ``bound``. A wrong share, seed or huge input makes the unmasked sum uniformly random
mod 2^64 in the affected cells, so the bound check catches it except with probability about
(2·bound+1)/2^64 per cell; inconsistent b-shares are caught directly when more than t' nodes
reply.

Limitation of the PKI variant (pairwise seeds from long-term keys, per the design): the pair
mask between a survivor v and a node d dropped in round 1 can only be removed with the seed
s_{v,d}, which only v (or d) knows. So when anyone dropped in round 1, every survivor must
answer round 2; if one does not, ``finish`` aborts with ``AbortError``. Dropouts after round 1
with no round-1 dropouts only need t' replies. (Bonawitz's per-round key pairs, whose secret
keys are Shamir-shared, lift this at the price of one more round.)
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

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
from wire.secagg.messages import MaskedInput, UnmaskReply, consistency_message, share_value
from wire.secagg.params import RoundParams
from wire.secagg.primitives import MOD, prg, verify
from wire.secagg.roster import Roster, verify_entry
from wire.secagg.shamir import PRIME, combine, consistent

__all__ = ["SecAggServer"]

_HALF = 1 << 63


class SecAggServer:
    """One round at the aggregator: receive_masked → survivors → (shares_for) →
    receive_consistency → consistency_signatures → receive_unmask → finish → transcript.

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
        self._masked: dict[str, MaskedInput] = {}
        self._received: dict[str, tuple[str, str, str]] = {}  # H(y), H(shares), signature
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

    def receive_masked(self, node_id: str, message: MaskedInput) -> None:
        """Accept ``node_id``'s round-1 message (``node_id`` from its TLS identity)."""
        params = self.params
        if self._u2 is not None:
            raise ProtocolError(f"round 1 is closed; {node_id} is too late")
        self._member(node_id, params.u1, "U1")
        self._check_query(node_id, message.node_id, message.query_id)
        if node_id in self._received:
            raise ProtocolError(f"{node_id} already sent its masked input")
        if len(message.masked) != params.vector_length:
            raise MessageError(f"{node_id} sent {len(message.masked)} cells, the round has "
                               f"{params.vector_length}")
        if tuple(name for name, _ in message.shares) != params.u1:
            raise MessageError(f"{node_id} must send exactly one share to each member of U1")
        verify(self._keys[node_id], message.signature, message.signed_message(),
               f"{node_id}'s masked input")
        self._masked[node_id] = message
        self._received[node_id] = (message.y_hash.hex(), message.shares_hash.hex(),
                                   message.signature.hex())

    def survivors(self) -> tuple[str, ...]:
        """Close round 1: U2 is who sent a valid masked input.

        Aborts below min_survivors, or below t' (fewer could never unmask).
        """
        if self._u2 is None:
            self._u2 = tuple(sorted(self._received))
            for sender in self._u2:
                for recipient, sealed in self._masked[sender].shares:
                    self._inbox.setdefault(recipient, {})[sender] = sealed
            needed = max(self.params.min_survivors, self.params.shamir_threshold)
            if len(self._u2) < needed:
                self._abort()
                raise AbortError(f"only {len(self._u2)} of {len(self.params.u1)} nodes sent "
                                 f"round 1; the round needs {needed} (min_survivors, and t' "
                                 "to unmask)")
        return self._u2

    def _survivors(self) -> tuple[str, ...]:
        if self._u2 is None:
            raise ProtocolError("round 1 is still open (call survivors() first)")
        if self._outcome == "aborted":
            raise AbortError("the round was aborted")
        return self._u2

    def shares_for(self, node_id: str) -> dict[str, bytes]:
        """The sealed shares addressed to ``node_id`` by every survivor (its own included)."""
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
            raise ProtocolError(f"{node_id} already signed the survivor set")
        try:
            verify(self._keys[node_id], signature,
                   consistency_message(self.params.query_id, u2), node_id)
        except SignatureError:
            raise ConsistencyError(f"{node_id} did not sign this survivor set") from None
        self._consistency[node_id] = signature

    def consistency_signatures(self) -> dict[str, bytes]:
        """Close the consistency round; what every survivor needs for round 2 (≥ t' of them)."""
        self._survivors()
        self._consistency_closed = True
        if len(self._consistency) < self.params.shamir_threshold:
            self._abort()
            raise AbortError(f"only {len(self._consistency)} survivors signed the survivor set; "
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
        dropped = tuple(v for v in params.u1 if v not in u2)
        if tuple(owner for owner, _ in reply.b_shares) != u2:
            raise MessageError(f"{node_id} must send one b-share for each survivor")
        if tuple(peer for peer, _ in reply.seeds) != dropped:
            raise MessageError(f"{node_id} must send one seed for each dropped node")
        position = params.index(node_id).to_bytes(4, "big")
        if any(share[:4] != position for _, share in reply.b_shares):
            raise ShareError(f"{node_id} sent shares of another position")
        verify(self._keys[node_id], reply.signature, reply.signed_message(),
               f"{node_id}'s unmask reply")
        self._unmask[node_id] = reply
        self._replied[node_id] = (reply.body_hash.hex(), reply.signature.hex())

    def _self_seeds(self, u2: tuple[str, ...], responders: list[str]) -> dict[str, bytes]:
        """b_v for each survivor from the responders' shares (all of them must agree).

        Surplus shares (beyond t') are checked on one random linear combination over all
        owners with random 128-bit weights: if any owner's shares are off their polynomial,
        so is the combination, except with probability at most 2^-128 (Schwartz-Zippel).
        """
        t = self.params.shamir_threshold
        held = [dict(self._unmask[r].b_shares) for r in responders]
        points = {v: [share_value(shares[v]) for shares in held] for v in u2}
        if len(responders) > t:
            weights = [secrets.randbits(128) for _ in u2]
            mixed = [(x, sum(w * points[v][i][1] for w, v in zip(weights, u2, strict=True))
                      % PRIME) for i, (x, _) in enumerate(points[u2[0]])]
            if not consistent(mixed, t):
                raise ShareError("the b-shares disagree: some node sent a wrong share")
        seeds = {}
        for v in u2:
            secret = combine(points[v][:t])
            if secret >= 1 << 256:
                raise ShareError(f"the shares of {v}'s self mask do not rebuild a seed")
            seeds[v] = secret.to_bytes(32, "big")
        return seeds

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
        dropped = [v for v in params.u1 if v not in u2]
        silent = [v for v in u2 if v not in self._unmask]
        if dropped and silent:
            self._abort()
            raise AbortError(f"{', '.join(silent)} sent no unmask reply, so their pair masks "
                             f"with the round-1 dropouts ({', '.join(dropped)}) cannot be "
                             "removed; the round aborts")
        n = params.vector_length
        total = [0] * n
        try:
            self_seeds = self._self_seeds(u2, responders)
        except ShareError:
            self._abort()
            raise
        for v in u2:
            for i, word in enumerate(self._masked[v].masked):
                total[i] += word
            for i, word in enumerate(prg(self_seeds[v], n)):
                total[i] -= word
            seeds = dict(self._unmask[v].seeds) if dropped else {}
            for d in dropped:
                sign = -1 if v < d else 1
                for i, word in enumerate(prg(seeds[d], n)):
                    total[i] += sign * word
        result = [(word % MOD) - MOD if word % MOD >= _HALF else word % MOD for word in total]
        self._forget()
        if any(abs(cell) > params.bound for cell in result):
            self._abort()
            raise BoundError(f"a decoded cell exceeds the bound {params.bound}: some node sent "
                             "an out-of-range input or a wrong share or seed; no result")
        self._outcome = "finished"
        return result

    def _abort(self) -> None:
        self._outcome = "aborted"
        self._forget()

    def _forget(self) -> None:
        """Drop the masked vectors and revealed secrets; hashes and signatures stay."""
        self._masked.clear()
        self._unmask.clear()
        self._inbox.clear()

    def transcript(self) -> dict[str, Any]:
        """A JSON-able record for the history; the masked vectors are dropped from memory.

        Each round-1 signature covers (query id, node, H(y), H(shares)) and each unmask
        signature (query id, node, H(body)), so an auditor holding the roster can check every
        signature from this record alone. Asking for it ends the round if it was still open.
        """
        if self._outcome == "open":
            self._outcome = "abandoned"
        self._forget()
        u2 = list(self._u2 or ())
        return {
            "protocol": "bonawitz-ccs17-full-graph-pki/v1",
            "outcome": self._outcome,
            "params": self.params.describe(),
            "u1": list(self.params.u1),
            "u2": u2,
            "dropped": ([v for v in self.params.u1 if v not in u2]
                        if self._u2 is not None else []),
            "round1": {node: {"y_sha256": y, "shares_sha256": s, "signature": sig}
                       for node, (y, s, sig) in sorted(self._received.items())},
            "consistency": {node: sig.hex() for node, sig in sorted(self._consistency.items())},
            "unmask": {node: {"body_sha256": body, "signature": sig}
                       for node, (body, sig) in sorted(self._replied.items())},
        }
