"""koepel node: an organisation's encrypted records and the service that answers DP queries.

The public face: open a node from its configuration, import records, answer queries (the
engine is usable without a server), and serve it over gRPC.
"""

from node.answers import DryRun
from node.budget import BudgetCaps, BudgetPolicy
from node.catalogue_diff import CatalogueDiff, diff_catalogues
from node.config import ConfigError, NodeConfig, NodeLimits, load_node_config, render_node_config
from node.dbkey import DatabaseKey, database_key
from node.importer import ImportFailed, ImportSummary, import_files
from node.keys import KeyError_, create_key_file, read_key, read_key_file
from node.ledger import Ledger, LedgerEntry, LedgerUnitError, verify_chain
from node.maintenance import backup, open_store, rekey, restore
from node.mapping import MappingError, ToolMapping, load_mapping
from node.metrics import NodeMetrics
from node.pacing import ReplyPacer
from node.policy import AccessPolicy
from node.queries import Answer, BudgetLine, QueryEngine
from node.report import LocalReport, build_report
from node.server import NodeRuntime, create_server, open_node, serve
from node.signing import Signer, create_signing_key, verify_signature
from node.store import Store, StoreDamagedError, StoreError, WrongKeyError
from node.vocabulary import Vocabulary

__all__ = [
    "AccessPolicy",
    "Answer",
    "BudgetCaps",
    "BudgetLine",
    "BudgetPolicy",
    "CatalogueDiff",
    "ConfigError",
    "DatabaseKey",
    "DryRun",
    "ImportFailed",
    "ImportSummary",
    "KeyError_",
    "Ledger",
    "LedgerEntry",
    "LedgerUnitError",
    "LocalReport",
    "MappingError",
    "NodeConfig",
    "NodeLimits",
    "NodeMetrics",
    "NodeRuntime",
    "QueryEngine",
    "ReplyPacer",
    "Signer",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "ToolMapping",
    "Vocabulary",
    "WrongKeyError",
    "backup",
    "build_report",
    "create_key_file",
    "create_server",
    "create_signing_key",
    "database_key",
    "diff_catalogues",
    "import_files",
    "load_mapping",
    "load_node_config",
    "open_node",
    "open_store",
    "read_key",
    "read_key_file",
    "rekey",
    "render_node_config",
    "restore",
    "serve",
    "verify_chain",
    "verify_signature",
]
