"""Logging set-up for the long-running commands: one JSON object a line, or a human format.

Logging is configured here, at the entry point, and nowhere else: the packages only log through
the standard library with a constant message and ``extra`` fields (``query_id``, ``node_id``,
``outcome``, …). The aggregator sends the same query id to every node, so its lines and the
nodes' lines for one sector query share a ``query_id``.

What never reaches a log line: record values, keys, SQL, and exception text or tracebacks
(which can quote SQL or data); an exception is logged by its type name only.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["LOG_FORMATS", "HumanFormatter", "JsonFormatter", "setup_logging"]

LOG_FORMATS = ("auto", "json", "human")

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName",
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's ``extra`` fields, as JSON scalars."""
    fields: dict[str, Any] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        fields[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
    if record.exc_info and record.exc_info[0] is not None:
        fields.setdefault("error_type", record.exc_info[0].__name__)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the static fields and the extras."""

    def __init__(self, static: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self._static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": _timestamp(record), "level": record.levelname.lower(),
                "logger": record.name, "msg": record.getMessage(), **self._static}
        line.update(_fields(record))
        return json.dumps(line, ensure_ascii=False, default=str)


def _plain(value: object) -> str:
    """A value as it reads best, quoted when it holds spaces or control characters (so that
    a caller-chosen query id cannot forge a second log line)."""
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text.isprintable() or " " in text else text


class HumanFormatter(logging.Formatter):
    """``time LEVEL logger message key=value …`` for a person at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={_plain(v)}" for k, v in _fields(record).items()
                          if v not in ("", None))
        text = f"{when} {record.levelname:<7} {record.name} {record.getMessage()}"
        return f"{text}  {extras}" if extras else text


def setup_logging(fmt: str = "auto", level: str = "info", *,
                  static: Mapping[str, str] | None = None, stream: IO[str] | None = None) -> None:
    """Route every logger to ``stream`` (stderr) in ``fmt``; ``auto`` is human on a terminal.

    ``static`` fields (the service, the node id) are added to every JSON line so that lines of
    many processes can be told apart once collected in one place.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "human" if out.isatty() else "json"
    handler = logging.StreamHandler(out)
    handler.setFormatter(HumanFormatter() if fmt == "human" else JsonFormatter(static))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
