"""The names job coaches know people by: kept for the screen, and nowhere else.

The node stores people under pseudonyms; a job coach looks for "Fatima", not for a 32-digit
code. A person's name is therefore kept — only if staff enter it — in its own table of the
encrypted store (``person_names``, schema v10), with a search key (lower case, accents and
spacing folded) for the people list's search. It is read by this module alone, for the web
app's people list, person page and reminders. The query engine, the organisation report, the
regional forms, the transfer file (``koepel-transfer/1`` has no field for it), the audit log
(which says a name was changed, never which), the metrics and everything that goes to the
federation never read it (docs/organisation.md, "Names on screen"; tests/test_web_names.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from node.store.database import Store

__all__ = ["MAX_NAME", "NameRefused", "check_name", "name_of", "names_of", "search_key",
           "set_name"]

MAX_NAME = 100


class NameRefused(ValueError):
    """The name given is not one the app keeps; the message (English) never repeats it."""


def search_key(text: str) -> str:
    """``text`` folded for searching: lower case, no accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def check_name(text: str) -> str:
    """The name as kept (spacing collapsed), or :class:`NameRefused`; "" means no name."""
    name = " ".join(text.split())
    if len(name) > MAX_NAME:
        raise NameRefused(f"a name has at most {MAX_NAME} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise NameRefused("a name holds no control characters")
    return name


def set_name(store: Store, pid: str, text: str) -> None:
    """Keep (or, with an empty text, forget) the name of the person stored under ``pid``."""
    name = check_name(text)
    with store.transaction() as conn:
        if not name:
            conn.execute("DELETE FROM person_names WHERE pid = ?", (pid,))
            return
        conn.execute("INSERT INTO person_names (pid, display_name, search_key) "
                     "VALUES (?, ?, ?) ON CONFLICT (pid) DO UPDATE SET "
                     "display_name = excluded.display_name, search_key = excluded.search_key",
                     (pid, name, search_key(name)))


def name_of(store: Store, pid: str) -> str:
    """The person's name, or "" if none was entered."""
    return names_of(store, (pid,)).get(pid, "")


def names_of(store: Store, pids: Iterable[str]) -> dict[str, str]:
    """The names of those of ``pids`` who have one (one query, at most a page of people)."""
    wanted = list(dict.fromkeys(pids))
    if not wanted:
        return {}
    found: dict[str, str] = {}
    with store.reading() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update((str(p), str(n)) for p, n in conn.execute(
                f"SELECT pid, display_name FROM person_names WHERE pid IN ({marks})", chunk))
    return found
