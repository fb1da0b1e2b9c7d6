"""The web app in a real browser: Debian's headless Chromium (/usr/bin/chromium, installed by
`make test`) driven by Playwright. Playwright's own browser download is never used.

A job coach signs in, creates a person, adds a contract, a support action, two competence
assessments and a support plan with two goals, and sees them on the person page; a manager
sees the reminders, the report and the sharing page; a job coach is refused them; a wrong
password is throttled. Screenshots of
the main pages are written as test artefacts to ``$KOEPEL_WEB_SCREENSHOTS`` (default: a
``web-screenshots`` folder in the test's temporary directory), and their paths printed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from node import NodeRuntime, audit_entries
from node.organisation.web import add_account
from node.organisation.web.sessions import LoginThrottle
from tests.web_support import import_synthetic, serving, web_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed at /usr/bin/chromium: run `make "
                    "browser-deps` (apt-get install -y --no-install-recommends chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("KOEPEL_WEB_SCREENSHOTS", tmp_path / "web-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page: object, base: str, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("#username", user)  # type: ignore[attr-defined]
    page.fill("#password", password)  # type: ignore[attr-defined]
    page.click("form[action='/login'] button")  # type: ignore[attr-defined]


def _add_person(page: object, fields: dict[str, str], shot: Path | None = None) -> None:
    """Fill in the new-person form (text inputs and selects by id) and send it."""
    page.click("text=Ajouter une personne")  # type: ignore[attr-defined]
    for selector, value in fields.items():
        if page.locator(selector).evaluate("e => e.tagName") == "SELECT":  # type: ignore[attr-defined]
            page.select_option(selector, value)  # type: ignore[attr-defined]
        else:
            page.fill(selector, value)  # type: ignore[attr-defined]
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
    page.click("text=Ajouter la personne")  # type: ignore[attr-defined]


def test_a_job_coach_records_a_person_and_a_manager_follows_up(
        browser: object, node_factory: Callable[..., NodeRuntime], shots: Path) -> None:
    runtime = node_factory()
    import_synthetic(runtime, 60)
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    add_account(runtime.store, "eve", PASSWORD, role="manager", language="en")
    settings = web_settings(runtime, today=lambda: date(2025, 11, 15),
                            throttle=LoginThrottle(free=3, base=60.0))
    with serving(settings) as base:
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        _sign_in(page, base, "anna")
        assert page.url.endswith("/people")
        assert page.locator("h1").inner_text() == "Personnes"
        page.screenshot(path=str(shots / "people-list-fr.png"))

        _add_person(page, {"#person_id": "HR-2025-0042", "#birth_year": "1990", "#gender": "F",
                           "#education_level": "LOWER_SEC",
                           "#target_group": "TG_SEVERELY_DISADV", "#region": "BE-WAL"},
                    shot=shots / "person-new-fr.png")
        assert "La personne a été ajoutée." in page.inner_text(".flash")
        person_url = page.url

        page.click("#contracts summary")
        page.select_option("#role", "TARGET_WORKER")
        page.select_option("#contract_type", "FIXED_TERM")
        page.fill("#weekly_hours", "30,5")
        page.fill("#start_date", "2025-02-03")
        page.fill("#end_date", "2025-12-19")
        page.click("text=Ajouter le contrat")
        assert page.url.startswith(person_url)

        page.click("#support-actions summary")
        page.fill("#action_date", "2025-03-10")
        page.fill("#duration_min", "75")
        page.select_option("#action_code", "SA07")
        page.click("text=Ajouter l'action")

        for when, score, context_code in (("2025-02-10", "2", "INTAKE"),
                                          ("2025-10-01", "4", "PERIODIC")):
            page.click("#assessments summary")
            page.fill("#assessment_date", when)
            page.select_option("#competence_code", "C05")
            page.select_option("#score_norm", score)
            page.select_option("#assessor", "COACH")
            page.select_option("#context", context_code)
            page.click("text=Ajouter l'évaluation")

        page.click("#plans > details > summary")
        page.fill("#plans #start_date", "2025-02-03")
        page.select_option("#goal_1_domain", "WORK_SKILLS")
        page.select_option("#goal_1_status", "OPEN")
        page.select_option("#goal_2_domain", "MOBILITY")
        page.select_option("#goal_2_status", "ACHIEVED")
        page.click("text=Ajouter le plan")
        plans = page.inner_text("#plans")
        assert "compétences professionnelles: en cours" in plans
        assert "mobilité: atteint" in plans

        # A mistake is refused with a message on the field, in French.
        page.click("#support-actions summary")
        page.fill("#action_date", "2025-03-11")
        page.fill("#duration_min", "900")
        page.click("text=Ajouter l'action")
        assert "doit être compris entre 1 – 600" in page.inner_text("#support-actions")

        page.goto(person_url)
        contracts = page.inner_text("#contracts")
        assert "durée déterminée" in contracts and "30,5" in contracts
        assert "19/12/2025" in contracts
        actions = page.inner_text("#support-actions")
        assert "recherche d'emploi" in actions and "1,25 h" in actions
        assessments = page.inner_text("#assessments")
        assert "autonomie / initiative" in assessments and "+0,50" in assessments
        page.screenshot(path=str(shots / "person-page-fr.png"), full_page=True)

        # A job coach is refused the manager's pages.
        response = page.goto(f"{base}/manage/report")
        assert response is not None and response.status == 403
        assert "réservée aux responsables" in page.inner_text("main")
        context.close()

        manager = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = manager.new_page()
        _sign_in(page, base, "marc")
        page.goto(f"{base}/manage/reminders")
        assert page.locator("h1").inner_text() == "Herinneringen"
        # Her contract ends within 60 days and her plan (never reviewed) is overdue for review.
        assert page.locator(f"a[href='{person_url.removeprefix(base)}']").count() == 2
        page.screenshot(path=str(shots / "reminders-nl.png"), full_page=True)
        page.goto(f"{base}/manage/report?period=2025")
        assert "Rapport van de organisatie, 2025" in page.inner_text("h1")
        assert page.locator("svg.chart").count() >= 5
        page.screenshot(path=str(shots / "report-nl.png"))
        page.goto(f"{base}/manage/sharing")
        assert "federation" in page.inner_text("main")
        page.screenshot(path=str(shots / "sharing-nl.png"), full_page=True)
        page.goto(f"{base}/manage/forms?year=2025")
        assert "Bijlage 2" in page.inner_text("main")
        page.screenshot(path=str(shots / "forms-nl.png"), full_page=True)
        page.goto(f"{base}/manage/audit")
        assert "voegde een persoon toe" in page.inner_text("main")
        assert "HR-2025-0042" not in page.content()
        page.screenshot(path=str(shots / "audit-nl.png"))
        manager.close()

        english = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = english.new_page()
        _sign_in(page, base, "eve")
        page.goto(person_url)
        assert "Competence assessments" in page.inner_text("main")
        page.screenshot(path=str(shots / "person-page-en.png"), full_page=True)
        english.close()

        # A wrong password, again and again: throttled, even when the right one comes.
        stranger = browser.new_context(locale="fr-BE")  # type: ignore[attr-defined]
        page = stranger.new_page()
        for _ in range(3):
            _sign_in(page, base, "anna", "not the password")
            assert "incorrect" in page.inner_text(".error")
        _sign_in(page, base, "anna")
        assert "Trop de tentatives" in page.inner_text(".error")
        page.screenshot(path=str(shots / "login-throttled-fr.png"))
        stranger.close()
    written = sorted(p.name for p in shots.glob("*.png"))
    print(f"screenshots in {shots}: {', '.join(written)}")
    assert {"people-list-fr.png", "person-new-fr.png", "person-page-fr.png", "reminders-nl.png",
            "report-nl.png", "sharing-nl.png", "forms-nl.png", "audit-nl.png",
            "person-page-en.png", "login-throttled-fr.png"} <= set(written)


def test_a_job_coach_changes_and_deletes_what_was_recorded(
        browser: object, node_factory: Callable[..., NodeRuntime], shots: Path) -> None:
    runtime = node_factory()
    add_account(runtime.store, "anna", PASSWORD, role="job_coach", language="fr")
    add_account(runtime.store, "joke", PASSWORD, role="job_coach", language="nl")
    with serving(web_settings(runtime, today=lambda: date(2025, 11, 15))) as base:
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        _sign_in(page, base, "anna")
        _add_person(page, {"#person_id": "HR-2025-0077", "#display_name": "Karim Benali",
                           "#birth_year": "1986", "#gender": "M",
                           "#education_level": "UPPER_SEC", "#target_group": "TG_DISADV",
                           "#region": "BE-BRU"})
        person_url = page.url
        page.click("#support-actions summary")
        page.fill("#action_date", "2025-03-10")
        page.fill("#duration_min", "75")
        page.select_option("#action_code", "SA07")
        page.click("text=Ajouter l'action")
        page.click("#assessments summary")
        page.fill("#assessment_date", "2025-02-10")
        page.select_option("#competence_code", "C05")
        page.select_option("#score_norm", "2")
        page.select_option("#assessor", "COACH")
        page.select_option("#context", "INTAKE")
        page.click("text=Ajouter l'évaluation")
        page.click("#self-evaluations summary")
        page.fill("#evaluation_date", "2025-03-01")
        page.select_option("#item_SE01", "2")
        page.select_option("#item_SE02", "4")
        page.click("text=Enregistrer les réponses")

        # Change the support action: a wrong duration is refused on its field, then saved.
        page.click("#support-actions >> text=modifier ou supprimer")
        assert page.locator("h1").inner_text() == "Modifier une action d'accompagnement"
        page.fill("#duration_min", "0")
        page.click("text=Enregistrer la modification")
        assert "doit être compris entre 1 – 600" in page.inner_text("#change")
        page.screenshot(path=str(shots / "record-edit-refused-fr.png"), full_page=True)
        page.fill("#duration_min", "90")
        page.select_option("#action_code", "SA02")
        page.click("text=Enregistrer la modification")
        assert page.url.startswith(person_url)
        assert "Enregistré." in page.inner_text(".flash")
        actions = page.inner_text("#support-actions")
        assert "entretien individuel de suivi" in actions and "1,5 h" in actions

        # Change the assessment's score on the 1–5 scale, with a decimal comma.
        page.click("#assessments >> text=modifier ou supprimer")
        assert page.input_value("#score_norm") == "2"
        page.fill("#score_norm", "3,5")
        page.click("text=Enregistrer la modification")
        assert "0,62" in page.inner_text("#assessments")  # 3.5 on 1–5 is 0.625

        # Delete a self-evaluation answer: refused until the box is ticked.
        page.click("#answers >> text=modifier ou supprimer >> nth=0")
        page.click("#delete button")
        assert "cochez la case" in page.inner_text("#delete")
        page.check("#confirm")
        page.screenshot(path=str(shots / "record-delete-fr.png"), full_page=True)
        page.click("#delete button")
        assert "Supprimé." in page.inner_text(".flash")
        assert page.locator("#answers tbody tr").count() == 1

        # Find him by name (case and accents aside), and see the name on his page.
        page.goto(f"{base}/people")
        page.fill("#q", "bénali")
        page.click("form.filters button")
        assert page.locator("table.list tbody tr").count() == 1
        page.screenshot(path=str(shots / "people-search-name-fr.png"), full_page=True)
        page.click("text=Karim Benali")
        assert page.url == person_url
        assert page.locator("h1").inner_text().startswith("Karim Benali")

        # Change his name, then delete the assessment entered for him.
        page.click("#name summary")
        page.fill("#display_name", "Karim Ben Ali")
        page.click("text=Enregistrer le nom")
        assert page.locator("h1").inner_text().startswith("Karim Ben Ali")
        page.click("#assessments >> text=modifier ou supprimer")
        page.check("#confirm")
        page.click("#delete button")
        assert "Aucune évaluation de compétence enregistrée." in page.inner_text("#assessments")
        context.close()

        dutch = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = dutch.new_page()
        _sign_in(page, base, "joke")
        page.goto(person_url)
        page.click("#support-actions >> text=wijzigen of verwijderen")
        assert page.locator("h1").inner_text() == "Een begeleidingsactie wijzigen"
        page.screenshot(path=str(shots / "record-edit-nl.png"), full_page=True)
        dutch.close()
    actions = [e.action for e in audit_entries(runtime.store)]
    assert {"support_action_edit", "assessment_edit", "self_evaluation_delete", "name_edit",
            "assessment_delete"} <= set(actions)


def test_a_manager_defines_the_organisations_words_and_prints_the_report(
        browser: object, node_factory: Callable[..., NodeRuntime], shots: Path) -> None:
    runtime = node_factory()
    import_synthetic(runtime, 40)
    add_account(runtime.store, "marc", PASSWORD, role="manager", language="nl")
    add_account(runtime.store, "lea", PASSWORD, role="manager", language="fr")
    with serving(web_settings(runtime, today=lambda: date(2025, 11, 15))) as base:
        context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = context.new_page()
        _sign_in(page, base, "marc")
        page.goto(f"{base}/manage/vocabulary")
        page.select_option("#kind", "support_action")
        page.fill("#code", "ATELIER")
        page.select_option("#federation_code", "SA03")
        page.fill("#label_nl", "Begeleiding in het atelier")
        page.fill("#label_fr", "Accompagnement à l'atelier")
        page.click("#define button")
        assert "Opgeslagen." in page.inner_text(".flash")
        page.select_option("#kind", "competence")
        page.fill("#code", "SA02")  # a federation code: refused on its field
        page.click("#define button")
        assert "is een federatiecode" in page.inner_text("#define")
        page.fill("#code", "BOEKHOUDEN")
        page.select_option("#federation_code", "")
        page.click("#define button")
        words = page.inner_text("#words")
        assert "ATELIER" in words and "SA03" in words and "BOEKHOUDEN" in words
        assert "niet gekoppeld" in words
        page.screenshot(path=str(shots / "vocabulary-nl.png"), full_page=True)
        with runtime.store.reading() as conn:
            pid = conn.execute("SELECT pid FROM workers ORDER BY pid").fetchone()[0]
        page.goto(f"{base}/people/{pid}")
        page.click("#support-actions summary")
        options = page.inner_text("#action_code")
        assert "ATELIER — Begeleiding in het atelier" in options and "BOEKHOUDEN" not in options

        page.goto(f"{base}/manage/report?period=2025")
        page.click("text=Afdrukbare versie")
        assert page.locator("html").get_attribute("lang") == "nl"
        assert "begeleiding en tewerkstelling, 2025" in page.inner_text("h1")
        assert page.locator("section svg").count() >= 10
        page.screenshot(path=str(shots / "report-print-nl.png"), full_page=True)
        page.pdf(path=str(shots / "report-print-nl.pdf"))  # prints on A4
        context.close()

        french = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
        page = french.new_page()
        _sign_in(page, base, "lea")
        page.goto(f"{base}/manage/report/print?period=2025")
        assert "accompagnement et emploi, 2025" in page.inner_text("h1")
        assert "comme dans les chiffres de la fédération" in page.inner_text("body")
        page.screenshot(path=str(shots / "report-print-fr.png"))
        french.close()
