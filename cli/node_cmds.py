"""`koepel node …`: what an organisation's staff run on their own machine."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.render import budget_table, console
from node import (
    DatabaseKey,
    Store,
    create_key_file,
    load_node_config,
    open_node,
    render_node_config,
    serve,
)
from node.dbkey import check_passphrase
from privacy import default_catalogue, format_micro, parse_epsilon

__all__ = ["node"]

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's configuration file.",
)


@click.group()
def node() -> None:
    """Run an organisation's node: its encrypted records and its DP query service."""


def ask_secret(label: str) -> str:
    """Ask for a passphrase on the terminal (hidden), never from the command line."""
    return str(click.prompt(label, hide_input=True, err=True))


def ask_new_passphrase(label: str = "New database passphrase") -> str:
    """Ask twice for a new passphrase and refuse it if it is too weak."""
    text = str(click.prompt(label, hide_input=True, confirmation_prompt=True, err=True))
    check_passphrase(text)
    return text


@node.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--id", "node_id", required=True, help="Node id assigned by the federation.")
@click.option("--organisation", default="", help="The organisation's name.")
@click.option("--querier", "queriers", multiple=True, metavar="IDENTITY=EPSILON",
              help="Allow a querier with a yearly ε cap, e.g. federation=3. Repeatable.")
@click.option("--listen", default="127.0.0.1:0", show_default=True)
@click.option("--passphrase", "use_passphrase", is_flag=True,
              help="Protect the database with a passphrase typed at a prompt (stretched by "
                   "SQLCipher's KDF) instead of a random key in keys/db.key.")
@handle_errors
def init(directory: Path, node_id: str, organisation: str, queriers: tuple[str, ...],
         listen: str, use_passphrase: bool) -> None:
    """Create a node in DIRECTORY: node.toml, a fresh database and its distinct keys."""
    config_path = directory / "node.toml"
    keys = directory / "keys"
    existing = [p for p in (config_path, keys / "db.key", keys / "pseudonym.key",
                            directory / "koepel.db") if p.exists()]
    if existing:
        raise KoepelCliError(f"{existing[0]} already exists; nothing was changed (init never "
                             "overwrites a node)", EXIT["usage"])
    caps: dict[str, str] = {}
    for item in queriers:
        identity, sep, cap = item.partition("=")
        if not sep or not identity:
            raise KoepelCliError(f"--querier takes IDENTITY=EPSILON, got {item!r}", EXIT["usage"])
        caps[identity] = format_micro(parse_epsilon(cap, field="querier cap"))
    db_key = (DatabaseKey.passphrase(ask_new_passphrase("Database passphrase"))
              if use_passphrase else None)
    directory.mkdir(parents=True, exist_ok=True)
    keys.mkdir(mode=0o700, exist_ok=True)
    keys.chmod(0o700)
    text = render_node_config(node_id=node_id, organisation=organisation or node_id,
                              listen=listen, queriers=caps,
                              approved=(default_catalogue().version,),
                              key_source="passphrase" if use_passphrase else "file")
    if db_key is None:
        db_key = DatabaseKey.raw(create_key_file(keys / "db.key"))
    create_key_file(keys / "pseudonym.key")
    config_path.write_text(text)
    config = load_node_config(config_path)
    Store.open(config.database, db_key, create=True).close()
    protected = ("a passphrase (not stored anywhere: losing it loses the data)"
                 if use_passphrase else "keys/db.key")
    click.echo(f"created node {node_id} in {directory}: database encrypted with {protected}, "
               "pseudonym secret keys/pseudonym.key; keep the keys folder private and backed "
               "up separately from the database backups")


@node.command(name="serve")
@CONFIG_OPTION
@click.option("--insecure", is_flag=True,
              help="Plaintext gRPC on loopback only (demos and tests).")
@click.option("--listen", default=None, help="Address to listen on (default from node.toml).")
@click.option("--port-file", type=click.Path(path_type=Path), default=None,
              help="Write the bound port here once listening.")
@handle_errors
def serve_(config_path: Path, insecure: bool, listen: str | None, port_file: Path | None) -> None:
    """Answer DP queries over gRPC until stopped (SIGTERM lets in-flight queries finish)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = load_node_config(config_path)
    runtime = open_node(config, prompt=ask_secret)
    serve(runtime, listen or config.listen, insecure=insecure, port_file=port_file)


@node.command()
@CONFIG_OPTION
@handle_errors
def budget(config_path: Path) -> None:
    """Spent and remaining ε per querier for the current period."""
    runtime = open_node(load_node_config(config_path), prompt=ask_secret)
    try:
        lines = runtime.engine.all_budgets()
    finally:
        runtime.close()
    rows = [(runtime.config.node_id, line.querier, line.period, line.spent_micro / 1e6,
             line.remaining_micro / 1e6) for line in lines]
    console().print(budget_table(rows, title="Privacy budget"))


@node.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--type", "org_type", default="EI_WAL", show_default=True)
@click.option("--people", default=120, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--seed", default=1, show_default=True)
@click.option("--year", default=2025, show_default=True)
@handle_errors
def synth(directory: Path, org_type: str, people: int, seed: int, year: int) -> None:
    """Write a synthetic organisation's CSV exports (for trying koepel out; not real people)."""
    from node.synthetic import ORG_TYPES, OrgProfile, generate_organisation

    if org_type not in ORG_TYPES:
        raise KoepelCliError(f"--type must be one of {', '.join(ORG_TYPES)}", EXIT["usage"])
    region = "BE-VLG" if org_type.startswith(("MAATWERK", "LDE")) else (
        "BE-BRU" if org_type.endswith("BXL") else "BE-WAL")
    profile = OrgProfile("synthetic", "Synthetic organisation", org_type, region, people)
    paths = generate_organisation(profile, seed, year).write_csvs(directory)
    for path in paths.values():
        click.echo(str(path))


def _register() -> None:
    from cli.node_import_cmds import import_cmd
    from cli.node_store_cmds import backup_cmd, check_cmd, rekey_cmd, restore_cmd

    for command in (import_cmd, check_cmd, backup_cmd, restore_cmd, rekey_cmd):
        node.add_command(command)


_register()
