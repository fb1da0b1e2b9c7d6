"""The command line in French, Dutch and English.

The ``cli`` catalogue holds every msgid the CLI uses (``_``/``N_``/``ngettext`` calls, the
commands' docstrings, click's own words), each translated in fr and nl, none fuzzy, with the
same placeholders, and the shipped ``.mo`` compiled from the ``.po``. Then real ``koepel``
subprocesses: ``--lang fr`` answers in French, ``KOEPEL_LANG=nl`` in Dutch, an error in French
keeps its exit code, and ``--lang`` costs ``koepel --help`` no Babel.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from i18n import DOMAINS
from i18n.catalogues import TRANSLATED, compile_mo, extract

ROOT = Path(__file__).resolve().parent.parent
CLI = DOMAINS["cli"]
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]")


def _id(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _strings(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (str(value or ""),)


def test_every_msgid_of_the_cli_is_translated_in_french_and_dutch() -> None:
    used = {_id(m.id): m for m in extract(CLI) if m.id}
    assert len(used) > 350  # the extraction really read the code and the docstrings
    assert "Ask the federation for a DP sector figure of MEASURE." in used  # a docstring
    assert "Usage:" in used and "choose one of --json and --csv" in used
    for language in TRANSLATED:
        with CLI.po_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language)
        known = {_id(m.id): m for m in catalog if m.id}
        missing = sorted(set(used) - set(known))
        assert not missing, f"{language}: not in the catalogue (python -m i18n.catalogues cli): " \
                            f"{missing[:10]}"
        stale = sorted(set(known) - set(used))
        assert not stale, f"{language}: no longer used: {stale[:10]}"
        for key, message in known.items():
            assert all(_strings(message.string)), f"{language}: untranslated: {key!r}"
            assert not message.fuzzy, f"{language}: fuzzy: {key!r}"
            ids = _strings(message.id)
            for text in _strings(message.string):
                assert any(sorted(set(PLACEHOLDER.findall(text))) ==
                           sorted(set(PLACEHOLDER.findall(i))) for i in ids), (
                    f"{language}: placeholders differ in {key!r}: {text!r}")


def test_the_shipped_mo_files_are_compiled_from_the_po_files() -> None:
    for language in TRANSLATED:
        with CLI.po_path(language).open("rb") as handle:
            catalog = read_po(handle, locale=language)
        with CLI.mo_path(language).open("rb") as handle:
            shipped = read_mo(handle)

        def pairs(messages: Catalog) -> dict[object, object]:
            return {_strings(m.id): _strings(m.string) for m in messages if m.id}

        assert pairs(shipped) == pairs(catalog), (
            f"{CLI.mo_path(language)} is stale: run python -m i18n.catalogues cli")
        assert compile_mo(catalog)


def _koepel(*args: str, lang_env: str | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    if lang_env is not None:
        env["KOEPEL_LANG"] = lang_env
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_lang_fr_prints_french_and_koepel_lang_nl_prints_dutch(tmp_path: Path) -> None:
    french = _koepel("--lang", "fr", "node", "init", str(tmp_path / "n1"), "--id", "org-1",
                     "--querier", "federation=3")
    assert french.returncode == 0, french.stderr
    assert "nœud org-1 créé dans" in french.stdout and "created node" not in french.stdout
    dutch = _koepel("node", "policy", "show", "--config", str(tmp_path / "n1" / "node.toml"),
                    lang_env="nl")
    assert dutch.returncode == 0, dutch.stderr
    assert "Aanvragers" in dutch.stdout and "Gedeelde maatstaven" in dutch.stdout
    assert "gedeeld" in dutch.stdout and "Queriers" not in dutch.stdout
    # codes are shown with the catalogue's labels in the reader's language
    assert "aantal personen onder contract" in dutch.stdout
    english = _koepel("node", "policy", "show", "--config",
                      str(tmp_path / "n1" / "node.toml"))
    assert "Queriers" in english.stdout and "number of people under contract" in english.stdout
    help_nl = _koepel("--help", "--lang", "nl")  # --lang after --help still counts
    assert "Commando's:" in help_nl.stdout and "Dit bericht tonen en stoppen." in help_nl.stdout


def test_an_error_in_french_keeps_its_exit_code(tmp_path: Path) -> None:
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "node.toml").write_text("")
    again = _koepel("--lang", "fr", "node", "init", str(tmp_path / "n1"), "--id", "org-1")
    assert again.returncode == 2, again.stderr
    assert "existe déjà ; rien n'a été modifié (init n'écrase jamais un nœud)" in again.stderr
    assert again.stderr.startswith("Erreur : ")
    usage = _koepel("query", "--stat", "median", lang_env="fr")
    assert usage.returncode == 2
    assert "Valeur invalide pour" in usage.stderr and "Usage :" in usage.stderr
    refused = _koepel("query", "headcount", "--json", "--csv", "--insecure", lang_env="nl")
    assert refused.returncode == 2 and "kies één van --json en --csv" in refused.stderr


_PROBE = """
import json, sys
from click.testing import CliRunner
from cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"exit": result.exit_code, "output": result.output, "loaded": loaded}))
"""


@pytest.mark.parametrize("args", [("--lang", "fr", "--help"), ("--lang", "nl", "query",
                                                                "--help")])
def test_the_language_costs_help_no_babel(args: tuple[str, ...]) -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    result = json.loads(done.stdout)
    assert result["exit"] == 0, result["output"]
    assert "babel" not in result["loaded"] and "rich" not in result["loaded"]
    assert ("Afficher ce message" in result["output"]
            or "Dit bericht tonen" in result["output"])


def test_tables_use_the_readers_number_and_date_formats() -> None:
    from cli import lang
    from cli.render import Display, fmt, when

    try:
        lang.choose("fr")
        assert fmt(1195.5) == "1 195,5" and fmt(0.125, Display(100.0, 1, " %")) == "12,5 %"
        assert when("2025-12-31T10:11:12Z") == "31/12/2025 10:11:12"
        assert lang.micro(250_000) == "0,25"
        lang.choose("nl")
        assert fmt(1195.5) == "1.195,5" and lang._("yes") == "ja"
        lang.choose("en")
        assert fmt(1195.5) == "1,195.5" and fmt(-0.01, Display(digits=1)) == "0.0"
    finally:
        lang.choose(None)


def test_every_help_text_of_every_command_reads_french_and_dutch() -> None:
    """Walk the whole command tree as `koepel --lang X … --help` shows it: no help text, option
    help or prompt is left in English (``report`` and ``publish``, in cli/report_cmds.py, are
    still English: their help texts are not yet in a catalogue)."""
    import click

    from cli import lang
    from cli.main import _COMMANDS, cli

    def texts(command: click.Command, path: str) -> list[tuple[str, str]]:
        found = [(path, command.help or "")]
        found += [(f"{path} {p.name}", getattr(p, "help", None) or "") for p in command.params]
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                found += texts(sub, f"{path} {name}")
        return found

    english: dict[str, str] = {}
    try:
        for language in ("en", "fr", "nl"):
            lang.choose(language)
            ctx = click.Context(cli)
            shown = texts(lang.localise(cli), "koepel")
            for name in sorted(set(_COMMANDS) - {"report", "publish"}):
                command = cli.get_command(ctx, name)
                assert command is not None
                shown += texts(command, f"koepel {name}")
            if language == "en":
                english = dict(shown)
                continue
            same = [where for where, text in shown  # report may be loaded by an earlier test
                    if text and text == english[where]
                    and not where.startswith(("koepel report", "koepel publish"))]
            assert len([t for _w, t in shown if t]) > 150  # the walk reached the whole tree
            assert not same, f"{language}: still English: {same[:8]}"
    finally:
        lang.choose(None)
