"""click's own words, as msgids of the ``cli`` catalogue.

click writes "Usage:", "Options:", "Error: …" and its usage errors through the ``_`` it
imported from ``gettext``; cli/lang.py points that ``_`` at the ``cli`` catalogue, and this
list puts click's msgids into it (a msgid click uses that is not listed here stays English).
Never imported: only read by the catalogue extraction.
"""

from __future__ import annotations

from cli.lang import N_, ngettext

CLICK_WORDS = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing command."),
    N_("Missing {param_type}"),
    N_("Missing parameter: {param_name}"),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Invalid value: {message}"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is a file."),
    N_("file"),
    N_("directory"),
    N_("path"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("Aborted!"),
    N_("Repeat for confirmation"),
    N_("Error: The two entered values do not match."),
    N_("Option {name!r} does not take a value."),
)

CLICK_PLURALS = (
    ngettext("Got unexpected extra argument ({args})",
             "Got unexpected extra arguments ({args})", 1),
    ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", 1),
    ngettext("Option {name!r} requires an argument.",
             "Option {name!r} requires {nargs} arguments.", 1),
    ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1),
)
