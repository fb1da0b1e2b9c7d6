"""`koepel audit verify | report`: what an auditor runs, from ledger exports or live nodes.

``verify`` checks a node's ledger — its hash chain, the node's signatures, the totals against the
caps the node states and, given the aggregator's history file, that every answer the node signed
a receipt for is still in the ledger — and names each problem it finds (exit code 10).
``report`` gives per-node, per-querier, per-operator, per-period totals as a table, JSON or CSV
(an operator row counts the charges that operator signed, with its own cap if the node set one).
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from pathlib import Path

import click
import grpc
from rich.table import Table

from aggregator import ReceiptBook
from aggregator.receipts import verify_signature
from cli.client import tls_options
from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _
from cli.render import console, dump_json, styled
from node.store.sealing import is_sealed
from privacy.audit import AuditResult, Finding, LedgerExport, report_rows
from privacy.audit import audit as audit_ledger
from privacy.receipts import LedgerRecord
from protos import pb2, pb2_grpc
from wire.limits import QUERIER_HEADER, check_loopback
from wire.signing_certs import certified_signing_key
from wire.tls import CertError, TlsFiles, channel_credentials

__all__ = ["audit", "fetch_export", "load_export"]


def load_export(path: Path) -> LedgerExport:
    """Read a ledger export file written by `koepel node ledger export`."""
    try:
        data = path.read_bytes()
        if is_sealed(data):
            raise KoepelCliError(_("{path} is sealed: open it first with `koepel decrypt "
                                   "{path} --identity YOUR_KEY --out PLAIN_FILE`").format(
                                       path=path), EXIT["usage"])
        return LedgerExport.from_json(data.decode("utf-8"))
    except OSError as error:
        raise KoepelCliError(_("cannot read {path}: {reason}").format(
            path=path, reason=error.strerror), EXIT["usage"]) from None
    except ValueError as error:
        raise KoepelCliError(f"{path}: {error}", EXIT["usage"]) from None


def fetch_export(address: str, identity: str, tls: TlsFiles | None = None,
                 timeout: float = 30.0) -> LedgerExport:
    """Ask a running node for its signed ledger.

    With ``tls`` (an auditor's certificate) over mutual TLS, where the node reads the identity
    from the certificate; without, plaintext to a loopback demo node naming ``identity``.
    """
    if tls is not None:
        channel = grpc.secure_channel(address, channel_credentials(tls))
        metadata: tuple[tuple[str, str], ...] = ()
    else:
        check_loopback(address)
        channel = grpc.insecure_channel(address)
        metadata = ((QUERIER_HEADER, identity),)
    with channel:
        response = pb2_grpc.NodeServiceStub(channel).ExportLedger(
            pb2.ExportLedgerRequest(), timeout=timeout, metadata=metadata)
    records = tuple(
        LedgerRecord(
            sequence=e.sequence, created_at=e.created_at, querier=e.querier,
            query_id=e.query_id, query_digest=e.query_digest, mechanism=e.mechanism,
            cost_micro=e.cost_micro_epsilon, budget_period=e.budget_period,
            catalogue_version=e.catalogue_version, prev_hash=e.previous_hash,
            entry_hash=e.entry_hash, unit=e.unit, noise=e.noise, operator=e.operator,
            operator_request=e.operator_request)
        for e in response.entries)
    return LedgerExport(response.node_id, records, response.statement, response.signature,
                        response.public_key, response.signing_certificate)


def _exports(files: tuple[Path, ...], nodes: tuple[str, ...], identity: str,
             tls: TlsFiles | None = None) -> list[LedgerExport]:
    if not files and not nodes:
        raise KoepelCliError(_("name a ledger export file, or a node with --node ADDRESS"),
                             EXIT["usage"])
    return [load_export(f) for f in files] + [fetch_export(a, identity, tls) for a in nodes]


def _flags(book: ReceiptBook | None, node_id: str) -> list[Finding]:
    if book is None:
        return []
    return [Finding(f.kind, f"seen by the aggregator at {f.at}: {f.detail}")
            for f in book.flags(node_id)]


def _key_findings(export: LedgerExport, ca_pem: bytes | None) -> list[Finding]:
    """Whether the key that signed the export is the one the federation CA certified."""
    if ca_pem is None:
        return []
    if not export.signing_certificate:
        return [Finding("KEY_UNCERTIFIED", "the export carries no certificate for the node's "
                        "signing key: ask the federation to certify it (`koepel certs "
                        "certify-signing-key`)", severity="warning")]
    try:
        when = datetime.fromisoformat(export.statement.exported_at)
    except ValueError:
        when = None
    try:
        certified = certified_signing_key(export.signing_certificate, ca_pem,
                                          node_id=export.node_id, at=when)
    except CertError as error:
        return [Finding("KEY_NOT_CERTIFIED", str(error))]
    if certified != export.public_key:
        return [Finding("KEY_NOT_CERTIFIED", "the federation CA certified another key than "
                        "the one that signed this export")]
    return []


def _findings_table(result: AuditResult) -> Table:
    table = Table(title=_("Problems in the ledger of {node}").format(node=result.node_id),
                  title_justify="left")
    for name in (_("kind"), _("entry"), _("detail")):
        table.add_column(name)
    for finding in result.findings:
        kind = (finding.kind if finding.severity == "error"
                else _("{kind} (warning)").format(kind=finding.kind))
        table.add_row(kind, "" if finding.sequence is None else str(finding.sequence),
                      finding.detail)
    return table


def _result_json(result: AuditResult) -> dict[str, object]:
    return {
        "node_id": result.node_id, "ok": result.ok, "entries": result.entries,
        "receipts_checked": result.receipts_checked,
        "findings": [{"kind": f.kind, "severity": f.severity, "sequence": f.sequence,
                      "detail": f.detail} for f in result.findings],
        "totals": report_rows(result),
    }


@click.group(name="audit")
def audit() -> None:
    """Verify nodes' privacy ledgers and report what was spent."""


NODE_OPTION = click.option("--node", "nodes", multiple=True, metavar="ADDRESS",
                           help=N_("Fetch the ledger from a running node instead. Repeatable."))
IDENTITY_OPTION = click.option("--identity", default="auditor", show_default=True,
                               help=N_("Identity presented to a plaintext demo node (with TLS the "
                                  "certificate names you)."))


@audit.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@NODE_OPTION
@IDENTITY_OPTION
@tls_options
@click.option("--history", "history_path", type=click.Path(exists=True, path_type=Path),
              default=None, help=N_("The aggregator's history file: its receipts prove that no "
                 "receipted entry is missing."))
@click.option("--federation-ca", "federation_ca", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=N_("The federation CA certificate that must certify each node's signing key "
                      "(default: --ca when given)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@handle_errors
def verify(files: tuple[Path, ...], nodes: tuple[str, ...], identity: str, tls: TlsFiles | None,
           history_path: Path | None, federation_ca: Path | None, as_json: bool) -> None:
    """Check ledger exports (FILES) or live nodes: chain, signatures, signing keys against the
    federation CA, caps, receipts."""
    exports = _exports(files, nodes, identity, tls)
    ca_path = federation_ca or (tls.ca if tls is not None else None)
    ca_pem = ca_path.read_bytes() if ca_path is not None else None
    book = ReceiptBook(history_path) if history_path is not None else None
    try:
        results = [audit_ledger(e, book.receipts(e.node_id) if book else (), verify_signature,
                                _flags(book, e.node_id) + _key_findings(e, ca_pem))
                   for e in exports]
    finally:
        if book is not None:
            book.close()
    rounds = (_transcript_check(history_path, ca_pem)
              if history_path is not None and ca_pem is not None else None)
    if as_json:
        dump_json([_result_json(r) for r in results] + (
            [{"secure_rounds": {"checked": rounds[0], "problems": rounds[1]}}] if rounds else []))
    else:
        out = console()
        if rounds is not None:
            out.print(_("secure-aggregation transcripts: {checked} checked, {problems} with "
                        "problems").format(checked=rounds[0], problems=len(rounds[1])))
            for problem in rounds[1]:
                out.print(f"  [red]{problem}[/red]")
        for result in results:
            receipts = (_(", {receipts} receipts checked").format(
                receipts=result.receipts_checked) if history_path
                else _(", no receipts given (rollbacks cannot be detected)"))
            verdict = (styled("green", _("no problems")) if result.ok
                       else styled("red", _("PROBLEMS")))
            out.print(_("{node}: {entries} entries{receipts}: {verdict}").format(
                node=result.node_id, entries=result.entries, receipts=receipts,
                verdict=verdict))
            if ca_pem is None:
                out.print("  " + _("signing key not checked against the federation CA (give "
                                   "--federation-ca ca.crt)"))
            for row in report_rows(result):  # who spent the queriers' budgets
                if row["operator"]:
                    cap = (_(" of its own cap {cap}").format(cap=row["cap"])
                           if row["cap"] is not None else "")
                    out.print("  " + _("operator {operator} ({querier}, {period}): spent "
                                       "{spent} {unit}").format(**row) + cap)
            if result.findings:
                out.print(_findings_table(result))
    if not all(r.ok for r in results) or (rounds is not None and rounds[1]):
        raise SystemExit(EXIT["audit"])


def _transcript_check(history_path: Path, ca_pem: bytes) -> tuple[int, list[str]]:
    """Every secure round the aggregator kept: its roster, signatures and U1/U2/dropped."""
    import json

    from aggregator import SqliteHistory
    from wire.secagg import Roster, SecAggError, verify_transcript

    history = SqliteHistory(history_path)
    checked, problems = 0, []
    try:
        for result in history.recent(1000):
            if result.aggregation != "secure" or not result.transcript:
                continue
            checked += 1
            try:
                record = json.loads(result.transcript)
                roster = Roster.from_bytes(bytes.fromhex(record["roster"]))
                verify_transcript(record, roster, ca_pem)
            except (SecAggError, KeyError, ValueError) as error:
                problems.append(f"result {result.result_id}: {error}")
    finally:
        history.close()
    return checked, problems


@audit.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@NODE_OPTION
@IDENTITY_OPTION
@tls_options
@click.option("--json", "as_json", is_flag=True, help=N_("JSON instead of a table."))
@click.option("--csv", "as_csv", is_flag=True, help=N_("CSV instead of a table."))
@handle_errors
def report(files: tuple[Path, ...], nodes: tuple[str, ...], identity: str, tls: TlsFiles | None,
           as_json: bool, as_csv: bool) -> None:
    """Spent per node, querier (and operator who signed) and period, with the caps, from
    FILES or live nodes."""
    if as_json and as_csv:
        raise KoepelCliError(_("choose one of --json and --csv"), EXIT["usage"])
    rows = [row for e in _exports(files, nodes, identity, tls)
            for row in report_rows(audit_ledger(e, (), verify_signature))]
    if as_json:
        dump_json(rows)
        return
    columns = ["node", "querier", "operator", "period", "unit", "spent", "cap",
               "spent_epsilon", "within_cap", "cap_flag"]
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    headers = {"node": N_("node"), "querier": N_("querier"), "operator": N_("operator"),
               "period": N_("period"),
               "unit": N_("unit"), "spent": N_("spent"), "cap": N_("cap"),
               "spent_epsilon": N_("spent ε"), "within_cap": N_("within the cap"),
               "cap_flag": N_("cap warning")}
    table = Table(title=_("Privacy loss spent"), title_justify="left")
    for name in columns:
        table.add_column(_(headers[name]), justify="right" if name in (
            "spent", "cap", "spent_epsilon") else "left")
    for row in rows:
        table.add_row(*("–" if row[c] is None else str(row[c]) for c in columns))
    console().print(table)

