"""What a result says beside its numbers (issue 17): clamping, cells without an estimate,
quartiles at bin resolution. Deterministic: the nodes' released vectors are fixed here."""

from __future__ import annotations

import dataclasses
import math

from aggregator import NodeEntry, NodeOutcome, NodeReply, QuorumPolicy, combine_replies
from aggregator.results import SectorResult
from cli.render import clamp_notes, publishable_summary, quantile_table, result_json
from privacy import QuerySpec, Statistic, default_catalogue, validate
from protos import pb2

CAT = default_catalogue()


def _vector(values: list[int], scale: float, fixed_point: int = 1) -> pb2.NoisyVector:
    variance = 2 * scale**2
    return pb2.NoisyVector(values=values, fixed_point_scale=fixed_point,
                           noise=pb2.NOISE_KIND_DISCRETE_LAPLACE, noise_scale=scale,
                           noise_variance=variance)


def _combine(statistic: Statistic, **vectors: pb2.NoisyVector) -> SectorResult:
    query = validate(QuerySpec(CAT.version, "support_hours", statistic, ("region",), (),
                               "2025", 1_000_000), CAT)
    response = pb2.QueryResponse(query_id="q", node_id="a", catalogue_version=CAT.version,
                                 cells=[pb2.Cell(key=list(c)) for c in query.cells],
                                 bins=query.measure.bin_labels if vectors.get("histogram")
                                 else [], **vectors)
    reply = NodeReply(NodeEntry("a", "127.0.0.1:1", "a"), NodeOutcome.ANSWERED, "", response)
    return combine_replies(result_id="r", query_id="q", query=query, replies=[reply],
                           policy=QuorumPolicy(), created_at="now")


def test_a_mean_says_when_many_people_were_clamped_and_counts_cells_without_an_estimate(
) -> None:
    # Three regions: 400 people of whom 80 above 150 h (20%); 400 with 4 clamped (1%); and a
    # region whose noisy count came out negative: no estimate at all.
    result = _combine(Statistic.MEAN,
                      sum=_vector([2_000_000, 2_000_000, 1_000], 100.0, 100),
                      count=_vector([400, 400, -3], 1.0),
                      clamped=_vector([80, 4, 0], 1.0))
    flandres, wallonie, brussels = result.cells
    assert flandres.clamped_share == 0.2
    assert flandres.clamped_share_lower < 0.2 < flandres.clamped_share_upper
    assert flandres.clamp_note.startswith("20% of the people [")
    assert "beyond [0, 150], counted at the nearest bound" in flandres.clamp_note
    assert wallonie.clamped_share == 0.01 and wallonie.clamp_note == ""
    assert math.isnan(brussels.estimate) and not brussels.reliable
    assert publishable_summary(result) == (
        "1 of 3 cells too uncertain to publish; 1 without an estimate (the noisy denominator "
        "is not positive)")
    assert clamp_notes(result) == [f"BE-VLG: {flandres.clamp_note}"]
    cell = result_json(result)["cells"][0]
    assert cell["clamped_share"] == 0.2 and cell["clamp_note"] == flandres.clamp_note


def test_an_answer_without_its_clamped_vector_is_not_combined() -> None:
    result = _combine(Statistic.MEAN, sum=_vector([1, 1, 1], 100.0, 100),
                      count=_vector([400, 400, 400], 1.0))
    assert result.nodes[0].outcome is NodeOutcome.ERROR
    assert result.nodes[0].reason == "answer lacks its clamped vector"


def test_a_sum_names_the_clamped_count_when_it_is_clearly_above_zero() -> None:
    result = _combine(Statistic.SUM, sum=_vector([3_000_000, 1_000, 0], 100.0, 100),
                      clamped=_vector([90, 0, 1], 1.0))
    assert result.cells[0].clamp_note.startswith("about 90 people [")
    assert result.cells[1].clamp_note == result.cells[2].clamp_note == ""
    assert math.isnan(result.cells[0].clamped_share)  # a sum has no denominator


def test_quartiles_are_shown_at_bin_resolution() -> None:
    bins = [150, 50, 50, 50, 50, 50, 50, 50] * 3  # 125th of 500: in [0, 5), clearly
    result = _combine(Statistic.HISTOGRAM, histogram=_vector(bins, 1.0),
                      clamped=_vector([0, 0, 0], 1.0))
    first = result.quantiles[0]
    assert (first.probability, first.ci_lower, first.ci_upper) == (0.25, 0.0, 5.0)
    table = quantile_table(result, title="Quartiles")
    assert table.caption is not None and "bin resolution" in str(table.caption)
    data = result_json(result)
    assert all(q["resolution"] == "bin" for q in data["quantiles"])
    assert "union of whole bins" in data["quantile_method"]
    assert clamp_notes(dataclasses.replace(result, cells=())) == []


def test_a_quartile_in_the_top_bin_of_a_clamped_measure_is_open_above() -> None:
    # Most people in [100, 150], which also holds everyone above 150 h: the third quartile
    # may be anywhere from 100 h up.
    bins = [10, 10, 10, 10, 10, 10, 10, 330] * 3
    result = _combine(Statistic.HISTOGRAM, histogram=_vector(bins, 1.0),
                      clamped=_vector([200, 200, 200], 1.0))
    third = result.quantiles[2]
    assert (third.probability, third.ci_lower, third.ci_upper) == (0.75, 100.0, math.inf)
    data = result_json(result)
    assert data["quantiles"][2]["open_above"] is True
    assert data["quantiles"][2]["ci95"] == [100.0, None]
    assert SectorResult.from_json(result.to_json()).quantiles[2].ci_upper == math.inf
