"""What the report calls the kinds of organisation, the outcomes and the catalogue's codes.

The catalogue's codes are shared with the node's side-by-side page
(``node.organisation.sector.labels``). The kinds of organisation are federation.toml's ``kind``
attribute (DOMAIN.md's ``org_type``), used to split the report.
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator import NodeOutcome
from i18n import N_
from node.organisation.sector.labels import CODE_LABELS
from node.organisation.sector.labels import label_of as node_label_of

__all__ = ["ATTRIBUTES", "CODE_LABELS", "KIND_LABELS", "OUTCOMES", "label_of"]

# What became of an organisation's part in a figure, as the report says it.
OUTCOMES: Mapping[NodeOutcome, str] = {
    NodeOutcome.ANSWERED: N_("answered"),
    NodeOutcome.UNAVAILABLE: N_("down"),
    NodeOutcome.DEADLINE_EXCEEDED: N_("too slow"),
    NodeOutcome.BUDGET_EXHAUSTED: N_("out of budget"),
    NodeOutcome.CATALOGUE_VERSION: N_("other catalogue"),
    NodeOutcome.REFUSED: N_("refused"),
    NodeOutcome.NOT_SHARED: N_("not shared by this organisation"),
    NodeOutcome.INVALID: N_("invalid"),
    NodeOutcome.ERROR: N_("error"),
}

KIND_LABELS: Mapping[str, Mapping[str, str]] = {
    "kind": {
        "MAATWERKBEDRIJF": N_("custom work company (maatwerkbedrijf)"),
        "MAATWERKAFDELING": N_("custom work department (maatwerkafdeling)"),
        "LDE": N_("local services economy (LDE)"),
        "ARBEIDSMATIGE_ACT": N_("work-like activities"),
        "IMW_EMPLOYER": N_("employer with individual custom work"),
        "ETA_WAL": N_("adapted work enterprise, Wallonia (ETA)"),
        "ETA_BXL": N_("adapted work enterprise, Brussels (ETA)"),
        "ETA_DG": N_("adapted work enterprise, German-speaking Community"),
        "EI_WAL": N_("insertion enterprise, Wallonia (EI)"),
        "EI_BXL": N_("insertion enterprise, Brussels"),
        "IDESS": N_("local social economy initiative (IDESS)"),
        "CISP_EFT": N_("socio-professional integration centre (CISP, EFT)"),
        "CISP_DEFI": N_("socio-professional integration centre (CISP, DéFI)"),
        "CISP_MIXED": N_("socio-professional integration centre (CISP)"),
        "SIS": N_("social integration service (SIS)"),
        "ILDE_BXL": N_("local development initiative, Brussels (ILDE)"),
        "CPAS": N_("public social welfare centre (CPAS/OCMW)"),
    },
}
# The node attributes of federation.toml a report can be split by, and what each is called.
ATTRIBUTES: Mapping[str, str] = {"kind": N_("kind of organisation"),
                                 "region": N_("region of the organisation")}


def label_of(dimension: str, code: str) -> str:
    """The msgid for ``code`` of ``dimension`` (a node's region reads as the region's)."""
    return node_label_of(dimension, code, KIND_LABELS)
