"""`koepel node …`: what an organisation's staff run on their own machine."""

from __future__ import annotations

from pathlib import Path

import click

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _, locale
from cli.logs import setup_logging
from cli.node_options import (
    CONFIG_OPTION,
    ask_new_passphrase,
    ask_secret,
    export_options,
    export_sealing,
)
from cli.render import console, dump_json, styled
from cli.service_options import metrics_address, service_options
from node import (
    DatabaseKey,
    Store,
    create_key_file,
    create_signing_key,
    load_node_config,
    open_node,
    render_node_config,
    serve,
)
from privacy import Accounting, format_micro, parse_epsilon, shipped_versions

__all__ = ["node"]



@click.group()
def node() -> None:
    """Run an organisation's node: its encrypted records and its DP query service."""


@node.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--id", "node_id", required=True, help=N_("Node id assigned by the federation."))
@click.option("--organisation", default="", help=N_("The organisation's name."))
@click.option("--querier", "queriers", multiple=True, metavar="IDENTITY=EPSILON",
              help=N_("Allow a querier with a yearly ε cap, e.g. federation=3. Repeatable."))
@click.option("--listen", default="127.0.0.1:0", show_default=True)
@click.option("--node-cap", default=None, metavar="EPSILON",
              help=N_("ε cap per year over all queriers together (default: the sum of theirs)."))
@click.option("--lifetime-cap", default=None, metavar="EPSILON",
              help=N_("ε cap over all years together (default: five times the node cap)."))
@click.option("--passphrase", "use_passphrase", is_flag=True,
              help=N_("Protect the database with a passphrase typed at a prompt (stretched by "
                      "SQLCipher's KDF) instead of a random key in keys/db.key."))
@click.option("--accounting", type=click.Choice(["pure", "zcdp"]), default="pure",
              show_default=True,
              help=N_("The federation's privacy accounting: pure ε, or zCDP (needed for secure "
                      "aggregation). The node approves every shipped catalogue of that "
                      "accounting; its ledger keeps that unit for life."))
@handle_errors
def init(directory: Path, node_id: str, organisation: str, queriers: tuple[str, ...],
         listen: str, node_cap: str | None, lifetime_cap: str | None,
         use_passphrase: bool, accounting: str) -> None:
    """Create a node in DIRECTORY: node.toml, a fresh database and its distinct keys."""
    config_path = directory / "node.toml"
    keys = directory / "keys"
    existing = [p for p in (config_path, keys / "db.key", keys / "pseudonym.key",
                            directory / "koepel.db") if p.exists()]
    if existing:
        raise KoepelCliError(_("{path} already exists; nothing was changed (init never "
                               "overwrites a node)").format(path=existing[0]), EXIT["usage"])
    caps: dict[str, str] = {}
    for item in queriers:
        identity, sep, cap = item.partition("=")
        if not sep or not identity:
            raise KoepelCliError(_("--querier takes IDENTITY=EPSILON, got {item}").format(
                item=repr(item)), EXIT["usage"])
        caps[identity] = format_micro(parse_epsilon(cap, field="querier cap"))
    node_cap, lifetime_cap = (
        None if cap is None else format_micro(parse_epsilon(cap, field=name, limit=None))
        for cap, name in ((node_cap, "--node-cap"), (lifetime_cap, "--lifetime-cap")))
    db_key = (DatabaseKey.passphrase(ask_new_passphrase(_("Database passphrase")))
              if use_passphrase else None)
    directory.mkdir(parents=True, exist_ok=True)
    keys.mkdir(mode=0o700, exist_ok=True)
    keys.chmod(0o700)
    text = render_node_config(node_id=node_id, organisation=organisation or node_id,
                              listen=listen, queriers=caps,
                              approved=shipped_versions(Accounting(accounting)),
                              node_cap=node_cap,
                              lifetime_cap=lifetime_cap,
                              key_source="passphrase" if use_passphrase else "file")
    if db_key is None:
        db_key = DatabaseKey.raw(create_key_file(keys / "db.key"))
    create_key_file(keys / "pseudonym.key")
    create_signing_key(keys / "signing.key")
    config_path.write_text(text)
    config = load_node_config(config_path)
    Store.open(config.database, db_key, create=True).close()
    protected = (_("a passphrase (not stored anywhere: losing it loses the data)")
                 if use_passphrase else "keys/db.key")
    click.echo(_("created node {node_id} in {directory}: database encrypted with {protected}, "
                 "pseudonym secret keys/pseudonym.key, signing key keys/signing.key; keep the "
                 "keys folder private and backed up separately from the database backups")
               .format(node_id=node_id, directory=directory, protected=protected))


@node.command(name="serve")
@CONFIG_OPTION
@click.option("--insecure", is_flag=True,
              help=N_("Plaintext gRPC on loopback only (demos and tests)."))
@click.option("--listen", default=None, help=N_("Address to listen on (default from node.toml)."))
@click.option("--port-file", type=click.Path(path_type=Path), default=None,
              help=N_("Write the bound port here once listening."))
@service_options
@handle_errors
def serve_(config_path: Path, insecure: bool, listen: str | None, port_file: Path | None,
           log_format: str, log_level: str, metrics_port: int | None, metrics_host: str,
           metrics_port_file: Path | None, grace_seconds: float) -> None:
    """Answer DP queries over gRPC until stopped (SIGTERM lets in-flight queries finish)."""
    config = load_node_config(config_path)
    setup_logging(log_format, log_level, static={"service": "node", "node_id": config.node_id})
    runtime = open_node(config, prompt=ask_secret)
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
    """Write a synthetic organisation's CSV exports (for trying koepel out; not real people),
    accompaniment records (plans, goals, reviews, self-evaluations) and outcome records
    (training, hires, exit reasons and follow-ups, coaches, eligibility at hiring) included."""
    from node.synthetic.generator import ORG_TYPES, OrgProfile, generate_organisation
    from node.synthetic.outcomes import generate_outcomes
    from node.synthetic.plans import generate_accompaniment

    if org_type not in ORG_TYPES:
        raise KoepelCliError(_("--type must be one of {types}").format(
            types=", ".join(ORG_TYPES)), EXIT["usage"])
    region = "BE-VLG" if org_type.startswith(("MAATWERK", "LDE")) else (
        "BE-BRU" if org_type.endswith("BXL") else "BE-WAL")
    profile = OrgProfile("synthetic", "Synthetic organisation", org_type, region, people)
    org = generate_organisation(profile, seed, year)
    paths = {**org.write_csvs(directory),
             **generate_accompaniment(org, seed, year).write_csvs(directory),
             **generate_outcomes(org, seed, year).write_csvs(directory)}
    for path in paths.values():
        click.echo(str(path))


def _register() -> None:
    from cli.node_import_cmds import import_cmd
    from cli.node_store_cmds import backup_cmd, check_cmd, rekey_cmd, restore_cmd

    for command in (import_cmd, check_cmd, backup_cmd, restore_cmd, rekey_cmd):
        node.add_command(command)


_register()


@node.command()
@CONFIG_OPTION
@click.option("--period", required=True, help=N_("A year such as 2025, or a quarter such as "
                 "2025-Q3."))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@click.option("--html", "html_path", default=None, type=click.Path(path_type=Path),
              help=N_("Also write the report as a self-contained, printable HTML page with charts "
                      "(a new file, readable by you only; sealed like every export)."))
@export_options
@handle_errors
def report(config_path: Path, period: str, as_json: bool, html_path: Path | None,
           encrypt_to: tuple[str, ...], plaintext: bool) -> None:
    """The organisation's own exact figures: headcount, FTE, exits, support hours, and the
    accompaniment figures (plans and reviews, competence progression by kind of support and
    by target group, retention, self-evaluation, exits by destination and tenure).

    Computed locally with the same per-person definitions as the federation's figures, but
    exact: nothing is noised, charged or sent. This view never leaves this machine.
    """
    from rich.markup import escape
    from rich.table import Table

    from cli.node_report_view import (
        cell_label,
        dimension_label,
        section_title,
        unit_label,
        value_text,
    )
    from node.organisation.report import build_report

    config = load_node_config(config_path)
    sealing = (export_sealing(N_("the HTML report"), config.export_recipients, encrypt_to,
                              plaintext) if html_path is not None else None)
    runtime = open_node(config, prompt=ask_secret)
    try:
        local = build_report(runtime.engine, config.catalogue, node_id=config.node_id,
                             organisation=config.organisation, period=period,
                             store=runtime.store)
    finally:
        runtime.close()
    if html_path is not None and sealing is not None:
        from datetime import UTC, datetime

        from node.organisation.report_html import render_html
        from node.store.private_files import ExportExists, write_private

        page = render_html(local, generated_at=datetime.now(UTC).isoformat(timespec="minutes"))
        html_path = sealing.path_for(html_path)
        try:
            write_private(html_path, sealing.payload(page.encode("utf-8")))
        except ExportExists as exc:
            raise KoepelCliError(str(exc), EXIT["usage"]) from None
        click.echo(_("wrote {path} ({sealing})").format(path=html_path,
                                                         sealing=sealing.describe()),
                   err=as_json)
    if as_json:
        dump_json(local.to_json())
        return
    out = console()
    out.print(f"[bold]{escape(local.organisation)}[/bold] — " + _(
        "exact figures for {period} (catalogue {version}; local only, never sent)").format(
            period=local.period, version=local.catalogue_version))
    for section in local.sections:
        out.print("\n" + styled("bold", section_title(section)) + f" ({unit_label(section)})")
        table = Table()
        table.add_column(escape(dimension_label(section)))
        table.add_column(unit_label(section), justify="right")
        if section.row_persons:
            table.add_column(_("people"), justify="right")
        persons = [locale().number(n, 0) for n in section.row_persons]
        for i, (cell, value) in enumerate(section.rows):
            shown = "—" if section.empty(i) else value_text(section, value)
            table.add_row(escape(cell_label(section, cell)), shown, *persons[i:i + 1])
        if section.dimension:
            table.add_row(styled("bold", _("total") if not persons else _("overall")),
                          styled("bold", value_text(section, section.total)),
                          *([f"[bold]{locale().number(section.persons, 0)}[/bold]"]
                            if persons else []))
        out.print(table)
        if section.note:
            out.print(f"  {section.note}")
    for skipped in local.skipped:
        out.print(styled("yellow", _("not shown")) + f": {skipped}")


@node.group()
def catalogue() -> None:
    """Review federation catalogue versions before approving them in node.toml."""


@catalogue.command()
@CONFIG_OPTION
@click.argument("new_path", metavar="NEW.toml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def diff(config_path: Path, new_path: Path, as_json: bool) -> None:
    """Show what the catalogue NEW.toml adds, removes or changes against the one served now."""
    from rich.markup import escape
    from rich.table import Table

    from node.engine.catalogue_diff import diff_catalogues
    from privacy import load_catalogue

    config = load_node_config(config_path)
    result = diff_catalogues(config.catalogue, load_catalogue(new_path),
                             approved=config.approved_versions)
    if as_json:
        dump_json(result.to_json())
        return
    out = console()
    out.print(_("catalogue {old} (served now) → {new} ({file})").format(
        old=result.old_version, new=result.new_version, file=new_path.name))
    if not result.changes:
        out.print(_("no differences"))
    else:
        table = Table(show_lines=True)
        for name in ("", _("kind"), _("name"), _("what")):
            table.add_column(name)
        marks = {"added": "[green]+[/green]", "removed": "[red]−[/red]",
                 "changed": "[yellow]~[/yellow]"}
        for change in result.changes:
            table.add_row(marks[change.change], change.kind, escape(change.name),
                          escape("\n".join(change.details) or change.change))
        out.print(table)
    if not result.compilable:
        out.print(styled("red", _("this node cannot serve it")) + ": "
                  f"{escape(result.compile_problem)}")
    elif result.approved:
        out.print(_("version {version} is already approved in {path}").format(
            version=result.new_version, path=config.path))
    else:
        out.print(escape(_("to serve it, add \"{version}\" to [catalogue] approved in {path} "
                           "(and point [catalogue] path at it)").format(
            version=result.new_version, path=config.path)))
