"""Secure aggregation (Bonawitz et al., CCS 2017; full graph, PKI variant), without servers.

The aggregator learns the sum of the nodes' vectors, never one node's vector: each node adds a
self mask PRG(b_u), whose seed it Shamir-shares among the nodes, and pairwise masks
±PRG(s_{u,v}) that cancel in the sum, with s_{u,v} derived by HKDF over the query id from the
X25519 secret of u and v (long-term keys bound to the federation certificates). After round 1
the nodes sign the survivor set U2, then each reveals b-shares for survivors and pairwise seeds
for dropped nodes (never both for one node, at most once per query id), and the aggregator
removes the masks. Everything is mod 2^64 and decoded centred.

Threat model: an honest-but-curious or malicious aggregator, and fewer than t' nodes colluding
with it. It still learns the sum over U2, who took part and who dropped, message sizes and
timings. See ``client`` and ``server`` for the details, ``shamir`` for the secrecy argument.

Dropouts: a node silent in round 1 is handled by its peers' seeds; nodes silent after round 1
only need t' others to answer round 2. Both at once is the one case this variant cannot
recover (the pair mask of a silent survivor v and a round-1 dropout d needs s_{v,d}, known only
to v and d): the round then aborts with ``AbortError`` (see ``server``).

This package is pure Python over ``cryptography``: node and aggregator each wrap one side
(``SecAggClient``, ``SecAggServer``) and carry the messages as ``bytes`` (``to_bytes`` /
``from_bytes``). A round, in order::

    server = SecAggServer(params, roster, ca_pem)
    server.receive_masked(u, MaskedInput.from_bytes(client_u.round1(vector).to_bytes()))
    u2 = server.survivors()
    server.receive_consistency(u, client_u.consistency(u2))
    signatures = server.consistency_signatures()
    reply = client_u.round2(u2, signatures, server.shares_for(u), store.claim_unmask)
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
from wire.secagg.messages import MaskedInput, UnmaskReply
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
    "make_entry",
    "sign_roster",
    "verify_entry",
    "verify_roster",
    "verify_transcript",
]
