"""The organisation's report and its printable page in the manager's language: titles, cells,
units, notes and figures left out through the catalogues, numbers in the locale, one
self-contained page whose only style is allowed by its hash (a real uvicorn server over a real
SQLCipher store holding a synthetic insertion enterprise)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import date

import pytest

from node import load_node_config, open_node
from node.organisation.web import add_account
from tests.conftest import create_node
from tests.web_support import Client, import_synthetic, serving, web_settings

PASSWORD = "correct horse battery staple"
ENGLISH = ("accompaniment and employment", "as in the federation's figures",
           "People under contract on the last day", "hours per person", "Not shown",
           "no support action in the period", "persons: people with a plan")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runtime = open_node(load_node_config(create_node(tmp_path_factory.mktemp("report"))))
    import_synthetic(runtime, 80)
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    add_account(runtime.store, "lea", PASSWORD, role="manager", language="fr")
    add_account(runtime.store, "eve", PASSWORD, role="manager", language="en")
    try:
        with serving(web_settings(runtime, today=lambda: date(2025, 11, 15))) as base:
            yield base
    finally:
        runtime.close()


def _get(base: str, user: str, path: str) -> tuple[str, dict[str, str]]:
    client = Client(base)
    assert client.login(user, PASSWORD).status == 303
    reply = client.get(path)
    assert reply.status == 200, reply.body
    return reply.body, dict(reply.headers.items())


def test_the_printable_report_in_dutch_and_french(app: str) -> None:
    dutch, headers = _get(app, "marc", "/manage/report/print?period=2025")
    assert '<html lang="nl">' in dutch and "<script" not in dutch and "<link" not in dutch
    assert "begeleiding en tewerkstelling, 2025" in dutch
    assert "Personen onder contract op de laatste dag" in dutch
    assert "elke persoon telt voor hoogstens" in dutch  # the notes, translated
    assert "zoals in de cijfers van de federatie" in dutch
    assert dutch.count("<section>") >= 10 and dutch.count("<svg") >= 10
    for text in ENGLISH:
        assert text not in dutch, text
    style = re.search(r"<style>(.*?)</style>", dutch, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    policy = headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in policy and "unsafe-inline" not in policy
    assert headers["cache-control"] == "no-store"

    french, _ = _get(app, "lea", "/manage/report/print?period=2025")
    assert '<html lang="fr">' in french and "accompagnement et emploi, 2025" in french
    assert "comme dans les chiffres de la fédération" in french
    assert re.search(r"\d+,\d", french)  # decimal commas
    for text in ENGLISH:
        assert text not in french, text

    english, _ = _get(app, "eve", "/manage/report/print?period=2025")
    assert "accompaniment and employment, 2025" in english


def test_figures_left_out_are_said_in_the_users_language(app: str) -> None:
    quarter, _ = _get(app, "marc", "/manage/report/print?period=2025-Q2")
    assert "Nog onder contract 12 maanden later: niet getoond" in quarter
    page, _ = _get(app, "lea", "/manage/report?period=2025-Q2")
    assert "Toujours sous contrat 12 mois plus tard : non affiché" in page
    assert "/manage/report/print?period=2025-Q2" in page and "Version imprimable" in page
