"""The ``cli`` domain's extractor: Babel's Python extractor, plus the commands' docstrings.

click shows a command's docstring as its help; cli/lang.py translates it when the command is
looked up. The docstring is its own msgid (cleaned as click cleans it, up to a ``\\f``), so
writing a command's help stays writing its docstring. Used by ``python -m i18n.catalogues
cli`` and the catalogue test only: nothing here runs when ``koepel`` does.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

__all__ = ["command_docstrings", "extract"]

_DECORATORS = ("command", "group")


def _is_command(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name in _DECORATORS


def command_docstrings(source: str) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every click command's or group's docstring in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                text = inspect.cleandoc(docstring).partition("\f")[0].strip()
                yield node.body[0].lineno, text


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
            options: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    data = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[arg-type]
    for lineno, text in command_docstrings(data.decode("utf-8")):
        yield lineno, "_", text, []
