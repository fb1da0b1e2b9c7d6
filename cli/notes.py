"""The aggregator's notes on a cell, in the reader's language.

Why a figure is not published (privacy/combine.py) and how clamping moved it
(aggregator/combination.py) reach the CLI as English text inside the result: the wire stays
English, so that a result reads the same to every client and in the history. Those notes come
from a handful of fixed templates; each is matched here and rewritten through the ``cli``
catalogue, its figures kept as they came. A note no pattern knows is shown as it came, in
English (tests/test_cli_notes.py builds every template with the real functions, so a changed
wording fails there rather than slipping through untranslated).
"""

from __future__ import annotations

import re

from cli.lang import N_, _

__all__ = ["translate_note"]

_NUMBER = r"[\d,.]+"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid) for pattern, msgid in (
        (r"no estimate: (?P<reason>.+)", N_("no estimate: {reason}")),
        (r"no node answered", N_("no node answered")),
        (r"the noisy denominator is not positive", N_("the noisy denominator is not positive")),
        (r"the 95% interval includes 0: relative standard error unbounded",
         N_("the 95% interval includes 0: relative standard error unbounded")),
        (r"the numerator's interval includes 0: relative standard error unbounded",
         N_("the numerator's interval includes 0: relative standard error unbounded")),
        (rf"fewer than (?P<people>{_NUMBER}) people behind the ratio cannot be ruled out",
         N_("fewer than {people} people behind the ratio cannot be ruled out")),
        (r"relative standard error may be above (?P<limit>\d+%) \(up to (?P<rse>\S+) within "
         r"the 95% interval\)",
         N_("relative standard error may be above {limit} (up to {rse} within the 95% "
            "interval)")),
        (r"relative standard error may be above (?P<limit>\d+%) \(up to (?P<rse>\S+) within "
         r"the intervals of sum and count\)",
         N_("relative standard error may be above {limit} (up to {rse} within the intervals of "
            "sum and count)")),
        (rf"about (?P<people>{_NUMBER}) people (?P<interval>\[\S+, \S+\]) had a value beyond "
         r"(?P<bounds>\[\S+, \S+\]), counted at the nearest bound",
         N_("about {people} people {interval} had a value beyond {bounds}, counted at the "
            "nearest bound")),
        (r"(?P<share>\d+%) of the people (?P<interval>\[\S+, \S+\]) had a value beyond "
         r"(?P<bounds>\[\S+, \S+\]), counted at the nearest bound: the figure is of the "
         r"clamped values",
         N_("{share} of the people {interval} had a value beyond {bounds}, counted at the "
            "nearest bound: the figure is of the clamped values")),
    ))


def translate_note(note: str) -> str:
    """``note`` in the chosen language (as it came when no template matches)."""
    for pattern, msgid in _PATTERNS:
        found = pattern.fullmatch(note)
        if found is None:
            continue
        parts = found.groupdict()
        if "reason" in parts:
            parts["reason"] = translate_note(parts["reason"])
        if parts.get("rse") == "unbounded":
            parts["rse"] = _("unbounded")
        return _(msgid).format(**parts)
    return note
