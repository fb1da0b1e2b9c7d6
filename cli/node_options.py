"""What every `koepel node …` command shares: --config, the secret prompts, sealed exports.

Its own module so that the command modules (node, import, store, budget, organisation) all
build on it and none imports another to borrow a helper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.errors import EXIT, KoepelCliError
from cli.lang import N_, _, ngettext
from node.store.dbkey import check_passphrase
from node.store.sealing import SEALED_SUFFIX, parse_recipients, seal

__all__ = [
    "CONFIG_OPTION",
    "ExportSealing",
    "ask_new_passphrase",
    "ask_secret",
    "export_options",
    "export_sealing",
]

log = logging.getLogger("koepel.cli")

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=Path("node.toml"),
    show_default=True, help=N_("The node's configuration file."),
)


def ask_secret(label: str) -> str:
    """Ask for a passphrase on the terminal (hidden), never from the command line.

    ``label`` may come from the node (node/store/dbkey.py asks for "Database passphrase"): an
    English msgid, translated here when the catalogue knows it.
    """
    return str(click.prompt(_(label), hide_input=True, err=True))


def ask_new_passphrase(label: str | None = None) -> str:
    """Ask twice for a new passphrase and refuse it if it is too weak."""
    text = str(click.prompt(label or _("New database passphrase"), hide_input=True,
                            confirmation_prompt=True, err=True))
    check_passphrase(text)
    return text


def export_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--encrypt-to RECIPIENT`` (repeatable) and ``--plaintext``, for every export command."""
    command = click.option(
        "--plaintext", is_flag=True,
        help=N_("Write the export unencrypted (a warning is shown and logged). Only for a file "
                "that never leaves this machine's own encrypted disk."))(command)
    return click.option(
        "--encrypt-to", "encrypt_to", multiple=True, metavar="RECIPIENT",
        help=N_("Seal the export to this age public key (age1…, from `koepel keygen`); "
                "repeatable. Default: the recipients in node.toml's [exports] section."))(command)


@dataclass(frozen=True)
class ExportSealing:
    """How one export is written: sealed to ``recipients``, or plaintext when there are none."""

    recipients: tuple[str, ...]

    @property
    def mode(self) -> str:
        return "age" if self.recipients else "plaintext"

    def path_for(self, path: Path) -> Path:
        """Sealed files carry the ``.age`` suffix, so nobody mistakes them for plain ones."""
        if self.recipients and not path.name.endswith(SEALED_SUFFIX):
            return path.with_name(path.name + SEALED_SUFFIX)
        return path

    def payload(self, data: bytes) -> bytes:
        return seal(data, self.recipients) if self.recipients else data

    def describe(self) -> str:
        n = len(self.recipients)
        return (ngettext("sealed to {n} recipient", "sealed to {n} recipients", n).format(n=n)
                if n else _("NOT encrypted"))


def export_sealing(what: str, configured: tuple[str, ...], encrypt_to: tuple[str, ...],
                   plaintext: bool) -> ExportSealing:
    """Decide how an export is written; refuse an unencrypted one that nobody asked for.

    ``what`` names the export for the user: an English msgid marked with ``N_``.

    Raised before the store is opened or anything is computed, so a refused export costs
    nothing and writes nothing.
    """
    if plaintext and encrypt_to:
        raise KoepelCliError(_("give either --encrypt-to or --plaintext, not both"),
                             EXIT["usage"])
    if plaintext:
        click.echo(_("warning: {what} is written unencrypted (--plaintext); keep it on this "
                     "machine's encrypted disk and delete it when done").format(what=_(what)),
                   err=True)
        log.warning("plaintext export", extra={"export": what})
        return ExportSealing(())
    recipients = parse_recipients(encrypt_to) if encrypt_to else configured
    if not recipients:
        raise KoepelCliError(
            _("{what} would be written unencrypted: give --encrypt-to RECIPIENT (an age "
              "public key; `koepel keygen` makes a key pair), or list recipients under "
              "[exports] in node.toml, or pass --plaintext to write it unencrypted on purpose")
            .format(what=_(what)), EXIT["usage"])
    return ExportSealing(recipients)
