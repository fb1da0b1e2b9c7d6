"""koepel aggregator: asks a federation's nodes and combines DP answers into sector figures."""

from aggregator.fanout import NodeOutcome, NodeReply, fan_out
from aggregator.federated import Aggregator, NodeState
from aggregator.federation import (
    FederationConfig,
    FederationError,
    NodeEntry,
    load_federation,
    render_federation,
)
from aggregator.history import HistoryStore, SqliteHistory
from aggregator.metrics import AggregatorMetrics
from aggregator.receipts import NodeFlag, ReceiptBook, ReceiptCheck
from aggregator.results import CellResult, NodeReport, SectorResult, combine_replies
from aggregator.serde import result_to_proto, spec_from_proto, spec_to_proto
from aggregator.server import build_aggregator, create_server, serve
from aggregator.transport import GrpcTransport, NodeQueryError, NodeTransport

__all__ = [
    "Aggregator",
    "AggregatorMetrics",
    "CellResult",
    "FederationConfig",
    "FederationError",
    "GrpcTransport",
    "HistoryStore",
    "NodeEntry",
    "NodeFlag",
    "NodeOutcome",
    "NodeQueryError",
    "NodeReply",
    "NodeReport",
    "NodeState",
    "NodeTransport",
    "ReceiptBook",
    "ReceiptCheck",
    "SectorResult",
    "SqliteHistory",
    "build_aggregator",
    "combine_replies",
    "create_server",
    "fan_out",
    "load_federation",
    "render_federation",
    "result_to_proto",
    "serve",
    "spec_from_proto",
    "spec_to_proto",
]
