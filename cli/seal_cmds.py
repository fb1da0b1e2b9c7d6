"""`koepel keygen` and `koepel decrypt`: the recipient's side of sealed exports.

Whoever receives exports (the organisation's own manager, an administration, an auditor) makes
a key pair once with `koepel keygen` and hands the public key (``age1…``) to the organisation,
which lists it under ``[exports] recipients`` in node.toml or passes it with ``--encrypt-to``.
The files are standard age files: `koepel decrypt`, or any age tool, opens them.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _
from node.store.private_files import ExportExists, write_private
from node.store.sealing import create_identity_file, read_identity_file, unseal

__all__ = ["decrypt", "keygen"]


@click.command()
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help=N_("The identity file to create (0600; never overwritten)."))
@handle_errors
def keygen(out_path: Path) -> None:
    """Make an age key pair for receiving sealed exports; print the public key to share."""
    recipient = create_identity_file(out_path)
    click.echo(_("created {path} (0600): keep it secret, back it up").format(path=out_path))
    click.echo(_("public key (give this to whoever seals exports for you): {key}").format(
        key=recipient))


@click.command()
@click.argument("sealed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--identity", "identity_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help=N_("Your identity file (from `koepel keygen`)."))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help=N_("Where to write the opened file (a new file, 0600)."))
@handle_errors
def decrypt(sealed: Path, identity_path: Path, out_path: Path) -> None:
    """Open a sealed export (an .age file) with your identity; write it as a new 0600 file."""
    identity = read_identity_file(identity_path)
    plain = unseal(sealed.read_bytes(), identity)
    try:
        write_private(out_path, plain)
    except ExportExists as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None
    click.echo(_("wrote {path} ({size} bytes); it is not encrypted: delete it when done")
               .format(path=out_path, size=len(plain)), err=True)
