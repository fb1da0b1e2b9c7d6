"""koepel node: an organisation's encrypted records and the service that answers DP queries.

The public face: open a node from its configuration, import records, answer queries (the
engine is usable without a server), and serve it over gRPC.
"""

from node.config import ConfigError, NodeConfig, load_node_config, render_node_config
from node.dbkey import DatabaseKey, database_key
from node.importer import ImportFailed, ImportSummary, import_files
from node.keys import KeyError_, create_key_file, read_key, read_key_file
from node.ledger import Ledger, LedgerEntry, verify_chain
from node.queries import Answer, BudgetLine, QueryEngine
from node.server import NodeRuntime, create_server, open_node, serve
from node.store import Store, StoreDamagedError, StoreError, WrongKeyError
from node.vocabulary import Vocabulary

__all__ = [
    "Answer",
    "BudgetLine",
    "ConfigError",
    "DatabaseKey",
    "ImportFailed",
    "ImportSummary",
    "KeyError_",
    "Ledger",
    "LedgerEntry",
    "NodeConfig",
    "NodeRuntime",
    "QueryEngine",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "Vocabulary",
    "WrongKeyError",
    "create_key_file",
    "create_server",
    "database_key",
    "import_files",
    "load_node_config",
    "open_node",
    "read_key",
    "read_key_file",
    "render_node_config",
    "serve",
    "verify_chain",
]
