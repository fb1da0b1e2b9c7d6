"""koepel's privacy engine: the query model, OpenDP mechanisms, exact budgets, combination.

This package imports nothing from grpc, sqlcipher3 or the other koepel packages: node and
aggregator both build on it, and it can be reviewed on its own.
"""

from privacy.accounting import LossRule, LossUnit
from privacy.audit import AuditResult, Finding, LedgerExport
from privacy.budget import MICRO, Cap, format_micro, parse_epsilon
from privacy.catalogue import (
    Accounting,
    Catalogue,
    Dimension,
    Measure,
    Statistic,
    default_catalogue,
    load_catalogue,
    parse_catalogue,
)
from privacy.combine import (
    Estimate,
    Feasible,
    NodeVector,
    QuantileEstimate,
    combine_vectors,
    quantile,
    ratio,
    ratio_reliable,
    reliability_note,
)
from privacy.errors import (
    BudgetExhaustedError,
    CatalogueError,
    CatalogueVersionError,
    InvalidQueryError,
    KoepelError,
    PermissionDeniedError,
    QueryConflictError,
)
from privacy.intervals import NoiseShape, NoiseTerm, noise_half_width, noise_interval
from privacy.mechanisms import (
    NoiseKind,
    NoisyVector,
    Release,
    ReleasePlan,
    VectorPlan,
    VectorRole,
    plan_release,
    release,
    release_vector,
)
from privacy.query import Period, QuerySpec, ValidatedQuery, parse_period, validate
from privacy.receipts import LedgerRecord, LedgerStatement, Receipt, SignedReceipt

__all__ = [
    "MICRO",
    "Accounting",
    "AuditResult",
    "BudgetExhaustedError",
    "Cap",
    "Catalogue",
    "CatalogueError",
    "CatalogueVersionError",
    "Dimension",
    "Estimate",
    "Feasible",
    "Finding",
    "InvalidQueryError",
    "KoepelError",
    "LedgerExport",
    "LedgerRecord",
    "LedgerStatement",
    "LossRule",
    "LossUnit",
    "Measure",
    "NodeVector",
    "NoiseKind",
    "NoiseShape",
    "NoiseTerm",
    "NoisyVector",
    "Period",
    "PermissionDeniedError",
    "QuantileEstimate",
    "QueryConflictError",
    "QuerySpec",
    "Receipt",
    "Release",
    "ReleasePlan",
    "SignedReceipt",
    "Statistic",
    "ValidatedQuery",
    "VectorPlan",
    "VectorRole",
    "combine_vectors",
    "default_catalogue",
    "format_micro",
    "load_catalogue",
    "noise_half_width",
    "noise_interval",
    "parse_catalogue",
    "parse_epsilon",
    "parse_period",
    "plan_release",
    "quantile",
    "ratio",
    "ratio_reliable",
    "release",
    "release_vector",
    "reliability_note",
    "validate",
]
