"""Secure aggregation (Bonawitz et al., CCS 2017; full graph, PKI variant), without servers.

The aggregator learns the sum of the nodes' vectors, never one node's vector. A round, in four
fan-outs: **share keys** — each node advertises a per-round ephemeral X25519 key and
Shamir-shares both its self-mask seed b_u and that key's secret among U1, sealing each share
with a key from its long-term X25519 key (bound to its federation certificate); U1' is who did.
**Round 1** — each node checks every U1' member's signed key, adds a self mask PRG(b_u) and
pairwise masks ±PRG(s_{u,v}), s_{u,v} by HKDF over the query id from the ephemeral X25519
secret of u and v, for v in U1'; U2 is who sent. **Consistency** — the survivors sign (U1',
U2). **Unmask** — each reveals b-shares for U2 and ephemeral-key shares for U1' minus U2 (never
both for one node, at most once per query id), and the aggregator removes the masks.
Everything is mod 2^64 and decoded centred. A node's round secrets are derived from its
long-term secret and the round (``primitives.round_secrets``): a restart changes nothing.

Threat model: an honest-but-curious or malicious aggregator, and fewer than t' nodes colluding
with it. It still learns the sum over U2, who took part and who dropped, message sizes and
timings. See ``client`` and ``server`` for the details, ``shamir`` for the secrecy argument.

Dropouts at any phase are recovered as long as |U2| ≥ t + c and t' survivors answer the
unmask: a node that never shared keys is in no one's masks; one that shared keys but sent no
masked input has its ephemeral secret rebuilt, and with it its pair masks; a survivor silent in
the unmask has its b_u rebuilt. Otherwise the round aborts with ``AbortError``.

This package is pure Python over ``cryptography``: node and aggregator each wrap one side
(``SecAggClient``, ``SecAggServer``) and carry the messages as ``bytes`` (``to_bytes`` /
``from_bytes``). A round, in order::

    server = SecAggServer(params, roster, ca_pem)
    server.receive_keys(u, KeyShares.from_bytes(client_u.share_keys().to_bytes()))
    adverts = server.key_holders()                        # U1', each with its signed key
    server.receive_masked(u, client_u.round1(vector, adverts))
    u1p, u2 = server.u1_prime, server.survivors()
    server.receive_consistency(u, client_u.consistency(u1p, u2))
    signatures = server.consistency_signatures()
    reply = client_u.round2(u1p, u2, signatures, server.shares_for(u), store.claim_unmask)
    server.receive_unmask(u, reply)
    total = server.finish(); record = server.transcript()
    verify_transcript(record, roster, ca_pem)  # an auditor, later
"""

from wire.secagg.audit import verify_transcript
from wire.secagg.client import SecAggClient, check_survivors
from wire.secagg.errors import (
    AbortError,
    BoundError,
    ConsistencyError,
    MessageError,
    ParamsError,
    ProtocolError,
    ReplayError,
    RosterError,
    SecAggError,
    ShareError,
    SignatureError,
)
from wire.secagg.messages import (
    KeyAdvert,
    KeyShares,
    MaskedInput,
    UnmaskReply,
    decode_adverts,
    encode_adverts,
)
from wire.secagg.params import RoundParams
from wire.secagg.roster import (
    Roster,
    RosterEntry,
    make_entry,
    sign_roster,
    verify_entry,
    verify_roster,
)
from wire.secagg.server import SecAggServer

__all__ = [
    "AbortError",
    "BoundError",
    "ConsistencyError",
    "KeyAdvert",
    "KeyShares",
    "MaskedInput",
    "MessageError",
    "ParamsError",
    "ProtocolError",
    "ReplayError",
    "Roster",
    "RosterEntry",
    "RosterError",
    "RoundParams",
    "SecAggClient",
    "SecAggError",
    "SecAggServer",
    "ShareError",
    "SignatureError",
    "UnmaskReply",
    "check_survivors",
    "decode_adverts",
    "encode_adverts",
    "make_entry",
    "sign_roster",
    "verify_entry",
    "verify_roster",
    "verify_transcript",
]
