"""Answering a federated query: authorise, validate, aggregate in SQL, add noise, charge, reply.

The order matters for privacy. Everything that can refuse a query (identity, catalogue version,
validation, budget pre-check) runs before the data is touched, so a refused query costs nothing
and reveals nothing: no refusal depends on a record. The charge and the stored answer are
committed together before the answer is returned, so a crash after the charge loses no charge,
and a retried query id gets the very same answer at no further cost. Every answer goes out with
a receipt signed by the node over the released values and its ledger head.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from node.config import NodeConfig
from node.engine.answers import Answer, BudgetLine, DryRun
from node.engine.budget import BudgetCaps, BudgetPolicy
from node.engine.compiler import CompiledQuery, check_period, compile_query, uses_facts
from node.engine.ledger import Charge, Ledger, StoredAnswer
from node.engine.signing import Signer
from node.store.database import Store
from node.store.facts import covered
from privacy import (
    CatalogueVersionError,
    InvalidQueryError,
    LossRule,
    PermissionDeniedError,
    QueryConflictError,
    QuerySpec,
    Statistic,
    ValidatedQuery,
    VectorRole,
    plan_release,
    release,
    validate,
)
from privacy.audit import LedgerExport
from privacy.receipts import LedgerStatement, Receipt, SignedReceipt
from wire.attribution import Attributed

__all__ = ["Answer", "BudgetLine", "DryRun", "QueryEngine"]

_QUERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _now() -> datetime:
    return datetime.now(UTC)


class QueryEngine:
    """The node's query logic, free of gRPC so that it can be tested directly."""

    def __init__(self, config: NodeConfig, store: Store, *, signer: Signer | None = None,
                 clock: Callable[[], datetime] = _now) -> None:
        self._config = config
        self._store = store
        self._ledger = Ledger(store)
        self._policy = BudgetPolicy(config, clock)
        self._signer = signer
        self._clock = clock

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def policy(self) -> BudgetPolicy:
        return self._policy

    @property
    def loss_rule(self) -> LossRule:
        """The accounting rule of the node's catalogue (its unit, ε conversions)."""
        return self._policy.rule

    def _validate(self, spec: QuerySpec) -> ValidatedQuery:
        catalogue = self._config.catalogue_for(spec.catalogue_version)
        if catalogue is None:
            raise CatalogueVersionError(
                f"catalogue version {spec.catalogue_version!r} is not approved on this node; "
                f"approved: {', '.join(self._config.approved_versions)}"
            )
        query = validate(spec, catalogue)
        check_period(query)  # e.g. 12-month retention needs a whole year; refused before data
        return query

    # ------------------------------------------------------------------ answering

    def cost(self, querier: str, spec: QuerySpec) -> int:
        """What ``spec`` would cost in µ-units, without touching data or budget."""
        return self.dry_run(querier, spec).cost_micro

    def dry_run(self, querier: str, spec: QuerySpec) -> DryRun:
        """What ``spec`` would cost and whether it fits every cap now; touches no record."""
        caps = self._policy.caps(querier)
        query = self._validate(spec)
        self._config.queriers[querier].access.check(querier, query)
        plan = plan_release(query)
        rule = self.loss_rule
        return DryRun(
            cost_micro=plan.total_micro,
            cost_epsilon_micro=rule.epsilon_of(plan.total_micro),
            unit=rule.unit.value,
            mechanism=plan.mechanism,
            vectors=tuple((v.role.value, v.sensitivity, v.budget_micro) for v in plan.vectors),
            lines=tuple(self._lines(querier, caps)),
        )

    def admit(self, querier: str, spec: QuerySpec, operator: Attributed | None = None
              ) -> tuple[ValidatedQuery, BudgetCaps]:
        """The validated query and the caps of ``querier`` (and of the ``operator`` who signed
        it, if any), or the refusal (before any data)."""
        name = None if operator is None else operator.operator
        caps = self._policy.caps(querier, operator=name)
        access = self._config.queriers[querier].access
        access.check_operator(querier, name)  # the node's own policy: who may ask
        query = self._validate(spec)
        access.check(querier, query)  # and what
        return query, caps

    def answer(self, querier: str, query_id: str, spec: QuerySpec,
               operator: Attributed | None = None) -> Answer:
        """Answer ``spec`` for ``querier``, charging its budget exactly once per query id.

        ``operator`` is the verified operator attribution (``wire.attribution``), if any: the
        ledger entry names that operator, and its own cap applies.
        """
        if not _QUERY_ID.match(query_id):
            raise InvalidQueryError("query_id must be 1–64 characters of letters, digits, . _ : -")
        query, caps = self.admit(querier, spec, operator)
        digest = spec.digest()
        stored = self._ledger.stored_answer(querier, query_id)
        if stored is not None:
            if stored.query_digest != digest:
                raise QueryConflictError(
                    "this query id was already used for a different query; use a new id"
                )
            return self._signed(querier, digest, stored, replayed=True)
        plan = plan_release(query)
        request = "" if operator is None else operator.request_id
        self._ledger.check(querier, caps, plan.total_micro, request)  # before touching data

        histogram_query = spec.statistic is Statistic.HISTOGRAM
        # One run of the query's SQL gives every vector it releases.
        counts: list[int] = []
        sums: list[int] = []
        histogram: list[int] = []
        if histogram_query:
            histogram, clamped = self.exact_histogram_and_clamped(query)
        else:
            counts, sums, clamped = self.exact_cells_and_clamped(query)
        wants_clamped = plan.share(VectorRole.CLAMPED) is not None
        released = release(plan, counts, sums, histogram, clamped if wants_clamped else None)
        rule = self.loss_rule
        answer = Answer(
            query_id=query_id,
            node_id=self._config.node_id,
            cells=query.cells,
            release=released,
            clamp_lower=float(query.measure.lower),
            clamp_upper=float(query.measure.upper),
            catalogue_version=query.catalogue.version,
            bins=query.measure.bin_labels if histogram_query else (),
            bin_edges=tuple(float(e) for e in query.measure.bins) if histogram_query else (),
            accounting=query.catalogue.accounting.value,
            delta=str(query.catalogue.delta or ""),
            cost_epsilon_micro=rule.epsilon_of(released.cost_micro),
        )
        committed = self._ledger.commit(
            Charge(
                querier=querier, query_id=query_id, query_digest=digest,
                mechanism=plan.mechanism, cost_micro=released.cost_micro,
                budget_period=caps.period, catalogue_version=query.catalogue.version,
                answer=answer.to_json(), unit=rule.unit.value,
                noise=answer.noise_description(), operator=caps.operator_name,
                operator_request=request,
            ),
            caps,
        )
        return self._signed(querier, digest, committed.stored, replayed=not committed.written)

    def _signed(self, querier: str, query_digest: str, stored: StoredAnswer, *,
                replayed: bool) -> Answer:
        """The stored answer with a fresh receipt over it and the current ledger head."""
        answer = Answer.from_json(stored.answer, replayed=replayed)
        if self._signer is None:
            return answer
        head_sequence, head_hash = self._ledger.head()
        receipt = Receipt(
            node_id=self._config.node_id, querier=querier, query_id=answer.query_id,
            query_digest=query_digest, answer_digest=answer.digest(),
            entry_sequence=stored.ledger_seq, entry_hash=stored.entry_hash,
            cost_micro=answer.release.cost_micro, unit=self.loss_rule.unit.value,
            head_sequence=head_sequence, head_hash=head_hash,
            signed_at=self._clock().isoformat(timespec="milliseconds"),
        )
        payload = receipt.to_payload()
        signed = SignedReceipt(payload, self._signer.sign(payload), self._signer.public_key)
        return dataclasses.replace(answer, receipt=signed)

    def _cell_rows(self, query: ValidatedQuery) -> list[Any]:
        """The compiled SQL's rows: on the per-person facts when they cover the period (and
        are up to date), else on the raw rows; the two agree (tests/test_compiler_property)."""
        with self._store.reading() as conn:
            on_facts = uses_facts(query) and covered(conn, query.period.label)
            compiled: CompiledQuery = compile_query(query, facts=on_facts)
            return list(conn.execute(compiled.sql, compiled.params).fetchall())

    def exact_cells(self, query: ValidatedQuery) -> tuple[list[int], list[int]]:
        """Exact per-cell person counts and fixed-point sums (zeros included), in cell order.

        Never sent anywhere: the DP path adds noise to these, and the organisation's own local
        reports show them as they are.
        """
        counts, sums, _ = self.exact_cells_and_clamped(query)
        return counts, sums

    def exact_cells_and_clamped(self, query: ValidatedQuery
                                ) -> tuple[list[int], list[int], list[int]]:
        """:meth:`exact_cells` and, per cell, the persons whose value was clamped."""
        rows = self._cell_rows(query)
        width = len(query.dimensions)
        offset = width + (1 if query.spec.statistic is Statistic.HISTOGRAM else 0)  # bin column
        index = {cell: i for i, cell in enumerate(query.cells)}
        counts = [0] * len(query.cells)
        sums = [0] * len(query.cells)
        clamped = [0] * len(query.cells)
        for row in rows:
            i = index.get(tuple(row[:width]))
            if i is not None:
                counts[i] += int(row[offset])
                sums[i] += int(row[offset + 1])
                clamped[i] += int(row[offset + 2])
        return counts, sums, clamped

    def exact_histogram(self, query: ValidatedQuery) -> list[int]:
        """Exact persons per cell and public bin (cells in order, bins fastest), zeros included.

        Never sent anywhere: the DP path adds noise to these.
        """
        return self.exact_histogram_and_clamped(query)[0]

    def exact_histogram_and_clamped(self, query: ValidatedQuery) -> tuple[list[int], list[int]]:
        """:meth:`exact_histogram` and, per cell, the persons whose value was clamped."""
        rows = self._cell_rows(query)
        width = len(query.dimensions)
        n_bins = len(query.measure.bins) - 1
        index = {cell: i for i, cell in enumerate(query.cells)}
        counts = [0] * (len(query.cells) * n_bins)
        clamped = [0] * len(query.cells)
        for row in rows:
            i = index.get(tuple(row[:width]))
            if i is not None:
                counts[i * n_bins + int(row[width])] = int(row[width + 1])
                clamped[i] += int(row[width + 3])
        return counts, clamped

    # ------------------------------------------------------------------ budget views

    def _line(self, querier: str, period: str, cap: int, spent: int, scope: str,
              cap_epsilon: int | None) -> BudgetLine:
        rule = self.loss_rule
        remaining = max(0, cap - spent)
        return BudgetLine(
            querier=querier, period=period, cap_micro=cap, spent_micro=spent, scope=scope,
            unit=rule.unit.value,
            cap_epsilon_micro=cap_epsilon if cap_epsilon is not None else rule.epsilon_of(cap),
            spent_epsilon_micro=rule.epsilon_of(spent),
            remaining_epsilon_micro=rule.epsilon_of(remaining),
        )

    def _lines(self, querier: str, caps: BudgetCaps) -> list[BudgetLine]:
        policy = self._policy
        lines = [
            self._line(querier, caps.period, caps.querier.micro,
                       self._ledger.spent(querier, caps.period), "querier",
                       policy.querier_caps_epsilon[querier]),
            self._line("*", caps.period, caps.node.micro,
                       self._ledger.spent_in_period(caps.period), "node",
                       policy.node_cap_epsilon),
        ]
        if caps.lifetime is not None:
            lines.append(self._line("*", "all", caps.lifetime.micro,
                                    self._ledger.spent_overall(), "lifetime",
                                    policy.lifetime_cap_epsilon))
        return lines

    def budget(self, querier: str) -> list[BudgetLine]:
        """The caller's own budget for the current period, and the node-wide caps it shares."""
        return self._lines(querier, self._policy.caps(querier))

    def all_budgets(self) -> list[BudgetLine]:
        """Every querier and period in the ledger or the policy, then the node-wide caps.

        For the node's own operator (``koepel node budget``), never over the wire.
        """
        policy = self._policy
        current = policy.current_period()
        totals = self._ledger.totals()
        keys = set(totals) | {(q, current) for q in policy.querier_caps}
        periods = sorted({p for _, p in keys} | {current})
        lines: list[BudgetLine] = []
        for period in periods:
            for querier in sorted(q for q, p in keys if p == period):
                cap = policy.querier_caps.get(querier, 0)
                lines.append(self._line(querier, period, cap, totals.get((querier, period), 0),
                                        "querier", policy.querier_caps_epsilon.get(querier, 0)))
            lines.append(self._line("*", period, policy.node_cap,
                                    self._ledger.spent_in_period(period), "node",
                                    policy.node_cap_epsilon))
        if policy.lifetime_cap is not None:
            lines.append(self._line("*", "all", policy.lifetime_cap,
                                    self._ledger.spent_overall(), "lifetime",
                                    policy.lifetime_cap_epsilon))
        return lines

    def operator_budgets(self) -> list[BudgetLine]:
        """Each operator's own cap and spend (``querier/operator``), per period, for the
        node's own operator: the operators the policy lists, and any who signed a charge."""
        policy = self._policy
        current = policy.current_period()
        totals = self._ledger.operator_totals()
        keys = set(totals) | {(q, o, current) for q, caps in policy.operator_caps.items()
                              for o in caps}
        lines = []
        for querier, operator, period in sorted(keys, key=lambda k: (k[2], k[0], k[1])):
            cap = policy.operator_caps.get(querier, {}).get(operator)
            lines.append(self._line(
                f"{querier}/{operator}", period,
                policy.querier_caps.get(querier, 0) if cap is None else cap,
                totals.get((querier, operator, period), 0), "operator",
                policy.operator_caps_epsilon.get(querier, {}).get(operator)
                if cap is not None else policy.querier_caps_epsilon.get(querier, 0)))
        return lines

    # ------------------------------------------------------------------ ledger export

    def may_export(self, identity: str) -> bool:
        return self._policy.knows(identity) or identity in self._config.auditors

    def export_ledger(self, identity: str | None = None) -> LedgerExport:
        """The whole ledger with a signed statement of its head, caps and accounting rule.

        ``identity`` (a caller over the wire) must be a querier or an auditor of this node;
        ``None`` is the node's own operator.
        """
        if identity is not None and not self.may_export(identity):
            raise PermissionDeniedError(f"{identity!r} may not read this node's ledger")
        if self._signer is None:
            raise RuntimeError("the node has no signing key loaded")
        records = tuple(self._ledger.entries())
        head = (records[-1].sequence, records[-1].entry_hash) if records else self._ledger.head()
        policy = self._policy
        catalogue = self._config.catalogue
        statement = LedgerStatement(
            node_id=self._config.node_id,
            exported_at=self._clock().isoformat(timespec="seconds"),
            head_sequence=head[0], head_hash=head[1],
            accounting=catalogue.accounting.value, unit=policy.rule.unit.value,
            delta=str(catalogue.delta or ""), period=policy.period_kind,
            querier_caps=dict(policy.querier_caps), node_cap=policy.node_cap,
            lifetime_cap=policy.lifetime_cap,
            caps_epsilon={**{f"querier:{q}": c for q, c in policy.querier_caps_epsilon.items()},
                          "node": policy.node_cap_epsilon,
                          "lifetime": policy.lifetime_cap_epsilon,
                          **{f"operator:{q}/{o}": c
                             for q, caps in policy.operator_caps_epsilon.items()
                             for o, c in caps.items()}},
            operator_caps=policy.operator_caps,
        )
        payload = statement.to_payload()
        certificate = self._config.signing_certificate
        return LedgerExport(self._config.node_id, records, payload, self._signer.sign(payload),
                            self._signer.public_key,
                            certificate.read_bytes() if certificate and certificate.is_file()
                            else b"")
