"""`koepel node person | transfer | forms | policy show | audit-log`: the organisation's own tool.

What job coaches and managers use day to day, on the organisation's own machine: one person's
evolution, a person's record handed over to a public employment service, the Walloon EI forms,
and which of its figures the organisation shares with whom. Everything here is local and
exact; nothing goes through the federation. The identity-level exports (transfer, forms) are
written 0600, warn that they hold personal data, and are logged in the node's audit log.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.node_options import CONFIG_OPTION, ask_secret, export_options, export_sealing
from cli.render import console, dump_json
from node import NodeConfig, load_node_config, open_node
from node.store.private_files import ExportExists

__all__ = ["ORG_COMMANDS"]

PERSONAL_DATA = ("keep them on the organisation's systems, hand them over only through a "
                 "secure channel, and delete them when they are no longer needed")


def _raw_id(person_id: str) -> str:
    """The id argument, or one line from standard input for ``-`` (keeps it out of the
    shell history and the process list)."""
    if person_id == "-":
        return sys.stdin.readline().strip()
    return person_id


def _open(config_path: Path) -> tuple[NodeConfig, Any]:
    config = load_node_config(config_path)
    return config, open_node(config, prompt=ask_secret)


def _resolve(runtime: Any, person_id: str) -> str:
    from node.organisation.person import PersonNotFound, resolve

    try:
        return resolve(runtime.store, runtime.secret, _raw_id(person_id))
    except PersonNotFound as exc:
        raise KoepelCliError(str(exc), EXIT["usage"]) from None


def _show(out: Any, table: Table, empty: str) -> None:
    """A table, or one line saying that there is nothing of this kind."""
    if table.row_count:
        out.print(table)
    else:
        out.print(f"{table.title}: [dim]{empty}[/dim]")


def _change(value: float | None) -> str:
    if value is None:
        return "[dim]one answer[/dim]"
    colour = "green" if value > 0 else ("red" if value < 0 else "white")
    return f"[{colour}]{value:+.2f}[/{colour}]"


# ------------------------------------------------------------------------------ person


@click.command(name="person")
@CONFIG_OPTION
@click.argument("person_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def person_cmd(config_path: Path, person_id: str, as_json: bool) -> None:
    """One person's evolution, for the job coach: contracts, support, competences, plan.

    ID is the organisation's own id of the person (as in its HR export; `-` reads it from
    standard input). It is turned into the node's pseudonym in memory and never stored.
    Local only: nothing is noised, charged or sent.
    """
    from node.organisation.person import person_record

    _, runtime = _open(config_path)
    try:
        record = person_record(runtime.store, _resolve(runtime, person_id))
    finally:
        runtime.close()
    if as_json:
        dump_json(record.to_json())
        return
    out = console()
    w = record.worker
    out.print(f"[bold]person {record.pid[:12]}…[/bold] — born {w['birth_year']}, "
              f"{w['gender']}, {w['education_level']}, {w['target_group']}, {w['region']} "
              "[dim](local view, never sent)[/dim]")
    contracts = Table(title="Contracts", title_justify="left")
    for name in ("role", "type", "hours/week", "start", "end", "subsidy"):
        contracts.add_column(name)
    for c in record.contracts:
        contracts.add_row(c["role"], c["contract_type"], f"{c['weekly_hours']:g}",
                          c["start_date"], c["end_date"] or "running", c["subsidy_scheme"] or "")
    _show(out, contracts, "no contract recorded")
    for x in record.exits:
        out.print(f"left on {x['date']}: {x['destination']}")
    _show(out, _support_table(record.support_by_quarter()), "no support action recorded")
    competences = Table(title="Competences, first → last assessment (scores on 0–1)",
                        title_justify="left")
    for name in ("competence", "first", "last", "assessments", "change"):
        competences.add_column(name)
    for line in record.competences():
        competences.add_row(escape(f"{line.code} {line.label}"),
                            f"{line.first_date}: {line.first:.2f}",
                            f"{line.last_date}: {line.last:.2f}", str(line.answers),
                            _change(line.change))
    _show(out, competences, "no competence assessment recorded")
    plans = Table(title="Support plans", title_justify="left", show_lines=True)
    for name in ("from", "to", "goals", "reviews"):
        plans.add_column(name)
    for p in record.plans:
        plans.add_row(p["start_date"], p["end_date"] or "open",
                      "\n".join(f"{g['domain']}: {g['status']}" for g in p["goals"]) or "—",
                      "\n".join(p["reviews"]) or "none")
    _show(out, plans, "no support plan recorded")
    evaluations = Table(title="Self-evaluation, first → last answer (0–1)", title_justify="left")
    for name in ("item", "first", "last", "answers", "change"):
        evaluations.add_column(name)
    for e in record.self_evaluation_changes():
        evaluations.add_row(escape(f"{e.code} {e.label}"), f"{e.first_date}: {e.first:.2f}",
                            f"{e.last_date}: {e.last:.2f}", str(e.answers), _change(e.change))
    _show(out, evaluations, "no self-evaluation answer recorded")


def _support_table(lines: list[Any]) -> Table:
    """Hours of support per kind (rows) and quarter (columns), with the local codes used."""
    if not lines:
        return Table(title="Hours of support received")
    quarters = sorted({s.quarter for s in lines})
    kinds = sorted({(s.code, s.label) for s in lines})
    hours = {(s.code, s.quarter): s.hours for s in lines}
    local = {code: sorted({c for s in lines if s.code == code for c in s.local_codes})
             for code, _ in kinds}
    table = Table(title="Hours of support received, per kind and quarter", title_justify="left")
    table.add_column("kind (local codes)", no_wrap=True, max_width=34)
    for quarter in quarters:
        table.add_column(quarter.replace("-", " "), justify="right")
    table.add_column("total", justify="right")
    for code, label in kinds:
        codes = ", ".join(c for c in local[code] if c != code)
        cells = [f"{hours[(code, q)]:.1f}" if (code, q) in hours else "" for q in quarters]
        text = f"{code} {label}"
        text = text if len(text) <= 26 else text[:25] + "…"
        table.add_row(escape(text + (f" ({codes})" if codes else "")), *cells,
                      f"{sum(hours.get((code, q), 0.0) for q in quarters):.1f}")
    table.add_row("[bold]all kinds[/bold]", *(
        f"[bold]{sum(hours.get((c, q), 0.0) for c, _ in kinds):.1f}[/bold]" for q in quarters),
        f"[bold]{sum(hours.values()):.1f}[/bold]")
    return table


# ------------------------------------------------------------------------------ transfer


@click.command(name="transfer")
@CONFIG_OPTION
@click.argument("person_id", metavar="ID")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="The JSON file to create (never overwritten).")
@click.option("--by", "actor", default=None,
              help="Who makes the export, for the audit log (default: your login name).")
@click.option("--recipient", default="", help="The service it goes to, for the audit log "
              "(e.g. \"FOREM Charleroi\"; no personal details).")
@export_options
@handle_errors
def transfer_cmd(config_path: Path, person_id: str, out_path: Path, actor: str | None,
                 recipient: str, encrypt_to: tuple[str, ...], plaintext: bool) -> None:
    """Export one person's accompaniment record (koepel-transfer/1 JSON) for a public
    employment service's counsellor, at the person's request, and log it in the audit log.

    The format is described in docs/transfer-format.md. ID as for `koepel node person`.
    """
    from node.organisation.audit_log import current_actor, record_export
    from node.organisation.person import person_record
    from node.organisation.transfer import (
        TRANSFER_FORMAT,
        build_transfer,
        transfer_bytes,
        transfer_counts,
    )
    from node.store.private_files import write_private

    if len(recipient) > 100:
        raise KoepelCliError("--recipient takes a short name of a service (100 characters "
                             "at most)", EXIT["usage"])
    config = load_node_config(config_path)
    sealing = export_sealing("the transfer record", config.export_recipients, encrypt_to,
                             plaintext)
    out_path = sealing.path_for(out_path)
    runtime = open_node(config, prompt=ask_secret)
    try:
        raw = _raw_id(person_id)
        pid = _resolve(runtime, raw)
        document = build_transfer(person_record(runtime.store, pid), node_id=config.node_id,
                                  organisation=config.organisation, person_reference=raw)
        try:
            digest = write_private(out_path, sealing.payload(transfer_bytes(document)))
        except ExportExists as exc:
            raise KoepelCliError(str(exc), EXIT["usage"]) from None
        try:
            entry = record_export(runtime.store, actor=actor or current_actor(),
                                  action="transfer_export", subject=pid, detail={
                                      "format": TRANSFER_FORMAT, "sha256": digest,
                                      "recipient": recipient, "encryption": sealing.mode,
                                      "entries": transfer_counts(document)})
        except BaseException:
            out_path.unlink(missing_ok=True)  # never an export the audit log does not know
            raise
    finally:
        runtime.close()
    click.echo(f"wrote {out_path} ({TRANSFER_FORMAT}, {sealing.describe()}); audit log entry "
               f"{entry.sequence}")
    click.echo(f"warning: {out_path} contains personal data; {PERSONAL_DATA}", err=True)


# ------------------------------------------------------------------------------ forms


@click.command(name="forms")
@CONFIG_OPTION
@click.option("--period", required=True, help="The year of the forms, e.g. 2025.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Folder for the files (created if missing).")
@click.option("--xlsx", is_flag=True, help="Also write one XLSX workbook with both annexes.")
@click.option("--ids", "ids_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The organisation's own ids (a CSV with a person_id column, such as the HR "
                   "export's workers file, or one id per line), to fill Annexe 1's "
                   "organisation_id column. Read in memory only, never stored.")
@click.option("--by", "actor", default=None,
              help="Who makes the export, for the audit log (default: your login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON too.")
@export_options
@handle_errors
def forms_cmd(config_path: Path, period: str, out_dir: Path, xlsx: bool,
              ids_path: Path | None, actor: str | None, as_json: bool,
              encrypt_to: tuple[str, ...], plaintext: bool) -> None:
    """The Walloon insertion-enterprise forms for a year: Annexe 1 (subsidised TD/TGD workers
    and their contracts) and Annexe 2 (quarterly global FTE against the reference level, for
    "maintien de l'effectif"). Exact and identity-level: written locally (0600), never sent.
    """
    from node.imports.sources import SourceError
    from node.organisation.audit_log import current_actor, record_export
    from node.organisation.forms import build_forms, forms_csv, forms_xlsx, read_id_list, reidentify
    from node.store.private_files import write_private

    config = load_node_config(config_path)
    sealing = export_sealing("the forms", config.export_recipients, encrypt_to, plaintext)
    runtime = open_node(config, prompt=ask_secret)
    written: list[Path] = []
    try:
        ids = None
        if ids_path is not None:
            try:
                ids = reidentify(runtime.secret, read_id_list(ids_path))
            except SourceError as exc:
                raise KoepelCliError(str(exc), EXIT["usage"]) from None
        forms = build_forms(runtime.store, period=period, organisation=config.organisation,
                            node_id=config.node_id, ids=ids, rules=config.forms)
        files = forms_csv(forms)
        if xlsx:
            files[f"annexes-{forms.year}.xlsx"] = forms_xlsx(forms)
        files = {sealing.path_for(Path(name)).name: sealing.payload(data)
                 for name, data in files.items()}
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        existing = [name for name in files if (out_dir / name).exists()]
        if existing:
            raise KoepelCliError(f"{out_dir / existing[0]} already exists; nothing was written "
                                 "(move the old forms away first)", EXIT["usage"])
        digests = {}
        try:
            for name, data in files.items():
                digests[name] = write_private(out_dir / name, data)
                written.append(out_dir / name)
            record_export(runtime.store, actor=actor or current_actor(), action="forms_export",
                          subject="*", detail={"year": forms.year, "people": forms.people,
                                               "annex1_rows": len(forms.annex1),
                                               "reidentified": ids is not None,
                                               "encryption": sealing.mode,
                                               "files": digests})
        except ExportExists as exc:
            raise KoepelCliError(str(exc), EXIT["usage"]) from None
        except BaseException:
            for path in written:  # all files and their audit line, or none of them
                path.unlink(missing_ok=True)
            raise
    finally:
        runtime.close()
    out = console()
    if as_json:
        dump_json({"year": forms.year, "files": [str(p) for p in written],
                   "annex1_rows": len(forms.annex1), "people": forms.people,
                   "reference_fte": forms.reference_fte,
                   "quarters": [{"quarter": r.quarter, "fte": r.fte, "difference": r.difference,
                                 "maintained": r.maintained} for r in forms.annex2],
                   "subsidised_hires": len(forms.maintien),
                   "share": forms.share.share if forms.share else None,
                   "flags": list(forms.flags)})
    else:
        table = Table(title=f"Annexe 2 — maintien de l'effectif {forms.year} (reference: "
                            f"{forms.reference_fte:.2f} FTE, the 4 quarters before)",
                      title_justify="left")
        for name in ("quarter", "FTE", "difference", "maintained"):
            table.add_column(name, justify="left" if name == "quarter" else "right")
        for r in forms.annex2:
            table.add_row(r.quarter, f"{r.fte:.2f}", f"{r.difference:+.2f}",
                          "yes" if r.maintained else "[red]no[/red]")
        out.print(table)
        out.print(f"Annexe 1: {len(forms.annex1)} contract(s) of {forms.people} TD/TGD "
                  "worker(s)")
        kept = sum(1 for r in forms.maintien if r.maintained)
        out.print(f"Maintien per subsidised hire: {kept} of {len(forms.maintien)} maintained")
        for flag in forms.flags:
            out.print(f"[red]flag:[/red] {flag}")
        for path in written:
            out.print(f"wrote {path}")
    if forms.unmatched:
        click.echo(f"note: {forms.unmatched} person(s) in Annexe 1 are not in the id list; "
                   "their organisation_id is empty", err=True)
    click.echo(f"warning: the files in {out_dir} contain personal data; {PERSONAL_DATA}",
               err=True)


# ------------------------------------------------------------------------------ policy


@click.group(name="policy")
def policy_group() -> None:
    """What this organisation shares with each querier (node.toml [[queriers]])."""


@policy_group.command(name="show")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def policy_show(config_path: Path, as_json: bool) -> None:
    """Per querier: its budget, the ε it may ask per query, and per catalogue measure and
    dimension whether it is shared. Reads node.toml only (no database, no key)."""
    from node.organisation.sharing import sharing_decisions

    config = load_node_config(config_path)
    decisions = sharing_decisions(config)
    if as_json:
        dump_json(decisions.to_json())
        return
    out = console()
    out.print(f"[bold]{escape(config.organisation)}[/bold] — catalogue "
              f"{decisions.catalogue_version}; approved: {', '.join(config.approved_versions)}")
    if not decisions.queriers:
        out.print("no querier is allowed to ask anything ([[queriers]] in node.toml)")
        return
    rules = Table(title="Queriers", title_justify="left")
    for name in ("querier", "cap ε per period", "ε per query", "max cells"):
        rules.add_column(name)
    for q in decisions.queriers:
        rules.add_row(escape(q.identity), q.cap_epsilon, q.epsilon_range, q.max_cells)
    out.print(rules)
    for kind, rows in (("measure", decisions.measures), ("dimension", decisions.dimensions)):
        table = Table(title=f"Shared {kind}s", title_justify="left")
        table.add_column(kind)
        for q in decisions.queriers:
            table.add_column(escape(q.identity))
        for name, shared in rows:
            table.add_row(escape(name), *("[green]shared[/green]" if s else
                                          "[red]not shared[/red]" for s in shared))
        out.print(table)
    out.print("A refused query is reported to the querier as \"not shared by this "
              "organisation\" (reason NOT_SHARED_BY_ORGANISATION) and costs nothing.")


# ------------------------------------------------------------------------------ audit log


@click.command(name="audit-log")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def audit_log_cmd(config_path: Path, as_json: bool) -> None:
    """The identity-level exports made from this node (transfers, forms): who, when, what."""
    from node.organisation.audit_log import audit_entries

    _, runtime = _open(config_path)
    try:
        entries = audit_entries(runtime.store)
    finally:
        runtime.close()
    if as_json:
        dump_json([e.to_json() for e in entries])
        return
    table = Table(title="Audit log of identity-level exports", title_justify="left")
    for name in ("#", "when", "who", "what", "whose", "detail"):
        table.add_column(name)
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if k != "files")
        table.add_row(str(e.sequence), e.created_at, escape(e.actor), e.action,
                      e.subject[:12] + ("…" if len(e.subject) > 12 else ""), escape(detail))
    console().print(table)


ORG_COMMANDS = (person_cmd, transfer_cmd, forms_cmd, policy_group, audit_log_cmd)
