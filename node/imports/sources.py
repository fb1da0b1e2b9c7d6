"""Reading the tables an HR tool exports: CSV files and XLSX workbooks, as rows of text.

Both come out the same way: a header and ``(line, cells)`` pairs, every cell as stripped text,
so validation happens in one place. XLSX cells are converted the way a person reading the sheet
would read them (a date cell becomes ``YYYY-MM-DD``, ``38.0`` becomes ``38``). Rows are
streamed, never the whole file in memory at once, and the number of data rows is counted up
front where that is cheap, for a progress bar.
"""

from __future__ import annotations

import codecs
import csv
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

__all__ = ["SourceError", "SourceTable", "open_csv", "open_xlsx", "xlsx_sheet_names"]

_DELIMITERS = (",", ";", "\t", "|")


class SourceError(Exception):
    """A whole input file cannot be read; the message names it and says what to do."""


@dataclass
class SourceTable:
    """One table of input: where it comes from, its header and its rows."""

    label: str  # "contracts.csv" or "export.xlsx[Contracts]", used in error locations
    header: tuple[str, ...]
    rows: Iterator[tuple[int, tuple[str, ...]]]  # (line or row number, cells)
    total: int | None  # data rows, when known
    close: Callable[[], None]  # release the file (also done when the rows run out)


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(path: Path, *, delimiter: str | None = None,
             encoding: str = "utf-8-sig") -> SourceTable:
    """A CSV file's header and rows; the delimiter is guessed from the header unless given."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise SourceError(f"{path.name}: unknown encoding {encoding!r}") from None
    handle = path.open(newline="", encoding=encoding)
    try:
        first = handle.readline()
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter or _sniff_delimiter(first))
        header = tuple(cell.strip() for cell in next(reader, []))
    except UnicodeDecodeError:
        handle.close()
        raise SourceError(f"{path.name}: the header is not {encoding} text; save the file as "
                          "UTF-8, or set encoding in the column-mapping file") from None
    except BaseException:
        handle.close()
        raise
    if not any(header):
        handle.close()
        raise SourceError(f"{path.name}: the file is empty or has no header row")

    def rows() -> Iterator[tuple[int, tuple[str, ...]]]:
        line = 1
        try:
            for record in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in record):
                    continue  # blank lines (often at the end of an export)
                yield line, tuple(cell.strip() for cell in record)
        except UnicodeDecodeError:
            raise SourceError(f"{path.name}: text after line {line} is not {encoding}; save "
                              "the file as UTF-8, or set encoding in the column-mapping file") \
                from None
        except csv.Error as exc:
            raise SourceError(f"{path.name}:{reader.line_num}: unreadable CSV ({exc})") from None
        finally:
            handle.close()

    return SourceTable(path.name, header, rows(), max(0, _count_lines(path) - 1), handle.close)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _load_workbook(path: Path) -> Any:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():  # openpyxl warns about styles it ignores; so do we
            warnings.simplefilter("ignore")
            return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise SourceError(f"{path.name}: not a readable .xlsx workbook; save it from your "
                          "spreadsheet program as .xlsx (Excel workbook) or export CSV") from None


def xlsx_sheet_names(path: Path) -> list[str]:
    workbook = _load_workbook(path)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def open_xlsx(path: Path, sheet: str | None = None) -> SourceTable:
    """One worksheet's header and rows (the first worksheet unless ``sheet`` is named)."""
    workbook = _load_workbook(path)
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise SourceError(f"{path.name}: no worksheet named {sheet!r} (it has "
                              f"{', '.join(map(repr, workbook.sheetnames))})")
        label = f"{path.name}[{worksheet.title}]"
        values = worksheet.iter_rows(values_only=True)
        header = tuple(_cell_text(v) for v in next(values, ()))
        while header and not header[-1]:
            header = header[:-1]  # trailing empty header cells (formatted but unused columns)
        if not any(header):
            raise SourceError(f"{label}: the worksheet is empty or has no header row")
        max_row = worksheet.max_row
    except BaseException:
        workbook.close()
        raise

    def rows() -> Iterator[tuple[int, tuple[str, ...]]]:
        try:
            for number, record in enumerate(values, start=2):
                cells = tuple(_cell_text(v) for v in record)
                if any(cells):
                    yield number, cells
        finally:
            workbook.close()

    total = max(0, max_row - 1) if isinstance(max_row, int) else None
    return SourceTable(label, header, rows(), total, workbook.close)
