"""How budget lines read in `koepel nodes` and `koepel demo`: node-wide and lifetime lines
are named in words, not by the wire's placeholders (querier ``*``, period ``all``)."""

from __future__ import annotations

from rich.console import Console

from cli.render import budget_table


def render(rows: list[tuple[str, str, str, float, float]]) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(budget_table(rows, title="budget"))
    return console.export_text()


def test_node_wide_and_lifetime_lines_read_as_words() -> None:
    text = render([("org-a", "federation", "2025", 0.5, 2.5),
                   ("org-a", "*", "2025", 0.5, 5.5),
                   ("org-a", "*", "all", 0.5, 29.5)])
    lines = text.splitlines()
    assert any("federation" in line and "2025" in line and "2.5" in line for line in lines)
    assert any("all queriers" in line and "2025" in line and "5.5" in line for line in lines)
    assert any("all queriers" in line and "all periods" in line and "29.5" in line
               for line in lines)
    assert "*" not in text
