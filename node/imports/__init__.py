"""The imports room: records from an HR tool's CSV/XLSX export into the store, all or nothing.

Readers (``sources``), per-tool column mappings (``mapping``), the organisation's vocabulary
mapped to the federation's codes (``vocabulary``), the record definitions (``records``), row
validation shared by every way records come in (``validation``), pseudonyms (``pseudonyms``)
and the importer itself (``importer``). It builds on the store room only.
"""

from node.imports.importer import ImportFailed, ImportSummary, import_files, import_rows
from node.imports.mapping import MappingError, ToolMapping, load_mapping
from node.imports.pseudonyms import Pseudonymiser
from node.imports.vocabulary import Vocabulary, VocabularyError, parse_vocabulary

__all__ = [
    "ImportFailed",
    "ImportSummary",
    "MappingError",
    "Pseudonymiser",
    "ToolMapping",
    "Vocabulary",
    "VocabularyError",
    "import_files",
    "import_rows",
    "load_mapping",
    "parse_vocabulary",
]
