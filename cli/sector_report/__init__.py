"""The sector report (`koepel report`): every shared measure, in French, Dutch or English.

Figures grouped as the sector thinks of them, trends over the years from the history, splits
by kind or region of organisation, and a method page; written as one self-contained HTML page
(``render_html``), a PDF printed from it by headless Chromium (``html_to_pdf``) or a workbook
(``render_xlsx``). Text goes through the gettext domain ``reports`` (``translations/``).
"""

from cli.sector_report.build import (
    HISTORY_SCAN,
    ask,
    default_title,
    matching,
    patiently,
    split_figures,
    trends,
    year_range,
)
from cli.sector_report.html import render_html
from cli.sector_report.model import Figure, SectorReport, Trend
from cli.sector_report.pdf import PdfUnavailable, html_to_pdf
from cli.sector_report.splits import GroupResult, Split, SplitRefused, split_result
from cli.sector_report.text import Text, text_for
from cli.sector_report.xlsx import render_xlsx

__all__ = ["HISTORY_SCAN", "Figure", "GroupResult", "PdfUnavailable", "SectorReport", "Split",
           "SplitRefused", "Text", "Trend", "ask", "default_title", "html_to_pdf", "matching",
           "patiently", "render_html", "render_xlsx", "split_figures", "split_result", "text_for",
           "trends", "year_range"]
