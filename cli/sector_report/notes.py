"""The aggregator's reasons (why a cell is not publishable, why a quorum failed) in the
reader's language.

Those reasons are written in English by ``privacy.combine`` and ``aggregator.quorum`` and kept
with each stored result; the report recognises the known ones and translates them with their
numbers, and shows any other as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from i18n import N_

__all__ = ["translate_note"]

_NOTES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), msgid) for
                                                          pattern, msgid in (
    (r"the 95% interval includes 0: relative standard error unbounded",
     N_("the 95%% interval includes 0: relative standard error unbounded")),
    (r"the numerator's interval includes 0: relative standard error unbounded",
     N_("the numerator's interval includes 0: relative standard error unbounded")),
    (r"relative standard error may be above (?P<limit>\d+%) \(up to (?P<rse>\S+) within the "
     r"95% interval\)",
     N_("relative standard error may be above %(limit)s (up to %(rse)s within the 95%% "
        "interval)")),
    (r"relative standard error may be above (?P<limit>\d+%) \(up to (?P<rse>\S+) within the "
     r"intervals of sum and count\)",
     N_("relative standard error may be above %(limit)s (up to %(rse)s within the intervals "
        "of sum and count)")),
    (r"no estimate: the noisy denominator is not positive",
     N_("no estimate: the noisy denominator is not positive")),
    (r"no estimate: no node answered", N_("no estimate: no node answered")),
    (r"fewer than (?P<n>\d+) people behind the ratio cannot be ruled out",
     N_("fewer than %(n)s people behind the ratio cannot be ruled out")),
    (r"(?P<answered>\d+) of (?P<total>\d+) nodes answered \((?P<share>\d+%)\), below the "
     r"quorum of (?P<quorum>\d+%) of nodes",
     N_("%(answered)s of %(total)s organisations answered (%(share)s), below the quorum of "
        "%(quorum)s of organisations")),
))


def translate_note(gettext: Callable[[str], str], note: str) -> str:
    """``note`` in the language of ``gettext`` when it is a known reason, else as it is."""
    for pattern, msgid in _NOTES:
        found = pattern.fullmatch(note)
        if found is not None:
            return gettext(msgid) % found.groupdict()
    return note
