"""The command line's language: ``--lang``, else ``KOEPEL_LANG``, else the locale, else English.

Every text a person reads from ``koepel`` is an English msgid of the ``cli`` gettext domain
(cli/translations/{fr,nl}/LC_MESSAGES/cli.po, compiled to ``.mo``; ``python -m i18n.catalogues
cli`` keeps them in step with the code). Three kinds of text, three moments:

- messages, table headers and errors are translated where they are made, with ``_()``;
- click help texts are written once, at import, in English (``help=N_(...)`` and the
  commands' docstrings); :func:`localise` puts them into the chosen language when a command
  is looked up, and keeps the English msgid so that the next run (or the next test in the
  same process) can choose another language;
- click's own words (``Usage:``, ``Error:``, ``Missing option`` …) go through the same
  catalogue: click calls the module-level ``_`` it imported from ``gettext``, which we point
  at ours (cli/click_words.py lists those msgids for the catalogue).

Only the standard library's gettext loads here: Babel, for numbers and dates, loads when a
table is rendered (``koepel --help`` stays light, tests/test_cli_startup.py).
"""

from __future__ import annotations

import inspect
import sys

import click

from i18n.locale import LANGUAGES, N_, Locale, choose_language, locale_for

__all__ = ["LANGUAGES", "N_", "_", "choose", "language", "locale", "localise", "micro",
           "ngettext"]

_state: dict[str, str | None] = {"language": None}
_ORIGINALS = "_koepel_msgids"  # the English msgids of a command's or parameter's texts


def choose(explicit: str | None) -> str:
    """Fix the language of this run (``explicit`` is ``--lang``'s value, if given)."""
    chosen = choose_language(explicit)
    _state["language"] = chosen
    return chosen


def language() -> str:
    chosen = _state["language"]
    return chosen if chosen is not None else choose(None)


def locale() -> Locale:
    """The chosen language's catalogue and its number and date formats."""
    return locale_for(language(), "cli")


def _(message: str) -> str:
    """``message`` in the chosen language (itself where the catalogue has no translation)."""
    return locale().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return locale().ngettext(singular, plural, n)


def micro(value_micro: int) -> str:
    """A privacy loss held in millionths (ε, ρ), written as the chosen language writes numbers:
    0.25 · 0,25."""
    from decimal import Decimal

    exact = Decimal(value_micro).scaleb(-6)  # Babel formats a Decimal exactly
    return locale().number(exact, 6).replace("\u202f", " ")  # type: ignore[arg-type]


def _translated(text: str) -> str:
    found = _(text)
    if found != text:
        return found
    cleaned = inspect.cleandoc(text).partition("\f")[0].strip()
    return _(cleaned) if cleaned else text


def _localise_texts(item: object, names: tuple[str, ...]) -> None:
    originals: dict[str, object] = item.__dict__.setdefault(
        _ORIGINALS, {name: getattr(item, name, None) for name in names})
    for name, original in originals.items():
        if isinstance(original, str) and original:
            setattr(item, name, _translated(original))


def localise(command: click.Command) -> click.Command:
    """Put ``command``'s help texts (and its subcommands', its options' and its prompts') into
    the chosen language; the English msgids are kept, so this may run again for another one."""
    _localise_texts(command, ("help", "short_help", "epilog"))
    for param in command.params:
        _localise_texts(param, ("help", "prompt"))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            localise(sub)
    return command


def _click_speaks_ours() -> None:
    """Point click's own ``_``/``ngettext`` at the chosen language's catalogue."""
    for name in ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui",
                 "utils"):
        module = sys.modules.get(f"click.{name}")
        if module is None:
            continue
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]


_click_speaks_ours()
