"""koepel node: an organisation's encrypted records and the service that answers DP queries.

The public face: open a node from its configuration, import records, answer queries (the
engine is usable without a server), and serve it over gRPC; and the organisation's own tool
(one person's record, the local report and its HTML page, the Walloon forms, transfer records,
the audit log of identity-level exports, the sharing decisions).
"""

from node.config import ConfigError, NodeConfig, NodeLimits, load_node_config, render_node_config
from node.engine.answers import DryRun
from node.engine.budget import BudgetCaps, BudgetPolicy
from node.engine.catalogue_diff import CatalogueDiff, diff_catalogues
from node.engine.ledger import Ledger, LedgerEntry, LedgerUnitError, verify_chain
from node.engine.queries import Answer, BudgetLine, QueryEngine
from node.engine.signing import Signer, create_signing_key
from node.form_rules import FormRules
from node.imports.importer import ImportFailed, ImportSummary, import_files
from node.imports.mapping import MappingError, ToolMapping, load_mapping
from node.imports.vocabulary import Vocabulary
from node.organisation.audit_log import AuditEntry, audit_entries, record_export
from node.organisation.forms import EiForms, build_forms
from node.organisation.person import PersonNotFound, PersonRecord, person_record
from node.organisation.report import LocalReport, build_report
from node.organisation.report_html import render_html
from node.organisation.sharing import SharingDecisions, sharing_decisions
from node.organisation.transfer import TRANSFER_FORMAT, build_transfer
from node.policy import AccessPolicy
from node.service.metrics import NodeMetrics
from node.service.pacing import ReplyPacer
from node.service.server import NodeRuntime, create_server, open_node, serve
from node.store.database import Store, StoreDamagedError, StoreError, WrongKeyError
from node.store.dbkey import DatabaseKey, database_key
from node.store.keys import KeyError_, create_key_file, read_key, read_key_file
from node.store.maintenance import backup, open_store, rekey, restore

__all__ = [
    "TRANSFER_FORMAT",
    "AccessPolicy",
    "Answer",
    "AuditEntry",
    "BudgetCaps",
    "BudgetLine",
    "BudgetPolicy",
    "CatalogueDiff",
    "ConfigError",
    "DatabaseKey",
    "DryRun",
    "EiForms",
    "FormRules",
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
    "PersonNotFound",
    "PersonRecord",
    "QueryEngine",
    "ReplyPacer",
    "SharingDecisions",
    "Signer",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "ToolMapping",
    "Vocabulary",
    "WrongKeyError",
    "audit_entries",
    "backup",
    "build_forms",
    "build_report",
    "build_transfer",
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
    "person_record",
    "read_key",
    "read_key_file",
    "record_export",
    "rekey",
    "render_html",
    "render_node_config",
    "restore",
    "serve",
    "sharing_decisions",
    "verify_chain",
]
