"""The organisation's room: what the organisation's own staff see and export, exactly and locally.

One person's record (``person``), the local and organisational reports and their HTML page
(``report``, ``org_report``, ``report_html``), the Walloon forms (``forms``), the transfer of a
person's records (``transfer``), what is shared with whom (``sharing``), the local audit log
of identity-level views and exports (``audit_log``), and the staff's web app over all of these
(``web``, served by `koepel node web`). Nothing here crosses the wire.
"""

from node.organisation.audit_log import AuditEntry, audit_entries, record_export
from node.organisation.forms import EiForms, build_forms
from node.organisation.person import PersonNotFound, PersonRecord, person_record
from node.organisation.report import LocalReport, build_report
from node.organisation.report_html import render_html
from node.organisation.sharing import SharingDecisions, sharing_decisions
from node.organisation.transfer import TRANSFER_FORMAT, build_transfer

__all__ = [
    "TRANSFER_FORMAT",
    "AuditEntry",
    "EiForms",
    "LocalReport",
    "PersonNotFound",
    "PersonRecord",
    "SharingDecisions",
    "audit_entries",
    "build_forms",
    "build_report",
    "build_transfer",
    "person_record",
    "record_export",
    "render_html",
    "sharing_decisions",
]
