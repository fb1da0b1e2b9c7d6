"""The engine room: a catalogue query in, a charged, signed, differentially private answer out.

The catalogue compiler (measure → parameterised SQL, ``compiler``), the engine that runs it and
applies OpenDP to the cell vector (``queries``), what an answer holds (``answers``), the caps
(``budget``), the hash-chained ledger charged before an answer leaves (``ledger``) and the
Ed25519 signatures (``signing``); ``catalogue_diff`` compares two catalogue versions. It is
usable without a server, and never imports the service or organisation rooms.
"""

from node.engine.answers import Answer, BudgetLine, DryRun
from node.engine.budget import BudgetCaps, BudgetPolicy
from node.engine.catalogue_diff import CatalogueDiff, diff_catalogues
from node.engine.compiler import CompiledQuery, compile_query
from node.engine.ledger import Ledger, LedgerEntry, LedgerUnitError, verify_chain
from node.engine.queries import QueryEngine
from node.engine.signing import Signer, create_signing_key

__all__ = [
    "Answer",
    "BudgetCaps",
    "BudgetLine",
    "BudgetPolicy",
    "CatalogueDiff",
    "CompiledQuery",
    "DryRun",
    "Ledger",
    "LedgerEntry",
    "LedgerUnitError",
    "QueryEngine",
    "Signer",
    "compile_query",
    "create_signing_key",
    "diff_catalogues",
    "verify_chain",
]
