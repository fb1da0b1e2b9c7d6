"""The report as PDF: the HTML page printed by headless Chromium, driven by Playwright.

A browser's print engine rather than a hand-written renderer or WeasyPrint: the PDF is the very
page the HTML report shows (same CSS, same inline SVG, A4 ``@page`` rules), and WeasyPrint needs
Pango, which a minimal Debian does not have. Chromium runs offline (the page holds no link to
fetch anyway) from ``/usr/bin/chromium`` or ``KOEPEL_CHROMIUM``; Playwright never downloads a
browser of its own here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "PdfUnavailable", "chromium_path", "html_to_pdf"]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


class PdfUnavailable(Exception):
    """Playwright or Chromium is missing: the message says what to install."""


def chromium_path() -> Path:
    return Path(os.environ.get("KOEPEL_CHROMIUM", "/usr/bin/chromium"))


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` on A4 with its backgrounds (the hatching of uncertain figures)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise PdfUnavailable("--format pdf needs Playwright: pip install 'koepel[pdf]' (no "
                             "browser download is needed) and Chromium (Debian: apt-get install "
                             "chromium); --format html needs nothing") from None
    chromium = chromium_path()
    if not chromium.is_file():
        raise PdfUnavailable(f"--format pdf needs Chromium at {chromium}: install it "
                             "(Debian: apt-get install chromium) or set KOEPEL_CHROMIUM to "
                             "its path; --format html needs nothing") from None
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(chromium),
                                                 args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(offline=True)
                page = context.new_page()
                page.set_content(html, wait_until="load")
                return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            finally:
                browser.close()
    except Error as error:
        raise PdfUnavailable(f"Chromium could not print the report: {error.message}") from None
