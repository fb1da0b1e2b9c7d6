"""koepel aggregator: asks a federation's nodes and combines DP answers into sector figures."""

from aggregator.budgets import BudgetInfo
from aggregator.combination import COMBINERS, Combined, combine_replies, feasible_range
from aggregator.fanout import NodeOutcome, NodeReply, RetryPolicy, fan_out
from aggregator.federated import Aggregator, NodeState
from aggregator.federation import (
    FederationConfig,
    FederationError,
    NodeEntry,
    load_federation,
    render_federation,
)
from aggregator.history import HistoryConflictError, HistoryStore, MemoryHistory, SqliteHistory
from aggregator.indicators import REPORTS, SECTIONS, Indicator, report_queries
from aggregator.metrics import AggregatorMetrics
from aggregator.planning import NodePlan, QueryPlan, merge_plans
from aggregator.quorum import QuorumPolicy, QuorumStatus, evaluate_quorum
from aggregator.receipts import NodeFlag, ReceiptBook, ReceiptCheck
from aggregator.results import (
    CellResult,
    NodeReceipt,
    NodeReport,
    QuantileResult,
    SectorResult,
)
from aggregator.serde import (
    node_states_from_proto,
    node_states_to_proto,
    plan_from_proto,
    plan_to_proto,
    result_from_proto,
    result_to_proto,
    spec_from_proto,
    spec_to_proto,
)
from aggregator.server import build_aggregator, create_server, serve
from aggregator.transport import GrpcTransport, NodeQueryError, NodeTransport

__all__ = [
    "COMBINERS",
    "REPORTS",
    "SECTIONS",
    "Aggregator",
    "AggregatorMetrics",
    "BudgetInfo",
    "CellResult",
    "Combined",
    "FederationConfig",
    "FederationError",
    "GrpcTransport",
    "HistoryConflictError",
    "HistoryStore",
    "Indicator",
    "MemoryHistory",
    "NodeEntry",
    "NodeFlag",
    "NodeOutcome",
    "NodePlan",
    "NodeQueryError",
    "NodeReceipt",
    "NodeReply",
    "NodeReport",
    "NodeState",
    "NodeTransport",
    "QuantileResult",
    "QueryPlan",
    "QuorumPolicy",
    "QuorumStatus",
    "ReceiptBook",
    "ReceiptCheck",
    "RetryPolicy",
    "SectorResult",
    "SqliteHistory",
    "build_aggregator",
    "combine_replies",
    "create_server",
    "evaluate_quorum",
    "fan_out",
    "feasible_range",
    "load_federation",
    "merge_plans",
    "node_states_from_proto",
    "node_states_to_proto",
    "plan_from_proto",
    "plan_to_proto",
    "render_federation",
    "report_queries",
    "result_from_proto",
    "result_to_proto",
    "serve",
    "spec_from_proto",
    "spec_to_proto",
]
