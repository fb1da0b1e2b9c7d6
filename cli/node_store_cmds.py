"""`koepel node check|backup|restore|rekey`: looking after the node's encrypted database."""

from __future__ import annotations

from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _, locale
from cli.node_options import CONFIG_OPTION, ask_new_passphrase, ask_secret
from cli.render import dump_json
from node import DatabaseKey, load_node_config
from node.store.database import Fingerprint
from node.store.dbkey import database_key
from node.store.keys import read_key_file
from node.store.maintenance import backup, open_store, rekey, restore

__all__ = ["backup_cmd", "check_cmd", "rekey_cmd", "restore_cmd"]



def _ask(label: str) -> str:
    return ask_secret(label)


def _fingerprint_json(fp: Fingerprint) -> dict[str, object]:
    return {"schema_version": fp.schema_version, "rows": dict(fp.row_counts),
            "ledger_head": {"sequence": fp.ledger_head[0], "hash": fp.ledger_head[1]}}


def _fingerprint_line(fp: Fingerprint) -> str:
    seq, digest = fp.ledger_head
    head = (_("ledger head #{sequence} {digest}").format(sequence=seq, digest=digest[:16])
            if seq else _("empty ledger"))
    return _("schema v{version}, {rows} rows, {head}").format(
        version=fp.schema_version, rows=locale().number(fp.rows(), 0), head=head)


@click.command(name="check")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@click.option("--rebuild-facts", is_flag=True,
              help=N_("Also compute every per-person fact again from the records (one "
                      "transaction), after migrating the database if needed."))
@handle_errors
def check_cmd(config_path: Path, as_json: bool, rebuild_facts: bool) -> None:
    """Open the database without changing it and verify every page and its structure."""
    config = load_node_config(config_path)
    store = open_store(config, prompt=_ask, migrate=rebuild_facts)
    facts_rows = None
    try:
        if rebuild_facts:
            facts_rows = store.rebuild_facts()
        problems = store.integrity_problems()
        fingerprint = store.fingerprint()
    finally:
        store.close()
    if facts_rows is not None and not as_json:
        click.echo(_("per-person facts rebuilt: {rows} person-period rows").format(
            rows=locale().number(facts_rows, 0)))
    if as_json:
        dump_json({"database": str(config.database), "ok": not problems,
                   "problems": len(problems), **_fingerprint_json(fingerprint)})
    if problems:
        raise KoepelCliError(
            _("{database} is damaged ({problems} problem(s) found by the integrity check); "
              "restore it from a backup with `koepel node restore`").format(
                database=config.database, problems=len(problems)), EXIT["damaged"])
    if not as_json:
        click.echo(_("{database}: intact ({fingerprint})").format(
            database=config.database, fingerprint=_fingerprint_line(fingerprint)))


@click.command(name="backup")
@CONFIG_OPTION
@click.argument("target", type=click.Path(path_type=Path))
@handle_errors
def backup_cmd(config_path: Path, target: Path) -> None:
    """Write a verified, encrypted copy of the database to TARGET (a new file)."""
    config = load_node_config(config_path)
    key = database_key(config.key_source, config.key_file, prompt=_ask)
    opened = open_store(config, key=key, migrate=False)
    try:
        report = backup(opened, target, key)
    finally:
        opened.close()
    click.echo(_("backup written and verified: {path} ({fingerprint}); encrypted with the "
                 "node's current key ({origin})").format(
        path=report.path, fingerprint=_fingerprint_line(report.fingerprint),
        origin=report.key_origin))


@click.command(name="restore")
@CONFIG_OPTION
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help=N_("Replace the existing database (it is moved aside, not deleted)."))
@click.option("--accept-ledger-rollback", is_flag=True,
              help=N_("Restore even if the current database holds newer privacy-ledger entries."))
@click.option("--key-file", "backup_key_file", type=click.Path(path_type=Path), default=None,
              help=N_("The key file the backup was encrypted with, if not the node's current one "
                      "(e.g. a retired key after `koepel node rekey`)."))
@click.option("--backup-passphrase", is_flag=True,
              help=N_("Ask for the passphrase the backup was made with, if not the current one."))
@handle_errors
def restore_cmd(config_path: Path, source: Path, replace: bool, accept_ledger_rollback: bool,
                backup_key_file: Path | None, backup_passphrase: bool) -> None:
    """Restore the database from the backup SOURCE, verified, under the node's current key.

    Stop the node (`koepel node serve`) first: a running node keeps writing to the database it
    opened. The backup's privacy ledger replaces the current one, so restoring an older backup
    over a database with newer charges is refused unless --accept-ledger-rollback is given.
    """
    config = load_node_config(config_path)
    key = database_key(config.key_source, config.key_file, prompt=_ask)
    source_key = key
    if backup_key_file is not None:
        source_key = DatabaseKey.raw(read_key_file(backup_key_file), f"key file {backup_key_file}")
    elif backup_passphrase:
        source_key = DatabaseKey.passphrase(_ask(N_("Passphrase of the backup")),
                                            "the passphrase typed")
    report = restore(config, source, source_key, key, replace=replace,
                     accept_ledger_rollback=accept_ledger_rollback)
    click.echo(_("restored {path} from {source} ({fingerprint})").format(
        path=report.path, source=source, fingerprint=_fingerprint_line(report.fingerprint)))
    if report.moved_aside is not None:
        click.echo(_("the previous database was moved aside to {path}").format(
            path=report.moved_aside))
    if report.ledger_entries_dropped:
        click.echo(_("warning: {entries} privacy-ledger entries newer than the backup are no "
                     "longer in the database; tell your auditor").format(
            entries=report.ledger_entries_dropped), err=True)


@click.command(name="rekey")
@CONFIG_OPTION
@handle_errors
def rekey_cmd(config_path: Path) -> None:
    """Rotate the database key: re-encrypt every page, verify, then switch key files."""
    config = load_node_config(config_path)
    if config.key_source == "passphrase":
        current = database_key(config.key_source, config.key_file, prompt=_ask)
        open_store(config, key=current, migrate=False).close()  # right passphrase? ask first
        report = rekey(config, key=current, new_passphrase=ask_new_passphrase())
    else:
        report = rekey(config)
    if report.kind == "passphrase":
        click.echo(_("{database} is now encrypted with the new passphrase").format(
            database=config.database))
        return
    prefix = _("finished an interrupted rotation: ") if report.resumed else ""
    click.echo(prefix + _("{database} is now encrypted with the new key in {key_file}; the "
                          "previous key was kept as {retired} (backups made before now need "
                          "it: delete it once they have expired)").format(
        database=config.database, key_file=config.key_file, retired=report.retired_key))
