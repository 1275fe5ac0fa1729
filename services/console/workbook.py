"""A ledger (台账) as an Excel workbook, the file a district's office files and forwards: one
sheet, a bold header row that stays in view, columns as wide as their Chinese header needs.

Cells are typed: an instant becomes a date-time in the city's time (Excel has no time zones;
the header says 北京时间), a number a number (a share as a percentage), and everything else
text — so that an id, a stall number or a code made of digits is never read as a number and
shown as 1.2E+17."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.console.clock import CHINA

MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATETIME_FORMAT: Final = "yyyy-mm-dd hh:mm"
DATE_FORMAT: Final = "yyyy-mm-dd"
PERCENT_FORMAT: Final = "0.0%"


class Share(float):
    """A share in 0..1 (a rate of the 考核), shown as a percentage and kept as a number."""


Cell = str | int | float | datetime | date | None


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    # In characters of a CJK font's width (a Chinese character counts about two).
    width: float = 12


def _cell(sheet: Worksheet, value: Cell) -> SheetCell:
    if isinstance(value, datetime):
        # Excel keeps no offset: the city's wall time, to the minute.
        local = value.astimezone(CHINA).replace(tzinfo=None, second=0, microsecond=0)
        cell = WriteOnlyCell(sheet, value=local)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        # A day (a licence's last): midnight of it, shown without the time.
        cell = WriteOnlyCell(sheet, value=datetime(value.year, value.month, value.day))
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, Share):
        cell = WriteOnlyCell(sheet, value=float(value))
        cell.number_format = PERCENT_FORMAT
        return cell
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        cell.number_format = "@"
    return cell


def workbook(title: str, columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The .xlsx bytes of one sheet named `title`: `columns`' headers, then `rows` in order."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # Excel's limit on a sheet's name
    sheet.freeze_panes = "A2"
    for i, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(i)].width = column.width
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = [_cell(sheet, value) for value in row]
        for cell in cells:
            cell.alignment = wrap
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
