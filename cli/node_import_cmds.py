"""`koepel node import`: records from an HR tool's CSV or XLSX exports, all or nothing."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.errors import EXIT, KoepelCliError, handle_errors
from cli.lang import N_, _, locale
from cli.node_options import ask_secret
from cli.render import console, dump_json
from node import import_files, load_node_config, open_node
from node.imports.importer import ImportFailed, ImportSummary
from node.imports.mapping import load_mapping

__all__ = ["PROGRESS_THRESHOLD", "import_cmd"]

PROGRESS_THRESHOLD = 5000  # rows: smaller files import before a bar would be worth drawing


class _Bar:
    """A progress bar on stderr, drawn only for sources over the threshold."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._tasks: dict[str, object] = {}

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if total is None or total <= PROGRESS_THRESHOLD:
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(
                _("reading {file}").format(file=label), total=total)
        self._progress.update(self._tasks[label], completed=done)  # type: ignore[arg-type]


def _table(summary: ImportSummary) -> Table:
    title = (_("would import (mapping version {version})") if summary.dry_run
             else _("imported (mapping version {version})"))
    table = Table(title=title.format(version=summary.mapping_version), title_justify="left")
    table.add_column(_("table"))
    table.add_column(_("from"))
    for name in (_("rows"), _("new"), _("updated"), _("unchanged")):
        table.add_column(name, justify="right")
    number = locale().number
    for name, rows in summary.rows.items():
        table.add_row(name, summary.sources.get(name, ""), number(rows, 0),
                      number(summary.new[name], 0), number(summary.updated[name], 0),
                      number(summary.unchanged[name], 0))
    return table


@click.command(name="import")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              default=Path("node.toml"), show_default=True,
              help=N_("The node's configuration file."))
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, path_type=Path),
              default=None, help=N_("Column-mapping file for your HR tool's export (TOML)."))
@click.option("--dry-run", is_flag=True,
              help=N_("Validate and report what would be new, updated or unchanged; write "
                      "nothing."))
@click.option("--json", "as_json", is_flag=True, help=N_("Machine-readable output."))
@click.option("--list-unmapped", is_flag=True,
              help=N_("If local codes map to no federation code, print the codes themselves "
                      "(by default only where they first occur, as a code column may hold "
                      "anything)."))
@handle_errors
def import_cmd(config_path: Path, files: tuple[Path, ...], mapping_path: Path | None,
               dry_run: bool, as_json: bool, list_unmapped: bool) -> None:
    """Import FILES (CSV or XLSX) all or nothing: every row is checked before any is written.

    Without --mapping, each CSV is named after its table (workers.csv, contracts.csv,
    support_actions.csv, competence_assessments.csv, exits.csv; for accompaniment also
    support_plans.csv, plan_goals.csv, plan_reviews.csv, self_evaluations.csv) and an XLSX
    workbook has one worksheet per table, with koepel's column names. Optional columns
    (contracts.subsidy_scheme, competence_assessments.assessor and .context) may be left out.
    """
    config = load_node_config(config_path)
    mapping = load_mapping(mapping_path) if mapping_path is not None else None
    runtime = open_node(config, prompt=ask_secret)
    try:
        with _Bar() as bar:
            summary = import_files(runtime.store, runtime.secret, files, dry_run=dry_run,
                                   mapping=mapping, vocabulary=config.vocabulary, progress=bar)
    except ImportFailed as failed:
        raise KoepelCliError(failed.describe(show_codes=list_unmapped), EXIT["import"]) from None
    finally:
        runtime.close()
    if as_json:
        dump_json({
            "dry_run": summary.dry_run, "mapping_version": summary.mapping_version,
            "tables": {name: {"from": summary.sources.get(name, ""), "rows": rows,
                              "new": summary.new[name], "updated": summary.updated[name],
                              "unchanged": summary.unchanged[name]}
                       for name, rows in summary.rows.items()},
            "notes": summary.notes,
        })
        return
    console().print(_table(summary))
    for note in summary.notes:
        click.echo(_("note: {note}").format(note=note))
    if dry_run:
        click.echo(_("dry run: nothing was written"))
