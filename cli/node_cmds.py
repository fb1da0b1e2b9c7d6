"""`koepel node …`: what an organisation's staff run on their own machine."""

from __future__ import annotations

from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.logs import setup_logging
from cli.service_options import metrics_address, service_options
from node import (
    Store,
    create_key_file,
    create_signing_key,
    import_files,
    load_node_config,
    open_node,
    render_node_config,
    serve,
)
from privacy import default_catalogue, format_micro, parse_epsilon

__all__ = ["node"]

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's configuration file.",
)


@click.group()
def node() -> None:
    """Run an organisation's node: its encrypted records and its DP query service."""


@node.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--id", "node_id", required=True, help="Node id assigned by the federation.")
@click.option("--organisation", default="", help="The organisation's name.")
@click.option("--querier", "queriers", multiple=True, metavar="IDENTITY=EPSILON",
              help="Allow a querier with a yearly ε cap, e.g. federation=3. Repeatable.")
@click.option("--listen", default="127.0.0.1:0", show_default=True)
@click.option("--node-cap", default=None, metavar="EPSILON",
              help="ε cap per year over all queriers together (default: the sum of theirs).")
@click.option("--lifetime-cap", default=None, metavar="EPSILON",
              help="ε cap over all years together (default: five times the node cap).")
@handle_errors
def init(directory: Path, node_id: str, organisation: str, queriers: tuple[str, ...],
         listen: str, node_cap: str | None, lifetime_cap: str | None) -> None:
    """Create a node in DIRECTORY: node.toml, a fresh database and its distinct keys."""
    config_path = directory / "node.toml"
    if config_path.exists():
        raise KoepelCliError(f"{config_path} already exists; nothing was changed", EXIT["usage"])
    caps: dict[str, str] = {}
    for item in queriers:
        identity, sep, cap = item.partition("=")
        if not sep or not identity:
            raise KoepelCliError(f"--querier takes IDENTITY=EPSILON, got {item!r}", EXIT["usage"])
        caps[identity] = format_micro(parse_epsilon(cap, field="querier cap"))
    node_cap, lifetime_cap = (
        None if cap is None else format_micro(parse_epsilon(cap, field=name, limit=None))
        for cap, name in ((node_cap, "--node-cap"), (lifetime_cap, "--lifetime-cap")))
    directory.mkdir(parents=True, exist_ok=True)
    text = render_node_config(node_id=node_id, organisation=organisation or node_id,
                              listen=listen, queriers=caps,
                              approved=(default_catalogue().version,), node_cap=node_cap,
                              lifetime_cap=lifetime_cap)
    keys = directory / "keys"
    db_key = create_key_file(keys / "db.key")
    create_key_file(keys / "pseudonym.key")
    create_signing_key(keys / "signing.key")
    config_path.write_text(text)
    config = load_node_config(config_path)
    Store.open(config.database, db_key, create=True).close()
    click.echo(f"created node {node_id} in {directory} (database, keys/db.key, "
               "keys/pseudonym.key, keys/signing.key; keep the keys folder private and "
               "backed up)")


@node.command(name="import")
@CONFIG_OPTION
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
@handle_errors
def import_(config_path: Path, files: tuple[Path, ...], dry_run: bool) -> None:
    """Import CSV exports (workers.csv, contracts.csv, …) all or nothing."""
    runtime = open_node(load_node_config(config_path))
    try:
        summary = import_files(runtime.store, runtime.secret, files, dry_run=dry_run)
    finally:
        runtime.close()
    verb = "would import" if dry_run else "imported"
    for table, rows in summary.rows.items():
        click.echo(f"{verb} {rows} {table} rows ({summary.new[table]} new)")


@node.command(name="serve")
@CONFIG_OPTION
@click.option("--insecure", is_flag=True,
              help="Plaintext gRPC on loopback only (demos and tests).")
@click.option("--listen", default=None, help="Address to listen on (default from node.toml).")
@click.option("--port-file", type=click.Path(path_type=Path), default=None,
              help="Write the bound port here once listening.")
@service_options
@handle_errors
def serve_(config_path: Path, insecure: bool, listen: str | None, port_file: Path | None,
           log_format: str, log_level: str, metrics_port: int | None, metrics_host: str,
           metrics_port_file: Path | None, grace_seconds: float) -> None:
    """Answer DP queries over gRPC until stopped (SIGTERM lets in-flight queries finish)."""
    config = load_node_config(config_path)
    setup_logging(log_format, log_level, static={"service": "node", "node_id": config.node_id})
    runtime = open_node(config)
    serve(runtime, listen or config.listen, insecure=insecure, port_file=port_file,
          grace_seconds=grace_seconds, metrics_address=metrics_address(metrics_host, metrics_port),
          metrics_port_file=metrics_port_file)


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
