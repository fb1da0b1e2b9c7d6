"""The node's side of secure aggregation: share keys, charge, add a noise share, mask; unmask once.

A round (docs/secure-aggregation.md) asks each node for its exact cell vectors, refined to fixed
point, with one discrete-Gaussian *share* of noise added (``privacy.distributed``) and masked
(``wire.secagg``), so that the aggregator learns only the sum over the nodes. Here:

* **Share keys.** The query is checked against the catalogue, the node's policy, its caps, the
  zCDP requirement and its local exposure cap, exactly as for round 1, but nothing is read and
  nothing is charged: the node only sends its round's ephemeral key and sealed shares of its
  round secrets. These are derived from its long-term key and the round, so a retry (or a
  restart) sends the same key and share plaintexts; a query id already used for another query
  or round is refused, as in round 1.
* **Round 1 (mask).** The same checks, then the signed keys of U1' are verified. The central ρ
  of the release (KLS Prop. 14 for ``t`` honest shares) is charged in the ledger, durably, in
  the same transaction that stores the round-1 message; only then does the message leave. A
  retried round 1 with the same query id returns the stored message and costs nothing more (no
  new noise, no new mask); the same id with another query or round is refused.
* **Consistency.** The node signs the sets (U1', U2) it is shown, so that the aggregator
  cannot show different sets to different nodes (each node checks every signature next).
* **Round 2 (unmask).** At most once per round, also across restarts (``secagg_unmask`` in the
  store, claimed before the reply leaves): b-shares for survivors, ephemeral-key shares for
  nodes that shared keys but sent no masked input, never both for one node (``wire.secagg``
  checks it structurally).

What the consistency and unmask steps need (the roster and round parameters, verified) is kept
in memory from round 1 (or from its replay): a node that restarted after round 1 and is not
asked round 1 again stays silent from then on — a silent survivor, which the protocol
tolerates as long as t' others answer. Its charge stays.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from node.config import NodeConfig
from node.engine.budget import BudgetCaps
from node.engine.ledger import Charge
from node.engine.queries import QueryEngine
from node.store.database import Store
from node.store.keys import create_key_file, read_key_file
from privacy import (
    Accounting,
    InvalidQueryError,
    PermissionDeniedError,
    QueryConflictError,
    QuerySpec,
    Statistic,
    ValidatedQuery,
    format_micro,
)
from privacy.distributed import SharePlan, draw_share, secure_release
from privacy.errors import KoepelError
from privacy.mechanisms import VectorRole
from wire.attribution import Attributed
from wire.secagg import (
    Roster,
    RoundParams,
    SecAggClient,
    SecAggError,
    decode_adverts,
    make_entry,
    verify_roster,
)

__all__ = ["SECURE_MECHANISM", "RoundRequest", "SecureRefused", "SecureRounds", "round_vectors"]

SECURE_MECHANISM = "secagg_discrete_gaussian"
_KEPT_ROUNDS = 64  # rounds whose state a node keeps in memory between round 1 and round 2


class SecureRefused(KoepelError):
    """A secure-aggregation message this node will not act on (the reason says why)."""

    code = "SECURE_ROUND_REFUSED"


def round_vectors(roles: Sequence[VectorRole], counts: Sequence[int], sums: Sequence[int],
                  histogram: Sequence[int], clamped: Sequence[int]) -> list[list[int]]:
    """The exact vectors a release plan releases, in its order (the same as a plain query)."""
    inputs = {VectorRole.COUNT: counts, VectorRole.SUM: sums, VectorRole.HISTOGRAM: histogram,
              VectorRole.CLAMPED: clamped}
    return [list(inputs[role]) for role in roles]


@dataclass
class _Round:
    client: SecAggClient
    querier: str


@dataclass(frozen=True)
class RoundRequest:
    """What the aggregator sends with share keys and round 1 besides the query: the round's
    parameters, its roster signed by the aggregator, and the noise threshold t."""

    params: bytes
    roster: bytes
    roster_signature: bytes
    aggregator_certificate: bytes
    honest_shares: int
    # The operator who signed the query (verified by the service): its own cap and policy
    # apply from share keys on, and round 1's ledger entry names it.
    operator: Attributed | None = None


@dataclass(frozen=True)
class _Admitted:
    """A secure request that passed every check that needs no data: what the steps share."""

    query: ValidatedQuery
    caps: BudgetCaps
    params: RoundParams
    roster: Roster
    shares: tuple[SharePlan, ...]
    roles: tuple[VectorRole, ...]
    digest: str
    cost: int
    local: int
    stored: str | None  # the stored round-1 answer when the ledger already holds this round


class SecureRounds:
    """One node's secure-aggregation rounds over its engine, store and long-term keys."""

    def __init__(self, config: NodeConfig, engine: QueryEngine, store: Store) -> None:
        if config.tls is None:
            raise SecureRefused("secure aggregation needs the node's TLS certificate")
        self._config = config
        self._engine = engine
        self._store = store
        self._ca_pem = config.tls.ca.read_bytes()
        self._certificate_pem = config.tls.cert.read_bytes()
        key = load_pem_private_key(config.tls.key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SecureRefused("the node's TLS key is not an ECDSA key")
        self._signing_key = key
        self._x25519 = X25519PrivateKey.from_private_bytes(_x25519_secret(config))
        self._rounds: OrderedDict[str, _Round] = OrderedDict()
        self._lock = threading.Lock()

    def enrol(self) -> bytes:
        """This node's roster entry (as a one-entry roster): certificate and X25519 key, bound
        by a signature with the certificate's key."""
        entry = make_entry(self._config.node_id, self._certificate_pem, self._x25519,
                           self._signing_key)
        return Roster.build([entry]).to_bytes()

    def _admit(self, querier: str, query_id: str, spec: QuerySpec,
               request: RoundRequest) -> _Admitted:
        """Catalogue, policy (who may ask, and what), caps (the querier's and the signing
        operator's), zCDP, roster and exposure checks: nothing read or charged.

        Refuses a query id the ledger already holds for another query or round.
        """
        query, caps = self._engine.admit(querier, spec, request.operator)
        if query.catalogue.accounting is not Accounting.ZCDP:
            raise InvalidQueryError(
                "secure aggregation adds Gaussian noise shares, which are never pure ε-DP: "
                "this catalogue version uses pure ε accounting; ask with a zCDP catalogue")
        params, honest_shares = request.params, request.honest_shares
        try:
            round_params = RoundParams.from_bytes(params)
            the_roster = Roster.from_bytes(request.roster)
            verify_roster(the_roster, request.roster_signature, request.aggregator_certificate,
                          self._ca_pem)
        except SecAggError as error:
            raise SecureRefused(f"the round's roster or parameters do not hold: {error}"
                                ) from None
        if round_params.query_id.hex() != query_id:
            raise SecureRefused("the query id is not the round's id")
        if not 1 <= honest_shares <= len(round_params.u1):
            raise InvalidQueryError("honest_shares must be between 1 and the number of nodes")
        release_plan, lengths, shares = secure_release(query, honest_shares)
        if sum(lengths) != round_params.vector_length:
            raise SecureRefused("the round's vector length does not match the query")
        local = sum(s.local_rho_micro for s in shares)
        self._check_exposure(local)
        digest = _round_digest(spec, params, honest_shares)
        stored = self._engine.ledger.stored_answer(querier, query_id)
        if stored is not None and stored.query_digest != digest:
            raise QueryConflictError("this query id was already used for a different "
                                     "query or round; use a new id")
        return _Admitted(query, caps, round_params, the_roster, tuple(shares),
                         tuple(v.role for v in release_plan.vectors), digest,
                         sum(s.rho_micro for s in shares), local,
                         stored.answer if stored is not None else None)

    def _client(self, admitted: _Admitted) -> SecAggClient:
        return SecAggClient(self._config.node_id, self._x25519, self._signing_key,
                            admitted.roster, admitted.params, self._ca_pem)

    def share_keys(self, querier: str, query_id: str, spec: QuerySpec,
                   request: RoundRequest) -> bytes:
        """Share keys: this round's ephemeral key and sealed shares; nothing read or charged.

        A node that could not pay for the round refuses here already, so that it is in no
        one's masks (its budget is checked again, for real, in round 1).
        """
        admitted = self._admit(querier, query_id, spec, request)
        if admitted.stored is None:
            signed_request = "" if request.operator is None else request.operator.request_id
            self._engine.ledger.check(querier, admitted.caps, admitted.cost, signed_request)
        try:
            return self._client(admitted).share_keys().to_bytes()
        except SecAggError as error:
            raise SecureRefused(f"sharing keys refused: {error}") from None

    def mask(self, querier: str, query_id: str, spec: QuerySpec, request: RoundRequest, *,
             key_holders: bytes) -> tuple[bytes, int, int, bool]:
        """Round 1: (masked input, ρ charged µ, local exposure µ, replayed)."""
        admitted = self._admit(querier, query_id, spec, request)
        cost, local, caps, query = admitted.cost, admitted.local, admitted.caps, admitted.query
        try:
            adverts = decode_adverts(key_holders)
        except SecAggError as error:
            raise SecureRefused(f"the round's key holders do not decode: {error}") from None
        client = self._client(admitted)
        ledger = self._engine.ledger
        if admitted.stored is not None:  # its digest matched in _admit: the same round
            self._keep(query_id, _Round(client, querier))
            return (bytes.fromhex(json.loads(admitted.stored)["masked_input"]), cost, local,
                    True)
        signed_request = "" if request.operator is None else request.operator.request_id
        ledger.check(querier, caps, cost, signed_request)  # refuse before touching the data
        counts: list[int] = []
        sums: list[int] = []
        histogram: list[int] = []
        if spec.statistic is Statistic.HISTOGRAM:  # one run of the query's SQL, as plain queries
            histogram, clamped = self._engine.exact_histogram_and_clamped(query)
        else:
            counts, sums, clamped = self._engine.exact_cells_and_clamped(query)
        vectors = round_vectors(admitted.roles, counts, sums, histogram, clamped)
        noisy: list[int] = []
        for values, share in zip(vectors, admitted.shares, strict=True):
            noisy += draw_share(values, share)
        try:
            masked = client.round1(noisy, adverts).to_bytes()
        except SecAggError as error:
            raise SecureRefused(f"round 1 refused: {error}") from None
        committed = ledger.commit(
            Charge(querier=querier, query_id=query_id, query_digest=admitted.digest,
                   mechanism=f"{SECURE_MECHANISM}:{spec.statistic.value}", cost_micro=cost,
                   budget_period=caps.period, catalogue_version=query.catalogue.version,
                   answer=json.dumps({"masked_input": masked.hex()}),
                   unit=self._engine.loss_rule.unit.value,
                   noise=_noise_note(admitted.shares, admitted.params, local),
                   operator=caps.operator_name, operator_request=signed_request),
            caps)
        self._keep(query_id, _Round(client, querier))
        if not committed.written:  # a concurrent retry won: its message is the one that stands
            return (bytes.fromhex(json.loads(committed.stored.answer)["masked_input"]), cost,
                    local, True)
        return masked, cost, local, False

    def _check_exposure(self, local_micro: int) -> None:
        """Refuse (before any data is read or charged) a share that would expose too much
        should everyone else collude: the node's ``local_exposure_cap_epsilon``."""
        cap = self._config.budget.local_exposure_cap_micro
        if cap is None:
            return
        rule = self._engine.loss_rule
        if local_micro > rule.budget_from_epsilon(cap):
            raise PermissionDeniedError(
                f"this round's noise share alone would expose {rule.describe(local_micro)} if "
                f"every other node colluded, over this node's local_exposure_cap_epsilon of "
                f"{format_micro(cap)}; ask with a smaller ε or a smaller threshold t")

    def consistency(self, querier: str, query_id: str, key_holders: Sequence[str],
                    survivors: Sequence[str]) -> bytes:
        """Sign the sets (U1', U2) this node is shown."""
        round_ = self._round(querier, query_id)
        try:
            return round_.client.consistency(list(key_holders), list(survivors))
        except SecAggError as error:
            raise SecureRefused(f"the survivor sets are refused: {error}") from None

    def unmask(self, querier: str, query_id: str, key_holders: Sequence[str],
               survivors: Sequence[str], signatures: Mapping[str, bytes],
               shares: Mapping[str, bytes]) -> bytes:
        """Round 2, at most once per round (claimed in the store before the reply leaves)."""
        round_ = self._round(querier, query_id)
        try:
            reply = round_.client.round2(list(key_holders), list(survivors), dict(signatures),
                                         dict(shares), self._claim)
        except SecAggError as error:
            raise SecureRefused(f"unmasking refused: {error}") from None
        return reply.to_bytes()

    def _claim(self, round_id: bytes) -> bool:
        """Record the one unmask of ``round_id``; False if it was already claimed."""
        key = round_id.hex()
        with self._store.transaction() as conn:
            if conn.execute("SELECT 1 FROM secagg_unmask WHERE round_id = ?",
                            (key,)).fetchone() is not None:
                return False
            conn.execute("INSERT INTO secagg_unmask (round_id, claimed_at) VALUES (?, ?)",
                         (key, datetime.now(UTC).isoformat(timespec="seconds")))
        return True

    def _keep(self, query_id: str, round_: _Round) -> None:
        with self._lock:
            self._rounds[query_id] = round_
            while len(self._rounds) > _KEPT_ROUNDS:
                self._rounds.popitem(last=False)

    def _round(self, querier: str, query_id: str) -> _Round:
        with self._lock:
            round_ = self._rounds.get(query_id)
        if round_ is None:
            raise SecureRefused("this node holds no round-1 state for that query id (it never "
                                "took part, or it restarted since): it stays silent")
        if round_.querier != querier:
            raise PermissionDeniedError("this round belongs to another querier")
        return round_


def _round_digest(spec: QuerySpec, params: bytes, honest_shares: int) -> str:
    """The ledger's digest of a secure round: the query, the round and its noise threshold."""
    hasher = hashlib.sha256(b"koepel-secagg-round-v1\x00")
    hasher.update(spec.digest().encode())
    hasher.update(hashlib.sha256(params).digest())
    hasher.update(honest_shares.to_bytes(4, "big"))
    return hasher.hexdigest()


def _noise_note(shares: Sequence[SharePlan], params: RoundParams, local_micro: int) -> str:
    """What the ledger says of the noise: protocol, t, c, σ per share, refinement, exposure."""
    colluders = params.min_survivors - shares[0].honest_shares
    scales = ",".join(f"{s.share_scale:.6g}" for s in shares)
    refinements = ",".join(str(s.refinement) for s in shares)
    return (f"secagg-ddg t={shares[0].honest_shares} c={colluders} n={len(params.u1)} "
            f"sigma_share={scales} refinement={refinements} local_rho_micro={local_micro}")


def _x25519_secret(config: NodeConfig) -> bytes:
    """The node's long-term X25519 secret (keys/secagg.key, 0600), created on first use.

    Distinct from the database key, the pseudonym secret and the signing key: it only agrees
    pairwise mask seeds and share-encryption keys with the other nodes.
    """
    path = Path(config.key_file).with_name("secagg.key")
    if not path.exists():
        return create_key_file(path)
    return read_key_file(path)
