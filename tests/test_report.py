"""The indicator sets, report dry runs, and the HTML/SVG rendering (no network)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from aggregator import CellResult, NodeOutcome, NodePlan, QueryPlan, merge_plans
from aggregator.indicators import REPORTS, report_queries
from cli.render import Display, fmt
from cli.sector_report import Figure, SectorReport, render_html, text_for
from cli.sector_report.charts import bar_chart
from privacy import InvalidQueryError, Statistic, default_catalogue
from tests.fake_nodes import sample_result

CATALOGUE = default_catalogue()


def test_the_yearly_set_fits_the_catalogue_and_splits_epsilon_exactly() -> None:
    queries = report_queries("yearly", period="2025", epsilon_micro=3_000_001,
                             catalogue=CATALOGUE)
    assert len(queries) == len(REPORTS["yearly"])
    assert sum(spec.epsilon_micro for _, spec in queries) == 3_000_001
    weights = {i.key: i.weight for i, _ in queries}
    shares = {i.key: spec.epsilon_micro for i, spec in queries}
    assert shares["transition_rate"] == 2 * shares["headcount_gender"]
    assert weights["headcount_target_group"] == 2


def test_reports_refuse_what_they_cannot_do() -> None:
    with pytest.raises(InvalidQueryError, match="unknown report 'monthly'"):
        report_queries("monthly", period="2025", epsilon_micro=1_000_000, catalogue=CATALOGUE)
    with pytest.raises(InvalidQueryError, match="too small to split"):
        report_queries("yearly", period="2025", epsilon_micro=5, catalogue=CATALOGUE)
    with pytest.raises(InvalidQueryError, match="period"):
        report_queries("yearly", period="last year", epsilon_micro=1_000_000,
                       catalogue=CATALOGUE)


def plan(*nodes: NodePlan) -> QueryPlan:
    return QueryPlan(nodes[0].cost_micro or 100, 3, nodes, True)


def test_a_report_dry_run_follows_each_budget_through_the_figures() -> None:
    figures = [
        plan(NodePlan("rich", NodeOutcome.ANSWERED, "", 100, 1_000, "2025"),
             NodePlan("tight", NodeOutcome.ANSWERED, "", 100, 150, "2025"),
             NodePlan("old", NodeOutcome.CATALOGUE_VERSION, "approved: 2024.1", 0, 500, "2025")),
        plan(NodePlan("rich", NodeOutcome.ANSWERED, "", 100, 1_000, "2025"),
             NodePlan("tight", NodeOutcome.ANSWERED, "", 100, 150, "2025"),
             NodePlan("old", NodeOutcome.CATALOGUE_VERSION, "approved: 2024.1", 0, 500, "2025")),
    ]
    rich, tight, old = merge_plans(figures).nodes
    assert (rich.expected, rich.cost_micro, rich.remaining_after_micro) == (
        NodeOutcome.ANSWERED, 200, 800)
    assert tight.expected is NodeOutcome.BUDGET_EXHAUSTED
    assert (tight.cost_micro, tight.remaining_after_micro) == (100, 50)
    assert "for a later figure" in tight.reason and "still cost ε=0.0001" in tight.reason
    assert (old.expected, old.cost_micro, old.remaining_after_micro) == (
        NodeOutcome.CATALOGUE_VERSION, 0, 500)
    with pytest.raises(ValueError):
        merge_plans([])


def test_numbers_never_show_a_negative_zero() -> None:
    assert fmt(-0.0001, Display(digits=2)) == "0.00"
    assert fmt(-0.3, Display(100.0, 1, " %")) == "-30.0 %"
    assert fmt(math.nan) == "–"


def gain_result():  # type: ignore[no-untyped-def]
    result = sample_result("g1")
    spec = replace(result.spec, measure="competence_gain", statistic=Statistic.MEAN,
                   group_by=())
    cells = (CellResult((), -0.05, 0.1, -0.25, 0.15, False, "relative standard error 200% "
                        "above 25%", -0.05, -0.25, 0.15),)
    return replace(result, spec=spec, group_by=(), cells=cells)


def test_charts_are_well_formed_svg_with_negative_values_and_missing_cells() -> None:
    result = sample_result("r1")  # one cell without an estimate
    svg = bar_chart(result, text_for("en"), title="Hours & <support>")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "Hours &amp; &lt;support&gt;" in svg and "no estimate" in svg
    negative = bar_chart(gain_result(), text_for("en"), title="gain")
    ET.fromstring(negative)
    assert "-0.20" in negative and "(too uncertain)" in negative
    assert 'fill="url(#hatch)"' in negative
    french = bar_chart(gain_result(), text_for("fr"), title="gain")
    assert "-0,20" in french and "(trop incertain)" in french


def test_the_report_is_valid_and_explains_itself() -> None:
    indicators = {i.key: i for i in REPORTS["sector"]}
    figures = (Figure(indicators["support_hours"], sample_result("r1")),
               Figure(indicators["competence_gain"], gain_result()))
    report = SectorReport(title="Sector figures", federation="Atout EI", period="2025",
                          generated_at="2026-01-15T10:00:00+00:00", figures=figures)
    html = render_html(report, "en")
    for svg in re.findall(r"<svg.*?</svg>", html, re.S):
        ET.fromstring(svg)
    assert "Atout EI · reference period 2025 · generated 15/01/2026 10:00 UTC" in html
    assert "at most ε = 1" in html  # 0.5 + 0.5
    assert "2 figures are incomplete" in html
    assert "1 of 3 organisations answered. Not included: n1 (out of budget); n2 (too slow)." \
        in html
    assert "How these figures were made" in html and "keeps its 95% meaning" in html
    assert html.index("What support they get") < html.index("How they progress")
