"""Accuracy benchmark: RMSE of federated counts and means against theory and central DP.

For K nodes of the sampled federation, each node's exact cells are computed once by its own engine
(``QueryEngine.exact_cells`` on its encrypted store). Every repetition then does what a federated
query does with those cells: each node draws its release through OpenDP (``privacy.release`` with
the plan of the query at that ε) and serialises it as it would on the wire
(``node.service.serde.answer_to_proto``); the aggregator's ``combine_replies`` turns the K replies
into sector figures. Network and ledger are left out: they cannot change a figure, and thousands of
charged queries would only slow the benchmark down.

Compared against:

* **theory** — the RMSE the mechanism should have, from the variances the nodes report: for a
  count the summed variance, for a mean the delta-method variance at the true sum and count;
* **central DP** — one OpenDP draw on the pooled data at the same ε (what a trusted curator
  would publish). Federated noise adds up over nodes, so counts should come out about √K
  times worse; the table shows the measured factor.

A mean's cells with fewer than ``MIN_TRUE_COUNT`` people in the pooled data are left out (their
ratio is not a meaningful figure); releases whose noisy count is not positive give no ratio and
are counted as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aggregator import NodeEntry, NodeOutcome, NodeReply, QuorumPolicy, combine_replies
from bench.measure import Row
from bench.stores import REFERENCE_YEAR, NodeFolder
from node import load_node_config, open_node
from node.engine.queries import Answer
from node.service.serde import answer_to_proto
from privacy import (
    QuerySpec,
    Release,
    ReleasePlan,
    Statistic,
    ValidatedQuery,
    VectorRole,
    default_catalogue,
    plan_release,
    release,
    validate,
)

__all__ = ["EPSILONS", "run_accuracy"]

EPSILONS = ("0.1", "0.5", "1", "2")
_QUORUM = QuorumPolicy(min_node_share=1.0)
_CREATED_AT = "2026-01-01T00:00:00+00:00"  # combine_replies stamps its result with it
MIN_TRUE_COUNT = 30
TARGET_RELATIVE = 0.05


@dataclass(frozen=True)
class _Case:
    key: str
    measure: str
    statistic: Statistic
    group_by: tuple[str, ...]
    unit: str

    def validated(self, epsilon: str) -> ValidatedQuery:
        micro = round(float(epsilon) * 1_000_000)
        spec = QuerySpec(default_catalogue().version, self.measure, self.statistic,
                         self.group_by, (), str(REFERENCE_YEAR), micro)
        return validate(spec, default_catalogue())


CASES = (
    _Case("count", "headcount", Statistic.COUNT, ("target_group",), "people"),
    _Case("mean", "support_hours", Statistic.MEAN, ("region",), "hours"),
)


def _exact(folders: Sequence[NodeFolder], case: _Case) -> list[tuple[list[int], list[int]]]:
    query = case.validated("1")
    cells = []
    for folder in folders:
        runtime = open_node(load_node_config(folder.config_path))
        try:
            cells.append(runtime.engine.exact_cells(query))
        finally:
            runtime.close()
    return cells


def _reply(node_id: str, query: ValidatedQuery, released: Release) -> NodeReply:
    answer = Answer(query_id="accuracy", node_id=node_id, cells=query.cells, release=released,
                    clamp_lower=float(query.measure.lower),
                    clamp_upper=float(query.measure.upper),
                    catalogue_version=query.catalogue.version)
    return NodeReply(NodeEntry(node_id, "127.0.0.1:0", node_id), NodeOutcome.ANSWERED, "",
                     answer_to_proto(answer))


def _theory_var(case: _Case, scale: int, true_sum: float, true_count: float,
                var_sum: float, var_count: float) -> float:
    """Noise variance of the released figure (fixed-point sum variance given in units²)."""
    if case.statistic is Statistic.COUNT:
        return var_count
    s, c = true_sum / scale, true_count
    return (var_sum / scale**2) / c**2 + (s / c) ** 2 * var_count / c**2


@dataclass
class _Errors:
    squared: list[float]
    theory_var: list[float]
    no_ratio: int = 0
    cells: dict[str, int] = field(default_factory=dict)  # cell -> pooled people

    @property
    def rmse(self) -> float:
        return math.sqrt(sum(self.squared) / len(self.squared)) if self.squared else math.nan

    @property
    def theory(self) -> float:
        return math.sqrt(sum(self.theory_var) / len(self.theory_var)) if self.theory_var else (
            math.nan)

    def mc_relative_se(self) -> float:
        """Monte-Carlo standard error of rmse / theory, relative (delta method on the MSE)."""
        n = len(self.squared)
        if n < 2:
            return math.nan
        mean = sum(self.squared) / n
        var = sum((x - mean) ** 2 for x in self.squared) / (n - 1)
        return math.sqrt(var / n) / (2 * mean) if mean else math.nan


def _draw(case: _Case, plan: ReleasePlan, counts: Sequence[int], sums: Sequence[int]) -> Release:
    # A measure with a clamped count (support hours, catalogue 2026.2) releases it too; its
    # accuracy is not measured here, so its true values do not matter: zeros.
    clamped = [0] * len(counts) if plan.share(VectorRole.CLAMPED) else None
    return release(plan, counts, sums, (), clamped)


def _run_case(case: _Case, exact: list[tuple[list[int], list[int]]], epsilon: str,
              reps: int) -> tuple[_Errors, _Errors]:
    query = case.validated(epsilon)
    plan = plan_release(query)
    scale = plan.fixed_point_scale
    n_cells = len(query.cells)
    pooled_c = [sum(e[0][i] for e in exact) for i in range(n_cells)]
    pooled_s = [sum(e[1][i] for e in exact) for i in range(n_cells)]
    if case.statistic is Statistic.COUNT:
        keep = list(range(n_cells))
        truth = [float(c) for c in pooled_c]
    else:
        keep = [i for i in range(n_cells) if pooled_c[i] >= MIN_TRUE_COUNT]
        truth = [pooled_s[i] / scale / pooled_c[i] if pooled_c[i] else math.nan
                 for i in range(n_cells)]
    federated = _Errors([], [], cells={query.cells[i][0]: pooled_c[i] for i in keep})
    central = _Errors([], [])
    for _ in range(reps):
        replies = []
        var_sum = var_count = 0.0
        for k, (counts, sums) in enumerate(exact):
            released = _draw(case, plan, counts, sums)
            var_count += released.count.variance if released.count else 0.0
            var_sum += released.sum.variance if released.sum else 0.0
            replies.append(_reply(f"n{k}", query, released))
        result = combine_replies(result_id="accuracy", query_id="accuracy", query=query,
                                 replies=replies, policy=_QUORUM, created_at=_CREATED_AT)
        pooled = _draw(case, plan, pooled_c, pooled_s)
        c_var_count = pooled.count.variance if pooled.count else 0.0
        c_var_sum = pooled.sum.variance if pooled.sum else 0.0
        for i in keep:
            federated.theory_var.append(_theory_var(case, scale, pooled_s[i], pooled_c[i],
                                                    var_sum, var_count))
            central.theory_var.append(_theory_var(case, scale, pooled_s[i], pooled_c[i],
                                                  c_var_sum, c_var_count))
            estimate = result.cells[i].raw_estimate  # before clipping: the unbiased one
            if math.isfinite(estimate):
                federated.squared.append((estimate - truth[i]) ** 2)
            else:
                federated.no_ratio += 1
            if case.statistic is Statistic.COUNT:
                assert pooled.count is not None
                central_estimate = float(pooled.count.values[i])
            else:
                assert pooled.count is not None and pooled.sum is not None
                noisy_c = pooled.count.values[i]
                central_estimate = (pooled.sum.values[i] / scale / noisy_c if noisy_c > 0
                                    else math.nan)
            if math.isfinite(central_estimate):
                central.squared.append((central_estimate - truth[i]) ** 2)
            else:
                central.no_ratio += 1
    return federated, central


def _verdict(ratio: float, standard_error: float) -> bool | None:
    """Within 5% of theory; outside it by more than two Monte-Carlo standard errors; or None
    when this many repetitions cannot tell."""
    off = abs(ratio - 1)
    if off <= TARGET_RELATIVE:
        return True
    if off - 2 * standard_error > TARGET_RELATIVE:
        return False
    return None


def run_accuracy(folders: Sequence[NodeFolder], tiers: Sequence[tuple[int, int]],
                 log: Callable[[str], None]) -> list[Row]:
    """``tiers``: (number of nodes, repetitions) pairs."""
    rows: list[Row] = []
    for n_nodes, reps in tiers:
        subset = folders[:n_nodes]
        for case in CASES:
            exact = _exact(subset, case)
            for epsilon in EPSILONS:
                federated, central = _run_case(case, exact, epsilon, reps)
                ratio = federated.rmse / federated.theory
                factor = federated.rmse / central.rmse
                se = federated.mc_relative_se() * ratio
                meets = _verdict(ratio, se)
                label = f"ε={epsilon}, {n_nodes} nodes"
                log(f"  {case.key} {label}: RMSE {federated.rmse:.3g} {case.unit} (theory "
                    f"{federated.theory:.3g}, ×{ratio:.3f} ± {se:.3f}), central "
                    f"{central.rmse:.3g} → federated/central {factor:.2f}")
                rows.append(Row(
                    "accuracy", f"{case.key} RMSE, federated ({case.unit})", label,
                    federated.rmse, case.unit, floor=federated.theory,
                    floor_name="theory, from the reported variances",
                    target=f"within {TARGET_RELATIVE:.0%} of theory", meets=meets,
                    extra={"statistic": case.key, "epsilon": float(epsilon), "nodes": n_nodes,
                           "repetitions": reps, "samples": len(federated.squared),
                           "ratio_standard_error": se,
                           "no_ratio": federated.no_ratio, "pooled_people": federated.cells,
                           "central_rmse": central.rmse, "central_theory": central.theory,
                           "central_no_ratio": central.no_ratio,
                           "federated_over_central": factor},
                ))
                rows.append(Row(
                    "accuracy", f"  {case.key}: federated ÷ central DP RMSE", label, factor, "×",
                    floor=math.sqrt(n_nodes), floor_name="√K",
                    extra={"central_rmse": central.rmse, "central_theory": central.theory},
                ))
    return rows
