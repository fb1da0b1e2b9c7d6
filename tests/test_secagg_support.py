"""Support for the secure-aggregation tests (no tests here): a federation with real keys.

Certificates come from ``wire.tls`` (a federation CA on disk, one certificate per node), the
X25519 keys from ``cryptography``; ``run_round`` plays one whole round through the byte
encodings, with chosen dropouts at each phase, the way the gRPC layer will carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from wire.secagg import (
    KeyShares,
    MaskedInput,
    Roster,
    RoundParams,
    SecAggClient,
    SecAggServer,
    UnmaskReply,
    make_entry,
)
from wire.tls import init_ca, issue

__test__ = False


@dataclass(frozen=True)
class Member:
    node_id: str
    x25519: X25519PrivateKey
    signing: ec.EllipticCurvePrivateKey
    certificate_pem: bytes


@dataclass
class Federation:
    ca_dir: Path
    ca_pem: bytes
    members: dict[str, Member]
    roster: Roster
    aggregator_key: ec.EllipticCurvePrivateKey
    aggregator_pem: bytes
    unmasked: dict[str, set[bytes]] = field(default_factory=dict)

    def ids(self, k: int) -> tuple[str, ...]:
        return tuple(sorted(self.members))[:k]

    def client(self, node_id: str, params: RoundParams) -> SecAggClient:
        member = self.members[node_id]
        return SecAggClient(node_id, member.x25519, member.signing, self.roster, params,
                            self.ca_pem)

    def claim(self, node_id: str) -> Callable[[bytes], bool]:
        """A node store's 'first unmask for this query id?' record, kept across restarts."""
        def claim_unmask(query_id: bytes) -> bool:
            seen = self.unmasked.setdefault(node_id, set())
            if query_id in seen:
                return False
            seen.add(query_id)
            return True
        return claim_unmask

    def params(self, u1: Sequence[str], *, threshold: int | None = None,
               min_survivors: int | None = None, length: int = 4,
               bound: int = 1 << 40) -> RoundParams:
        n = len(u1)
        return RoundParams.new(roster_hash=self.roster.roster_hash, u1=u1,
                               shamir_threshold=threshold or n // 2 + 1,
                               min_survivors=min_survivors or n // 2 + 1,
                               vector_length=length, bound=bound)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def make_federation(root: Path, k: int) -> Federation:
    init_ca(root / "ca")
    members = {}
    for i in range(k):
        node_id = f"org-{i:03d}"
        files = issue(root / "ca", role="node", name=node_id, out=root / node_id,
                      dns=("localhost",))
        members[node_id] = Member(node_id, X25519PrivateKey.generate(), _load_key(files.key),
                                  files.cert.read_bytes())
    aggregator = issue(root / "ca", role="aggregator", name="federation",
                       out=root / "aggregator", dns=("localhost",))
    roster = Roster.build(make_entry(m.node_id, m.certificate_pem, m.x25519, m.signing)
                          for m in members.values())
    return Federation(root / "ca", (root / "ca" / "ca.crt").read_bytes(), members, roster,
                      _load_key(aggregator.key), aggregator.cert.read_bytes())


@dataclass
class Outcome:
    total: list[int]
    server: SecAggServer
    replies: dict[str, UnmaskReply]


def run_round(fed: Federation, params: RoundParams, inputs: Mapping[str, Sequence[int]], *,
              silent_keys: frozenset[str] = frozenset(),
              silent_round1: frozenset[str] = frozenset(),
              silent_consistency: frozenset[str] = frozenset(),
              silent_round2: frozenset[str] = frozenset()) -> Outcome:
    """One round through the byte encodings; nodes in ``silent_*`` stop before that phase
    (share keys, round 1, consistency, unmask) and stay silent from then on."""
    server = SecAggServer(params, fed.roster, fed.ca_pem)
    clients = {u: fed.client(u, params) for u in params.u1}
    for u in params.u1:
        if u not in silent_keys:
            shared = clients[u].share_keys()
            server.receive_keys(u, KeyShares.from_bytes(shared.to_bytes()))
    adverts = server.key_holders()
    u1p = server.u1_prime
    for u in u1p:
        if u not in silent_round1:
            message = clients[u].round1(inputs[u], adverts)
            server.receive_masked(u, MaskedInput.from_bytes(message.to_bytes()))
    u2 = server.survivors()
    for u in u2:
        if u not in silent_consistency:
            server.receive_consistency(u, clients[u].consistency(u1p, u2))
    signatures = server.consistency_signatures()
    replies = {}
    for u in u2:
        if u not in silent_consistency | silent_round2:
            reply = clients[u].round2(u1p, u2, signatures, server.shares_for(u), fed.claim(u))
            replies[u] = UnmaskReply.from_bytes(reply.to_bytes())
            server.receive_unmask(u, replies[u])
    return Outcome(server.finish(), server, replies)
