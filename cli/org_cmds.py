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
from cli.lang import LANGUAGES, N_, _, language, locale
from cli.node_options import CONFIG_OPTION, ask_secret, export_options, export_sealing
from cli.render import code_label, console, dump_json, styled, when
from node import NodeConfig, load_node_config, open_node
from node.store.private_files import ExportExists

__all__ = ["ORG_COMMANDS"]

PERSONAL_DATA = N_("keep them on the organisation's systems, hand them over only through a "
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
        out.print(f"{table.title}: " + styled("dim", _(empty)))


def _change(value: float | None) -> str:
    if value is None:
        return styled("dim", _("one answer"))
    colour = "green" if value > 0 else ("red" if value < 0 else "white")
    return f"[{colour}]{'+' if value >= 0 else ''}{locale().fixed(value, 2)}[/{colour}]"


def _dated(day: str, value: float) -> str:
    return f"{locale().date(day)}: {locale().fixed(value, 2)}"


# ------------------------------------------------------------------------------ person


@click.command(name="person")
@CONFIG_OPTION
@click.argument("person_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def person_cmd(config_path: Path, person_id: str, as_json: bool) -> None:
    """One person's evolution, for the job coach: contracts, support, competences, plan.

    ID is the organisation's own id of the person (as in its HR export; `-` reads it from
    standard input). It is turned into the node's pseudonym in memory and never stored.
    Local only: nothing is noised, charged or sent.
    """
    from node.organisation.person import person_record

    _config, runtime = _open(config_path)
    try:
        record = person_record(runtime.store, _resolve(runtime, person_id))
    finally:
        runtime.close()
    if as_json:
        dump_json(record.to_json())
        return
    out = console()
    w = record.worker
    loc = locale()
    out.print(styled("bold", _("person {pseudonym}…").format(pseudonym=record.pid[:12]))
              + " — " + _("born {year}").format(
        year=w["birth_year"]) + ", " + ", ".join(
            code_label(kind, w[key]) for kind, key in (
                ("gender", "gender"), ("education_level", "education_level"),
                ("target_group", "target_group"), ("region", "region")))
        + " " + styled("dim", _("(local view, never sent)")))
    contracts = Table(title=_("Contracts"), title_justify="left")
    for name in (_("role"), _("type"), _("hours/week"), _("start"), _("end"), _("subsidy")):
        contracts.add_column(name)
    for c in record.contracts:
        contracts.add_row(code_label("role", c["role"]),
                          code_label("contract_type", c["contract_type"]),
                          loc.number(c["weekly_hours"], 2), loc.date(c["start_date"]),
                          loc.date(c["end_date"]) or _("running"), c["subsidy_scheme"] or "")
    _show(out, contracts, N_("no contract recorded"))
    for x in record.exits:
        out.print(_("left on {date}: {destination}").format(
            date=loc.date(x["date"]), destination=code_label("destination", x["destination"])))
    _show(out, _support_table(record.support_by_quarter()), N_("no support action recorded"))
    competences = Table(title=_("Competences, first → last assessment (scores on 0–1)"),
                        title_justify="left")
    for name in (_("competence"), _("first"), _("last"), _("assessments"), _("change")):
        competences.add_column(name)
    for line in record.competences():
        competences.add_row(escape(f"{line.code} {code_label('competence', line.code)}"),
                            _dated(line.first_date, line.first),
                            _dated(line.last_date, line.last), str(line.answers),
                            _change(line.change))
    _show(out, competences, N_("no competence assessment recorded"))
    plans = Table(title=_("Support plans"), title_justify="left", show_lines=True)
    for name in (_("from"), _("to"), _("goals"), _("reviews")):
        plans.add_column(name)
    for p in record.plans:
        plans.add_row(loc.date(p["start_date"]), loc.date(p["end_date"]) or _("open"),
                      "\n".join(f"{code_label('goal_domain', g['domain'])}: "
                                f"{code_label('goal_status', g['status'])}"
                                for g in p["goals"]) or "—",
                      "\n".join(loc.date(r) for r in p["reviews"]) or _("none"))
    _show(out, plans, N_("no support plan recorded"))
    evaluations = Table(title=_("Self-evaluation, first → last answer (0–1)"),
                        title_justify="left")
    for name in (_("item"), _("first"), _("last"), _("answers"), _("change")):
        evaluations.add_column(name)
    for e in record.self_evaluation_changes():
        evaluations.add_row(escape(f"{e.code} {code_label('self_evaluation', e.code)}"),
                            _dated(e.first_date, e.first), _dated(e.last_date, e.last),
                            str(e.answers), _change(e.change))
    _show(out, evaluations, N_("no self-evaluation answer recorded"))


def _support_table(lines: list[Any]) -> Table:
    """Hours of support per kind (rows) and quarter (columns), with the local codes used."""
    if not lines:
        return Table(title=_("Hours of support received"))
    quarters = sorted({s.quarter for s in lines})
    kinds = sorted({(s.code, s.label) for s in lines})
    hours = {(s.code, s.quarter): s.hours for s in lines}
    local = {code: sorted({c for s in lines if s.code == code for c in s.local_codes})
             for code, _label in kinds}
    table = Table(title=_("Hours of support received, per kind and quarter"),
                  title_justify="left")
    table.add_column(_("kind (local codes)"), no_wrap=True, max_width=34)
    for quarter in quarters:
        table.add_column(quarter.replace("-", " "), justify="right")
    table.add_column(_("total"), justify="right")
    fixed = locale().fixed
    for code, _label in kinds:
        codes = ", ".join(c for c in local[code] if c != code)
        cells = [fixed(hours[(code, q)], 1) if (code, q) in hours else "" for q in quarters]
        text = f"{code} {code_label('support_action', code)}"
        text = text if len(text) <= 26 else text[:25] + "…"
        table.add_row(escape(text + (f" ({codes})" if codes else "")), *cells,
                      fixed(sum(hours.get((code, q), 0.0) for q in quarters), 1))
    table.add_row(styled("bold", _("all kinds")), *(
        f"[bold]{fixed(sum(hours.get((c, q), 0.0) for c, _label in kinds), 1)}[/bold]"
        for q in quarters), f"[bold]{fixed(sum(hours.values()), 1)}[/bold]")
    return table


# ------------------------------------------------------------------------------ transfer


@click.command(name="transfer")
@CONFIG_OPTION
@click.argument("person_id", metavar="ID")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help=N_("The JSON file to create (never overwritten)."))
@click.option("--by", "actor", default=None,
              help=N_("Who makes the export, for the audit log (default: your login name)."))
@click.option("--recipient", default="", help=N_("The service it goes to, for the audit log "
                 "(e.g. \"FOREM Charleroi\"; no personal details)."))
@click.option("--language", "file_language", type=click.Choice(LANGUAGES), default=None,
              help=N_("Language of the file's labels: the person's or the counsellor's "
                      "(default: the language of this command, see koepel --lang)."))
@export_options
@handle_errors
def transfer_cmd(config_path: Path, person_id: str, out_path: Path, actor: str | None,
                 recipient: str, file_language: str | None, encrypt_to: tuple[str, ...],
                 plaintext: bool) -> None:
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
        raise KoepelCliError(_("--recipient takes a short name of a service (100 "
                               "characters at most)"), EXIT["usage"])
    config = load_node_config(config_path)
    sealing = export_sealing(N_("the transfer record"), config.export_recipients, encrypt_to,
                             plaintext)
    out_path = sealing.path_for(out_path)
    runtime = open_node(config, prompt=ask_secret)
    try:
        raw = _raw_id(person_id)
        pid = _resolve(runtime, raw)
        document = build_transfer(person_record(runtime.store, pid), node_id=config.node_id,
                                  organisation=config.organisation, person_reference=raw,
                                  language=file_language or language())
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
    click.echo(_("wrote {path} ({format}, {sealing}); audit log entry {entry}").format(
        path=out_path, format=TRANSFER_FORMAT, sealing=sealing.describe(),
        entry=entry.sequence))
    click.echo(_("warning: {path} contains personal data; {advice}").format(
        path=out_path, advice=_(PERSONAL_DATA)), err=True)


# ------------------------------------------------------------------------------ forms


@click.command(name="forms")
@CONFIG_OPTION
@click.option("--period", required=True, help=N_("The year of the forms, e.g. 2025."))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help=N_("Folder for the files (created if missing)."))
@click.option("--xlsx", is_flag=True, help=N_("Also write one XLSX workbook with both annexes."))
@click.option("--ids", "ids_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=N_("The organisation's own ids (a CSV with a person_id column, such as the HR "
                      "export's workers file, or one id per line), to fill Annexe 1's "
                      "organisation_id column. Read in memory only, never stored."))
@click.option("--by", "actor", default=None,
              help=N_("Who makes the export, for the audit log (default: your login name)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the figures as JSON too."))
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
    sealing = export_sealing(N_("the forms"), config.export_recipients, encrypt_to, plaintext)
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
            raise KoepelCliError(_("{path} already exists; nothing was written (move the old "
                                   "forms away first)").format(path=out_dir / existing[0]),
                                 EXIT["usage"])
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
        fixed = locale().fixed
        table = Table(title=_("Annexe 2 — maintien de l'effectif {year} (reference: {fte} FTE, "
                              "the 4 quarters before)").format(
                                  year=forms.year, fte=fixed(forms.reference_fte, 2)),
                      title_justify="left")
        table.add_column(_("quarter"))
        for name in (_("FTE"), _("difference"), _("maintained")):
            table.add_column(name, justify="right")
        for r in forms.annex2:
            table.add_row(r.quarter, fixed(r.fte, 2),
                          ("+" if r.difference >= 0 else "") + fixed(r.difference, 2),
                          _("yes") if r.maintained else styled("red", _("no")))
        out.print(table)
        out.print(_("Annexe 1: {contracts} contract(s) of {people} TD/TGD worker(s)").format(
            contracts=len(forms.annex1), people=forms.people))
        kept = sum(1 for r in forms.maintien if r.maintained)
        out.print(_("Maintien per subsidised hire: {kept} of {hires} maintained").format(
            kept=kept, hires=len(forms.maintien)))
        for flag in forms.flags:
            out.print("[red]" + _("flag:") + f"[/red] {flag}")
        for path in written:
            out.print(_("wrote {path}").format(path=path))
    if forms.unmatched:
        click.echo(_("note: {people} person(s) in Annexe 1 are not in the id list; their "
                     "organisation_id is empty").format(people=forms.unmatched), err=True)
    click.echo(_("warning: the files in {folder} contain personal data; {advice}").format(
        folder=out_dir, advice=_(PERSONAL_DATA)), err=True)


# ------------------------------------------------------------------------------ policy


@click.group(name="policy")
def policy_group() -> None:
    """What this organisation shares with each querier (node.toml [[queriers]])."""


@policy_group.command(name="show")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
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
    out.print(f"[bold]{escape(config.organisation)}[/bold] — " + _(
        "catalogue {version}; approved: {approved}").format(
            version=decisions.catalogue_version, approved=", ".join(config.approved_versions)))
    if not decisions.queriers:
        out.print(escape(_("no querier is allowed to ask anything ([[queriers]] in node.toml)")))
        return
    rules = Table(title=_("Queriers"), title_justify="left")
    for name in (_("querier"), _("cap ε per period"), _("ε per query"), _("max cells")):
        rules.add_column(name)
    for q in decisions.queriers:
        rules.add_row(escape(q.identity), q.cap_epsilon, q.epsilon_range, q.max_cells)
    out.print(rules)
    from privacy import format_micro

    for identity, querier in config.queriers.items():  # who behind the querier may ask
        caps = querier.access.operator_caps_epsilon
        if caps is not None:
            listed = ", ".join(f"{escape(o)} ε {format_micro(c)}" for o, c in sorted(caps.items()))
            out.print(_("operators of {identity}, each within its cap per period: {listed}; any "
                        "other operator, or a query no operator signed, is refused").format(
                identity=escape(identity), listed=listed or _("none")))
        elif querier.access.require_operator:
            out.print(_("{identity}: every query must be signed by the operator who asks"
                        ).format(identity=escape(identity)))
    shared_word, not_shared_word = _("shared"), _("not shared")
    for kind, title, rows in (
            ("measure", _("Shared measures"), decisions.measures),
            ("dimension", _("Shared dimensions"), decisions.dimensions)):
        table = Table(title=title, title_justify="left")
        table.add_column(_("measure") if kind == "measure" else _("dimension"))
        for q in decisions.queriers:
            table.add_column(escape(q.identity))
        for name, shared in rows:
            table.add_row(escape(f"{name} ({code_label(kind, name)})"),
                          *(f"[green]{shared_word}[/green]" if s else
                            f"[red]{not_shared_word}[/red]" for s in shared))
        out.print(table)
    out.print(_("A refused query is reported to the querier as \"not shared by this "
                "organisation\" (reason NOT_SHARED_BY_ORGANISATION) and costs nothing."))


# ------------------------------------------------------------------------------ audit log


@click.command(name="audit-log")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def audit_log_cmd(config_path: Path, as_json: bool) -> None:
    """The identity-level exports made from this node (transfers, forms): who, when, what."""
    from node.organisation.audit_log import audit_entries

    _config, runtime = _open(config_path)
    try:
        entries = audit_entries(runtime.store)
    finally:
        runtime.close()
    if as_json:
        dump_json([e.to_json() for e in entries])
        return
    table = Table(title=_("Audit log of identity-level exports"), title_justify="left")
    for name in ("#", _("when"), _("who"), _("what"), _("whose"), _("detail")):
        table.add_column(name)
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if k != "files")
        table.add_row(str(e.sequence), when(e.created_at), escape(e.actor), e.action,
                      e.subject[:12] + ("…" if len(e.subject) > 12 else ""), escape(detail))
    console().print(table)


ORG_COMMANDS = (person_cmd, transfer_cmd, forms_cmd, policy_group, audit_log_cmd)
