"""Staff accounts of the web app: who may sign in, with which role and language.

Accounts live in the node's encrypted store (table ``web_users``, schema v7). A password is
kept only as its Argon2id hash (argon2-cffi's defaults: its own random salt, the cost in the
PHC string, so that stronger parameters later rehash on the next sign-in). An account is never
deleted, only disabled, so that the audit log's "who" keeps naming someone.

Roles: a **job coach** records and follows people; a **manager** also sees the reminders, the
organisation's report and what is shared with whom; an **admin** is a manager who also looks
after accounts (on the command line: `koepel node user add|reset|disable`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from node.store.database import Store

__all__ = [
    "LANGUAGES",
    "ROLES",
    "Account",
    "AccountError",
    "add_account",
    "authenticate",
    "check_password",
    "get_account",
    "list_accounts",
    "reset_password",
    "set_disabled",
    "set_language",
]

ROLES = ("job_coach", "manager", "admin")
LANGUAGES = ("fr", "nl", "en")
MIN_PASSWORD = 12
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
_HASHER = PasswordHasher()
# Verified when the account does not exist, so that an unknown name costs the same time as a
# wrong password (no way to tell which names exist from the response time).
_DUMMY_HASH = _HASHER.hash("koepel: no such account, this hash only spends the same time")


class AccountError(ValueError):
    """An account cannot be created or changed; the message says why (never the password)."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    language: str
    disabled: bool
    created_at: str
    password_changed_at: str

    @property
    def is_manager(self) -> bool:
        return self.role in ("manager", "admin")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_password(password: str) -> None:
    """Refuse a password too short or too plain to protect people's records."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("a password has at most 1024 characters")
    if len(set(password)) < 5:
        raise AccountError("a password needs more than four different characters")


def _check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise AccountError("a user name is 2 to 40 lower-case letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    return username


_COLUMNS = "username, role, language, disabled, created_at, password_changed_at"


def _account(row: tuple[object, ...]) -> Account:
    return Account(str(row[0]), str(row[1]), str(row[2]), bool(row[3]), str(row[4]),
                   str(row[5]))


def add_account(store: Store, username: str, password: str, *, role: str,
                language: str = "fr") -> Account:
    _check_username(username)
    if role not in ROLES:
        raise AccountError(f"a role is one of {', '.join(ROLES)}")
    if language not in LANGUAGES:
        raise AccountError(f"a language is one of {', '.join(LANGUAGES)}")
    check_password(password)
    digest = _HASHER.hash(password)
    now = _now()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM web_users WHERE username = ?", (username,)).fetchone():
            raise AccountError(f"an account named {username} already exists (disabled accounts "
                               "are kept; reset its password to use it again)")
        conn.execute(f"INSERT INTO web_users ({_COLUMNS}, password_hash) "
                     "VALUES (?, ?, ?, 0, ?, ?, ?)",
                     (username, role, language, now, now, digest))
    return Account(username, role, language, False, now, now)


def get_account(store: Store, username: str) -> Account | None:
    with store.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM web_users WHERE username = ?",
                           (username,)).fetchone()
    return _account(row) if row else None


def list_accounts(store: Store) -> list[Account]:
    with store.reading() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM web_users ORDER BY username").fetchall()
    return [_account(r) for r in rows]


def _require(conn: Any, username: str) -> None:
    found = conn.execute("SELECT 1 FROM web_users WHERE username = ?",
                         (username,)).fetchone()
    if not found:
        raise AccountError(f"no account named {username}")


def reset_password(store: Store, username: str, password: str) -> None:
    """A new password; the account is enabled again and its open sessions end."""
    check_password(password)
    digest = _HASHER.hash(password)
    with store.transaction() as conn:
        _require(conn, username)
        conn.execute("UPDATE web_users SET password_hash = ?, disabled = 0, "
                     "password_changed_at = ? WHERE username = ?", (digest, _now(), username))


def set_disabled(store: Store, username: str, disabled: bool = True) -> None:
    with store.transaction() as conn:
        _require(conn, username)
        conn.execute("UPDATE web_users SET disabled = ? WHERE username = ?",
                     (int(disabled), username))


def set_language(store: Store, username: str, language: str) -> None:
    if language not in LANGUAGES:
        raise AccountError(f"a language is one of {', '.join(LANGUAGES)}")
    with store.transaction() as conn:
        _require(conn, username)
        conn.execute("UPDATE web_users SET language = ? WHERE username = ?",
                     (language, username))


def authenticate(store: Store, username: str, password: str) -> Account | None:
    """The account if the password is right and the account enabled; None otherwise.

    Always spends one Argon2 verification, whether or not the name exists.
    """
    with store.reading() as conn:
        row = conn.execute(f"SELECT {_COLUMNS}, password_hash FROM web_users "
                           "WHERE username = ?", (username,)).fetchone()
    digest = str(row[6]) if row else _DUMMY_HASH
    try:
        _HASHER.verify(digest, password[:1024])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row[3]:
        return None
    if _HASHER.check_needs_rehash(digest):
        with store.transaction() as conn:
            conn.execute("UPDATE web_users SET password_hash = ? WHERE username = ?",
                         (_HASHER.hash(password), username))
    return _account(row[:6])
