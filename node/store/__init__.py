"""The store room: the organisation's encrypted SQLCipher file, its keys, schema and upkeep.

Everything that touches the file itself lives here and nowhere else: opening with a raw key or a
passphrase (``dbkey``, ``keys``), the schema and its forward-only migrations (``schema``), the
connection and its settings (``database``), backup, restore, rekey and check (``maintenance``),
and 0600 export files (``private_files``). This room imports no other room of node/: every other
room builds on it.
"""

from node.store.database import (
    PAGE_SIZE,
    Fingerprint,
    Store,
    StoreDamagedError,
    StoreError,
    WrongKeyError,
)
from node.store.dbkey import DatabaseKey, database_key
from node.store.keys import KeyError_, create_key_file, read_key, read_key_file
from node.store.maintenance import StoreSettings, backup, open_store, rekey, restore
from node.store.private_files import ExportExists, write_private

__all__ = [
    "PAGE_SIZE",
    "DatabaseKey",
    "ExportExists",
    "Fingerprint",
    "KeyError_",
    "Store",
    "StoreDamagedError",
    "StoreError",
    "StoreSettings",
    "WrongKeyError",
    "backup",
    "create_key_file",
    "database_key",
    "open_store",
    "read_key",
    "read_key_file",
    "rekey",
    "restore",
    "write_private",
]
