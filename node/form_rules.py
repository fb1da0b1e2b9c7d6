"""node.toml ``[forms]``: every assumption the Walloon insertion-enterprise forms make, as a
setting the organisation can change (docs/organisation.md states each one and its legal basis).

The administration's annex layouts are not public and the decree leaves some choices to the
execution order and to the administration's practice, so nothing here is hard-coded in the
forms: a federation or an organisation that reads a rule differently changes the setting, and
the forms say which settings they were computed under.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from node.imports.records import EXIT_REASONS, SUBSIDY_SCHEMES

__all__ = ["FORM_RULE_KEYS", "FormRules", "FormRulesError", "parse_form_rules"]


class FormRulesError(ValueError):
    """A ``[forms]`` setting is not valid; the message names the key and what is allowed."""


@dataclass(frozen=True)
class FormRules:
    """The forms' assumptions, with the defaults docs/organisation.md argues for."""

    # The full-time week of a contract whose joint committee's reference was not imported.
    fulltime_hours: float = 38.0
    # "Maintien de l'effectif": the reference is the average global FTE of this many quarters
    # before the quarter of each subsidised hire, and it must hold this many years after it.
    reference_quarters: int = 4
    maintenance_years: int = 3
    # Whether the volume must stay at the reference *plus* the subsidised hire's own FTE (the
    # hire was a net increase) or at the reference only.
    net_increase: bool = True
    # Departures that do not count against the maintained volume (the person's FTE is counted
    # as still there from their exit on).
    neutralised_exit_reasons: tuple[str, ...] = ("RESIGNATION", "RETIREMENT",
                                                 "DISMISSAL_SERIOUS_FAULT")
    # The subsidy schemes whose hires must keep the volume up, and which make Annexe 1.
    subsidised_schemes: tuple[str, ...] = ("WAL_EI_TD", "WAL_EI_TGD")
    # The approval's minimum share of disadvantaged (TD or TGD at hiring) and of severely
    # disadvantaged (TGD) workers, over all workers, in FTE over the year or in headcount on
    # 31 December; 0 switches a check off.
    min_disadvantaged_share: float = 0.5
    min_severely_disadvantaged_share: float = 0.0
    share_basis: str = "fte"

    def describe(self) -> list[tuple[str, str]]:
        """The settings as (key, value) pairs, for the forms' information sheet."""
        return [
            ("fulltime_hours", f"{self.fulltime_hours:g}"),
            ("reference_quarters", str(self.reference_quarters)),
            ("maintenance_years", str(self.maintenance_years)),
            ("net_increase", "true" if self.net_increase else "false"),
            ("neutralised_exit_reasons", ", ".join(self.neutralised_exit_reasons)),
            ("subsidised_schemes", ", ".join(self.subsidised_schemes)),
            ("min_disadvantaged_share", f"{self.min_disadvantaged_share:g}"),
            ("min_severely_disadvantaged_share", f"{self.min_severely_disadvantaged_share:g}"),
            ("share_basis", self.share_basis),
        ]


FORM_RULE_KEYS = frozenset(FormRules.__dataclass_fields__)


def _number(where: str, table: Mapping[str, Any], key: str, default: float, low: float,
            high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FormRulesError(f"{where}: {key} must be a number from {low:g} to {high:g}")
    return float(value)


def _whole(where: str, table: Mapping[str, Any], key: str, default: int, low: int,
           high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FormRulesError(f"{where}: {key} must be a whole number from {low} to {high}")
    return value


def _codes(where: str, table: Mapping[str, Any], key: str, default: tuple[str, ...],
           allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed
                                              for v in value):
        raise FormRulesError(f"{where}: {key} must be a list of codes among "
                             f"{', '.join(allowed)}")
    return tuple(value)


def parse_form_rules(where: str, table: Mapping[str, Any]) -> FormRules:
    """``[forms]`` as :class:`FormRules`; a missing key keeps its default."""
    unknown = sorted(set(table) - FORM_RULE_KEYS)
    if unknown:
        raise FormRulesError(f"{where}: unknown key(s) {', '.join(unknown)}")
    default = FormRules()
    net = table.get("net_increase", default.net_increase)
    if not isinstance(net, bool):
        raise FormRulesError(f"{where}: net_increase must be true or false")
    basis = table.get("share_basis", default.share_basis)
    if basis not in ("fte", "headcount"):
        raise FormRulesError(f"{where}: share_basis must be \"fte\" or \"headcount\"")
    return FormRules(
        fulltime_hours=_number(where, table, "fulltime_hours", default.fulltime_hours, 20, 40),
        reference_quarters=_whole(where, table, "reference_quarters",
                                  default.reference_quarters, 1, 12),
        maintenance_years=_whole(where, table, "maintenance_years", default.maintenance_years,
                                 1, 10),
        net_increase=net,
        neutralised_exit_reasons=_codes(where, table, "neutralised_exit_reasons",
                                        default.neutralised_exit_reasons, EXIT_REASONS),
        subsidised_schemes=_codes(where, table, "subsidised_schemes",
                                  default.subsidised_schemes, SUBSIDY_SCHEMES),
        min_disadvantaged_share=_number(where, table, "min_disadvantaged_share",
                                        default.min_disadvantaged_share, 0, 1),
        min_severely_disadvantaged_share=_number(
            where, table, "min_severely_disadvantaged_share",
            default.min_severely_disadvantaged_share, 0, 1),
        share_basis=basis,
    )
