"""Spreadsheets in and out, with no domain knowledge: import templates with drop-down lists, rows read from
.xlsx or .csv by column key, lists and error reports written as .xlsx.

The only writer of workbooks in the project (tests/test_architecture.py): every cell it writes goes through
`neutralise`, so text from the database that looks like a formula ("=HYPERLINK(…)", "+1+1", "@SUM(…)") is text
when the file is opened in Excel or WPS."""

from __future__ import annotations

import csv
import io
import logging
import posixpath
import re
import struct
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.utils.escape import unescape
from openpyxl.worksheet.datavalidation import DataValidation

from jiayuan.kit.errors import Invalid

log = logging.getLogger(__name__)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTES_SHEET = "说明"
LISTS_SHEET = "选项"
REQUIRED_MARK = "*"
# Excel's own limits: rows per sheet, and characters in an inline list of a data validation.
MAX_ROWS = 1_048_576
_INLINE_LIST = 250
_HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_REQUIRED_FONT = Font(bold=True, color="C00000")
# A header cell may say "姓名", "姓名*", "name", "姓名(name)" or "姓名（name）".
_HEADER_NOISE = re.compile(r"[\s*＊]+")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: marks a message for the catalogue
    return message


@dataclass(frozen=True)
class Column:
    """One column of a sheet: an English key for code, a Chinese title for people."""

    key: str
    title: str
    required: bool = False
    choices: tuple[str, ...] = ()  # offered as a drop-down list (other values may still be typed)
    note: str = ""  # what goes in it, for the notes sheet and the header's comment
    text: bool = False  # formatted as text, so that Excel keeps every digit of an ID number or a phone
    width: float = 14
    aliases: tuple[str, ...] = ()  # other headers that mean this column
    number_format: str = ""  # how Excel shows the column's numbers when writing ("0.0%", "0.00")


@dataclass
class Table:
    """The rows of an uploaded sheet: (row number as the user sees it, values by column key)."""

    columns: list[str]  # keys of the columns present, in sheet order
    rows: Iterator[tuple[int, dict[str, Any]]]
    total: int | None = None  # data rows, as far as the file tells before reading it (for progress bars)
    unknown: list[str] = field(default_factory=list)  # headers that name no column (ignored)


def bad_file(problem: str, message: str, **details: Any) -> Invalid:
    """A file that cannot be read as the table expected; `problem` is a code the pages translate."""
    return Invalid(message, field="file", details={"problem": problem, **details})


# Templates.


def template(columns: Sequence[Column], *, sheet: str = "数据", notes: Sequence[str] = (),
             choices: dict[str, Sequence[str]] | None = None) -> bytes:
    """An empty import workbook: the header row (required columns marked *), drop-down lists for vocabulary
    columns, text format where digits must survive, and a second sheet "说明" explaining every column.

    `choices` adds or replaces drop-down lists by column key (e.g. the grids of the person downloading it)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    lists: dict[str, Sequence[str]] = {c.key: c.choices for c in columns if c.choices}
    lists.update({k: v for k, v in (choices or {}).items() if v})
    list_sheet = None
    for i, col in enumerate(columns, 1):
        letter = get_column_letter(i)
        cell = neutralise(ws.cell(row=1, column=i, value=col.title + (REQUIRED_MARK if col.required else "")))
        cell.font = _REQUIRED_FONT if col.required else _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center")
        cell.comment = Comment(f"{col.key}{' (必填)' if col.required else ''}\n{col.note}".strip(), "Jiayuan",
                               width=260, height=110)
        ws.column_dimensions[letter].width = col.width
        if col.text:
            ws.column_dimensions[letter].number_format = "@"
        options = lists.get(col.key)
        if not options:
            continue
        inline = ",".join(options)
        if len(inline) <= _INLINE_LIST and not any("," in o or '"' in o for o in options):
            formula = f'"{inline}"'
        else:  # too long for Excel's inline list: the options go on a hidden sheet
            if list_sheet is None:
                list_sheet = wb.create_sheet(LISTS_SHEET)
                list_sheet.sheet_state = "hidden"
            list_col = list_sheet.max_column + (1 if list_sheet.max_row > 1 or list_sheet["A1"].value else 0)
            for r, option in enumerate(options, 1):
                neutralise(list_sheet.cell(row=r, column=list_col, value=option))
            ref = get_column_letter(list_col)
            formula = f"{quote_sheetname(LISTS_SHEET)}!${ref}$1:${ref}${len(options)}"
        # A warning, not a stop: a value outside the list is the import's to judge and explain.
        dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False,
                            showErrorMessage=True, errorStyle="warning", errorTitle=col.title,
                            error="请从下拉列表中选择", promptTitle=col.title, prompt=col.note[:250] or None,
                            showInputMessage=bool(col.note))
        dv.add(f"{letter}2:{letter}{MAX_ROWS}")
        ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    _notes_sheet(wb, columns, notes, lists)
    # The data sheet first and active: it is the one read back.
    wb.active = 0
    return _save(wb)


def _notes_sheet(wb: Workbook, columns: Sequence[Column], notes: Sequence[str],
                 lists: dict[str, Sequence[str]]) -> None:
    ws = wb.create_sheet(NOTES_SHEET, 1)
    row = 1
    for line in notes:
        neutralise(ws.cell(row=row, column=1, value=line))
        row += 1
    if notes:
        row += 1
    for i, title in enumerate(("列名", "英文键", "必填", "说明", "可选值"), 1):
        cell = ws.cell(row=row, column=i, value=title)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
    for col in columns:
        row += 1
        options = lists.get(col.key) or ()
        shown = "、".join(options[:60]) + ("…" if len(options) > 60 else "")
        for i, value in enumerate((col.title, col.key, "是" if col.required else "", col.note, shown), 1):
            cell = neutralise(ws.cell(row=row, column=i, value=value))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCDE", (16, 20, 6, 60, 40), strict=True):
        ws.column_dimensions[letter].width = width


# Reading.
#
# An uploaded workbook is hostile until read: a zip of a few megabytes can unpack to gigabytes, a sheet can declare
# a million rows or a cell in column XFD, and a reader that pads rows to the widest cell or keeps every row element
# in memory falls over. So, before a part is read: the zip's directory is counted from its end record, each part's
# declared unzipped size (ZipInfo.file_size, which zipfile never reads past) and compression ratio are checked, the
# sheet's <dimension> is checked; while the sheet is read, every row number and cell reference is checked before
# anything is allocated for it, and the rows counted. Each refusal is an Invalid naming the file and the problem
# (with the row where it was met), raised before any row reaches the import.


@dataclass(frozen=True)
class ReadLimits:
    """How much of a spreadsheet an import reads (settings max_import_rows, max_import_unzipped_bytes,
    max_import_strings_bytes)."""

    rows: int = 300_000  # data rows (a district holds some 225,000 people; an import holds 2-3 kB a row)
    columns: int = 256  # the last column a cell may be in: IV, Excel 2003's width
    part_bytes: int = 512 * 1024 * 1024  # unzipped size of a part read as it streams (the sheet)
    whole_bytes: int = 64 * 1024 * 1024  # unzipped size of a part held in memory (shared strings, styles, workbook)
    ratio: int = 200  # unzipped to zipped size, for parts over a megabyte
    parts: int = 10_000  # entries in the zip


DEFAULT_LIMITS = ReadLimits()
_RATIO_FROM = 1024 * 1024


def _norm(header: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", header)).lower()


def _header_names(col: Column) -> set[str]:
    names = {_norm(col.title), _norm(col.key), _norm(f"{col.title}({col.key})")}
    return names | {_norm(a) for a in col.aliases}


def read_table(data: bytes, filename: str, columns: Sequence[Column], limits: ReadLimits = DEFAULT_LIMITS) -> Table:
    """Rows of the first sheet of an .xlsx, or of a .csv (UTF-8 with or without BOM, or GB18030 as Chinese
    Excel writes it), by column key. The header, in Chinese or English, is the first row that names columns
    (a title row above it is skipped); blank rows are skipped; a file of another kind, without a header or
    without a required column is refused, and so is a file over `limits` (when met: rows are read lazily)."""
    name = (filename or "").lower()
    if not data:
        raise bad_file("empty", N_("the file is empty"))
    if name.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise bad_file("xls", N_("save the workbook as .xlsx (Excel 2007 or later) or .csv"))
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        rows, total = _xlsx_rows(data, limits)
    elif name.endswith(".csv"):
        rows, total = _csv_rows(data, limits)
    else:
        raise bad_file("not_table", N_("the file must be an Excel workbook (.xlsx) or a CSV file (.csv)"))
    rows = _bounded(rows, limits)
    by_name: dict[str, Column] = {}
    for col in columns:
        for n in _header_names(col):
            by_name.setdefault(n, col)
    header_row = _header(rows, by_name, min(2, len(columns)))
    if header_row is None:
        raise bad_file("empty", N_("the file is empty"))
    number, header = header_row
    positions: dict[str, int] = {}
    unknown = []
    for i, cell in enumerate(header):
        text = cell_text(cell)
        if text is None:
            continue
        col = by_name.get(_norm(text))
        if col is None:
            unknown.append(text)
        elif col.key in positions:
            raise bad_file("duplicate_column", f"the column {col.title} ({col.key}) appears twice",
                           columns=[f"{col.title} ({col.key})"])
        else:
            positions[col.key] = i
    missing = [f"{c.title} ({c.key})" for c in columns if c.required and c.key not in positions]
    if missing:
        raise bad_file("missing_columns", f"required columns are missing: {', '.join(missing)}", columns=missing,
                       header_row=number)
    if total is not None:
        total = max(total - number, 0)
    return Table(columns=list(positions), rows=_by_key(rows, positions, limits), total=total, unknown=unknown)


def _bounded(rows: Iterator[tuple[int, Sequence[Any]]], limits: ReadLimits) -> Iterator[tuple[int, Sequence[Any]]]:
    """The rows, refused at the first one past the limits: a row number beyond Excel's last, a row wider than
    `limits.columns`, or more non-blank rows than `limits.rows` and the few above the header (rows with nothing in
    the import's columns included: _by_key counts the data rows exactly)."""
    seen = 0
    for number, cells in rows:
        if number > MAX_ROWS:
            raise too_many_rows(number, limits, row=number)
        if len(cells) > limits.columns:
            while cells and cells[-1] is None:  # a reader that padded the row (openpyxl does to the dimension)
                cells = cells[:-1]
            if len(cells) > limits.columns:
                raise too_wide(number, get_column_letter(len(cells)) + str(number), limits)
        if any(c is not None and c != "" for c in cells):
            seen += 1
            if seen > limits.rows + HEADER_SEARCH:
                raise too_many_rows(seen, limits, row=number)
        yield number, cells


def too_many_rows(rows: int, limits: ReadLimits, *, row: int | None = None) -> Invalid:
    """A sheet that declares more rows than an import reads, or a row met past that many (or past Excel's last)."""
    if row is None:
        return bad_file("too_many_rows", f"the sheet declares {rows:,} rows; at most {limits.rows:,} are imported "
                        "from one file: split it", rows=rows, limit=limits.rows)
    return bad_file("too_many_rows", f"row {row:,} is past the {limits.rows:,} rows imported from one file: split it",
                    rows=rows, limit=limits.rows, row=row)


def too_wide(row: int, cell: str, limits: ReadLimits) -> Invalid:
    return bad_file("too_many_columns", f"row {row}: cell {cell} lies beyond column "
                    f"{get_column_letter(limits.columns)}; an import reads at most {limits.columns} columns",
                    row=row, cell=cell, limit=limits.columns)


def _by_key(rows: Iterator[tuple[int, Sequence[Any]]], positions: dict[str, int],
            limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[tuple[int, dict[str, Any]]]:
    count = 0
    for number, cells in rows:
        values = {}
        for key, i in positions.items():
            value = cells[i] if i < len(cells) else None
            if isinstance(value, str):
                value = value.strip() or None
            values[key] = value
        if any(v is not None for v in values.values()):
            count += 1
            if count > limits.rows:
                raise too_many_rows(count, limits, row=number)
            yield number, values


HEADER_SEARCH = 10  # non-empty rows looked at for the header: forms often carry a title or a note above it


def _header(rows: Iterator[tuple[int, Sequence[Any]]], known: dict[str, Column],
            enough: int) -> tuple[int, Sequence[Any]] | None:
    """The header row: the first that names `enough` known columns, else the first non-empty one (which then
    fails for the columns it lacks)."""
    first = None
    seen = 0
    for number, cells in rows:
        texts = [t for t in (cell_text(c) for c in cells) if t is not None]
        if not texts:
            continue
        first = first or (number, cells)
        if len({known[n].key for n in map(_norm, texts) if n in known}) >= enough:
            return number, cells
        seen += 1
        if seen >= HEADER_SEARCH:
            break
    return first


def _xlsx_rows(data: bytes, limits: ReadLimits = DEFAULT_LIMITS,
               ) -> tuple[Iterator[tuple[int, Sequence[Any]]], int | None]:
    _check_zip(data, limits)
    try:
        return _fast_xlsx_rows(data, limits)
    except Invalid:
        raise
    except Exception:  # noqa: BLE001 - a part laid out as we did not expect: openpyxl reads what it can
        log.debug("reading the workbook with openpyxl", exc_info=True)
    return _openpyxl_rows(data, limits)


def _unreadable() -> Invalid:
    return bad_file("unreadable", N_("the file is not a readable Excel .xlsx workbook"))


def _zip_entries(data: bytes) -> int | None:
    """The number of entries the zip's end record declares, read before zipfile builds an object for each; None
    when there is no end record (zipfile then refuses the file itself)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    entries, = struct.unpack_from("<H", data, at + 10)
    if entries == 0xFFFF:  # Zip64: the count is in the Zip64 end record the locator before it points to
        locator = at - 20
        if locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
            record, = struct.unpack_from("<Q", data, locator + 8)
            if data[record:record + 4] == b"PK\x06\x06" and record + 40 <= len(data):
                entries, = struct.unpack_from("<Q", data, record + 32)
    return entries


def _check_zip(data: bytes, limits: ReadLimits) -> None:
    """Refuse a workbook whose parts would unpack to more than the limits, before any part is read."""
    entries = _zip_entries(data)
    if entries is not None and entries > limits.parts:
        raise bad_file("too_many_parts", f"the workbook holds {entries:,} parts; at most {limits.parts:,} are read",
                       parts=entries, limit=limits.parts)
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, struct.error):
        raise _unreadable() from None
    for info in infos:
        if info.file_size > limits.part_bytes:
            raise _part_too_large(info, limits.part_bytes)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FROM and ratio > limits.ratio:
            raise bad_file("compressed_too_much", f"the part {info.filename[:100]} unpacks to {ratio:,.0f} times its "
                           f"size in the file (at most {limits.ratio} times)", part=info.filename[:100],
                           ratio=int(ratio), limit=limits.ratio)


def _part_too_large(info: zipfile.ZipInfo, limit: int) -> Invalid:
    return bad_file("part_too_large", f"the part {info.filename[:100]} unpacks to {info.file_size:,} bytes; at most "
                    f"{limit:,} are read", part=info.filename[:100], size=info.file_size, limit=limit)


def _open_whole(zf: zipfile.ZipFile, part: str, limits: ReadLimits) -> IO[bytes]:
    """A part that is parsed whole in memory (the workbook, relationships, styles, shared strings)."""
    info = zf.getinfo(part)
    if info.file_size > limits.whole_bytes:
        raise _part_too_large(info, limits.whole_bytes)
    return zf.open(info)


def _openpyxl_rows(data: bytes, limits: ReadLimits = DEFAULT_LIMITS,
                   ) -> tuple[Iterator[tuple[int, Sequence[Any]]], int | None]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = [ws for ws in book.worksheets if ws.title not in (NOTES_SHEET, LISTS_SHEET)]
        ws = sheets[0] if sheets else book.worksheets[0]
        total = ws.max_row if isinstance(ws.max_row, int) and ws.max_row > 0 else None
        width = ws.max_column if isinstance(ws.max_column, int) else None
        cells = enumerate(ws.iter_rows(min_row=1, values_only=True), 1)
    except Exception:  # noqa: BLE001 - openpyxl and zipfile raise many kinds for a file that is not a workbook
        raise _unreadable() from None
    # openpyxl pads each row to the sheet's declared width and yields the rows between: check what it declares.
    try:
        _check_dimension(total, width, limits)
    except Invalid:
        book.close()
        raise

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            yield from cells
        except Invalid:
            raise
        except Exception:  # noqa: BLE001 - a workbook broken half-way
            raise _unreadable() from None
        finally:
            book.close()

    return rows(), total


def _check_dimension(last_row: int | None, last_column: int | None, limits: ReadLimits) -> None:
    """The extent a sheet declares (its <dimension ref="A1:N2000"/>), checked before its rows are read."""
    if last_column is not None and last_column > limits.columns:
        cell = f"{get_column_letter(min(last_column, 18_278))}{last_row or 1}"
        raise bad_file("too_many_columns", f"the sheet declares cells up to {cell}, beyond column "
                       f"{get_column_letter(limits.columns)}; an import reads at most {limits.columns} columns",
                       cell=cell, limit=limits.columns)
    if last_row is not None and last_row - 1 > limits.rows + HEADER_SEARCH:
        raise too_many_rows(last_row, limits)


# A streaming reader of the first worksheet, for speed: openpyxl builds an object per cell (about 20 µs, and
# most of an import's time); this reads the same values straight from the XML, about three times faster.
# Anything unexpected in the workbook's parts sends the file to openpyxl instead (_xlsx_rows).

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([^\"]{0,40})\"")
_REFERENCE = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})")


def _reference(ref: str) -> tuple[int, int] | None:
    """(1-based column, row) of a cell reference such as "XFD1048576"; None when it is not one."""
    m = _REFERENCE.fullmatch(ref)
    if not m:
        return None
    return _column(m.group(1)) + 1, int(m.group(2))


def _rels(zf: zipfile.ZipFile, part: str, limits: ReadLimits) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, path of the target) of a part ("" for the package itself)."""
    folder, name = posixpath.split(part)
    found = {}
    with _open_whole(zf, posixpath.join(folder, "_rels", name + ".rels"), limits) as f:
        for rel in ElementTree.parse(f).getroot().iter(_PKG_REL):
            target = rel.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], path)
    return found


def _fast_xlsx_rows(data: bytes, limits: ReadLimits = DEFAULT_LIMITS,
                    ) -> tuple[Iterator[tuple[int, Sequence[Any]]], int | None]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    book_part = next(path for kind, path in _rels(zf, "", limits).values() if kind == "officeDocument")
    with _open_whole(zf, book_part, limits) as f:
        root = ElementTree.parse(f).getroot()
    ns = root.tag[1:].split("}", 1)[0]
    if ns not in (_MAIN, _STRICT):
        raise ValueError("not a SpreadsheetML workbook")
    q = f"{{{ns}}}"
    rels = _rels(zf, book_part, limits)
    pr = root.find(f"{q}workbookPr")
    epoch = MAC_EPOCH if pr is not None and pr.get("date1904") in ("1", "true") else WINDOWS_EPOCH
    rid = f"{{{_DOC_REL}}}id" if ns == _MAIN else "{http://purl.oclc.org/ooxml/officeDocument/relationships}id"
    sheets = [(s.get("name"), rels[s.get(rid, "")]) for s in root.iter(f"{q}sheet")]
    sheets = [(name, path) for name, (kind, path) in sheets if kind == "worksheet"]
    chosen = [path for name, path in sheets if name not in (NOTES_SHEET, LISTS_SHEET)] or [sheets[0][1]]
    shared = next((path for kind, path in rels.values() if kind == "sharedStrings"), None)
    styles = next((path for kind, path in rels.values() if kind == "styles"), None)
    zf.getinfo(chosen[0])  # KeyError (to openpyxl) before the shared strings are read for nothing
    with zf.open(chosen[0]) as f:
        m = _DIMENSION.search(f.read(4096))
    total = None
    if m:
        corners = [_reference(ref) for ref in m.group(1).decode("ascii", "replace").split(":")]
        if all(corners):
            last_column, total = max(c[0] for c in corners if c), max(c[1] for c in corners if c)
            _check_dimension(total, last_column, limits)
    strings = _shared_strings(zf, shared, q, limits) if shared else []
    dates, durations = _date_styles(zf, styles, q, limits) if styles else (set(), set())
    return _sheet_rows(zf, chosen[0], q, strings, dates, durations, epoch, limits), total


def _text_of(element: Any, q: str) -> str:
    """A string item: its own text, or its runs' (phonetic guides <rPh> left out)."""
    parts = []
    for child in element:
        if child.tag == f"{q}t":
            parts.append(child.text or "")
        elif child.tag == f"{q}r":
            parts.extend(t.text or "" for t in child.iter(f"{q}t"))
    text = "".join(parts)
    return unescape(text) if "_x" in text else text


def _shared_strings(zf: zipfile.ZipFile, part: str, q: str, limits: ReadLimits = DEFAULT_LIMITS) -> list[str]:
    strings = []
    with _open_whole(zf, part, limits) as f:
        root = None
        for event, element in ElementTree.iterparse(f, events=("start", "end")):
            if root is None:
                root = element
            elif event == "end" and element.tag == f"{q}si":
                strings.append(_text_of(element, q))
                root.clear()  # the items read so far are not kept as elements as well
    return strings


def _date_styles(zf: zipfile.ZipFile, part: str, q: str,
                 limits: ReadLimits = DEFAULT_LIMITS) -> tuple[set[int], set[int]]:
    """Indexes of the cell styles whose number format shows a date, and those showing a duration."""
    with _open_whole(zf, part, limits) as f:
        root = ElementTree.parse(f).getroot()
    formats = dict(BUILTIN_FORMATS)
    for fmt in root.iter(f"{q}numFmt"):
        formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
    dates, durations = set(), set()
    xfs = root.find(f"{q}cellXfs")
    for i, xf in enumerate(xfs if xfs is not None else ()):
        code = formats.get(int(xf.get("numFmtId", "0")), "")
        if code and is_date_format(code):
            (durations if is_timedelta_format(code) else dates).add(i)
    return dates, durations


def _column(ref: str) -> int:
    """0-based column of a reference like "AB12"."""
    n = 0
    for ch in ref:
        if ch > "9":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def _sheet_rows(zf: zipfile.ZipFile, part: str, q: str, strings: list[str], dates: set[int], durations: set[int],
                epoch: Any, limits: ReadLimits = DEFAULT_LIMITS) -> Iterator[tuple[int, Sequence[Any]]]:
    row_tag, cell_tag, value_tag, inline_tag = f"{q}row", f"{q}c", f"{q}v", f"{q}is"
    data_tag = f"{q}sheetData"
    counter = 0
    try:
        with zf.open(part) as f:
            rows_parent = None
            for event, element in ElementTree.iterparse(f, events=("start", "end")):
                if event == "start":
                    if element.tag == data_tag:
                        rows_parent = element
                    continue
                if element.tag != row_tag:
                    continue
                number = element.get("r")
                counter = int(number) if number else counter + 1
                if not 0 < counter <= MAX_ROWS:
                    raise too_many_rows(counter, limits, row=counter)
                cells: list[Any] = []
                for c in element:
                    if c.tag != cell_tag:
                        continue
                    ref = c.get("r")
                    if ref:
                        place = _reference(ref)
                        if place is None:
                            raise bad_file("unreadable", f"row {counter}: {ref[:20]!r} is no cell reference",
                                           row=counter)
                        at = place[0] - 1
                    else:
                        at = len(cells)
                    if at >= limits.columns:  # checked before the row is widened to reach it
                        raise too_wide(counter, ref or get_column_letter(at + 1) + str(counter), limits)
                    if at > len(cells):
                        cells.extend([None] * (at - len(cells)))
                    kind = c.get("t", "n")
                    raw = c.findtext(value_tag) or None  # <v/> of a formula never calculated
                    if kind == "s":
                        value: Any = strings[int(raw)] if raw is not None else None
                    elif kind == "inlineStr":
                        inline = c.find(inline_tag)
                        value = _text_of(inline, q) if inline is not None else None
                    elif raw is None:
                        value = None
                    elif kind == "n":
                        value = float(raw) if "." in raw or "E" in raw or "e" in raw else int(raw)
                        style = int(c.get("s") or 0)
                        if style in dates:
                            value = from_excel(value, epoch)
                        elif style in durations:
                            value = from_excel(value, epoch, timedelta=True)
                    elif kind == "b":
                        value = raw == "1"
                    elif kind == "d":
                        value = from_ISO8601(raw)
                    else:  # "str" (a formula's text) and "e" (an error such as #N/A)
                        value = raw
                    if at < len(cells):  # two cells at one place: the later one counts
                        cells[at] = value
                    else:
                        cells.append(value)
                if rows_parent is not None:
                    rows_parent.clear()  # nor are the rows read so far kept
                else:
                    element.clear()
                yield counter, cells
    except (ElementTree.ParseError, KeyError, ValueError, IndexError, zipfile.BadZipFile, EOFError, OverflowError):
        raise _unreadable() from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # what Excel on Chinese Windows writes when saving "CSV"
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise bad_file("encoding", N_("the CSV file is neither UTF-8 nor GB18030 text")) from None


def _csv_rows(data: bytes, limits: ReadLimits = DEFAULT_LIMITS,
              ) -> tuple[Iterator[tuple[int, Sequence[Any]]], int | None]:
    text = _decode(data)
    if "\x00" in text:
        raise bad_file("not_table", N_("the file must be an Excel workbook (.xlsx) or a CSV file (.csv)"))
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)  # a last line ends with its newline
    if lines - 1 > limits.rows + HEADER_SEARCH:
        raise too_many_rows(lines, limits)
    reader = csv.reader(io.StringIO(text, newline=""))

    def numbered() -> Iterator[tuple[int, Sequence[Any]]]:
        start = 1
        try:
            for cells in reader:
                # The line a row starts on: a quoted value may span lines, and the user counts from the top.
                yield start, cells
                start = reader.line_num + 1
        except csv.Error:
            raise bad_file("unreadable", N_("the CSV file is malformed"), row=start) from None

    return numbered(), lines


def cell_text(value: Any) -> str | None:
    """A cell as text, None when blank: 13812345678.0 (Excel's number) → "13812345678"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        value = value.date()
    # Stripped only: full-width punctuation is normal in Chinese text; validators normalise what they check.
    text = str(value).strip()
    return text or None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()


def cell_date(value: Any) -> date | None:
    """A date from a date cell, "2026-12-31", "2026/12/31", "2026年12月31日" or Excel's day number; None when
    blank; ValueError when it is no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2_958_466:
        return date.fromordinal(_EXCEL_EPOCH + int(value))  # a date cell read as a number
    m = _DATE.fullmatch(unicodedata.normalize("NFKC", str(value)).strip())
    if not m:
        raise ValueError("not a date")
    return date(*map(int, m.groups()))  # ValueError for 2026-02-30


# Writing.


# Text that Excel or WPS would take for a formula, when the file is opened or when a reader edits the cell and
# presses Enter (OWASP's "CSV injection": =HYPERLINK(…) or a DDE call typed into a description): text whose first
# character, after any spaces, is =, +, -, @, a tab, a line break or the full-width forms a Chinese input method
# types. Every cell this module writes goes through `neutralise`; no other module writes workbooks
# (tests/test_architecture.py).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.lstrip(" \u3000").startswith(FORMULA_PREFIXES)


def neutralise(cell: Any) -> Any:
    """The cell written as text with Excel's quote prefix (the apostrophe a person types to enter "=1+1" as
    text, stored as a style so the value itself is unchanged) when its text looks like a formula; numbers, dates
    and other text as they are (-5 stays a number)."""
    value = cell.value
    if looks_like_formula(value):
        cell.data_type = "s"  # never "f": shown as text, not evaluated when the file is opened
        cell.quotePrefix = True  # and still text when someone edits the cell and confirms it
    return cell


def _cell(ws: Any, value: Any, font: Font | None = None, number_format: str = "") -> Any:
    cell = neutralise(WriteOnlyCell(ws, value=value))
    if font is not None:
        cell.font = font
    if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format
    return cell


def write_list(columns: Sequence[Column | str], rows: Iterable[Sequence[Any]], *, sheet: str = "列表",
               title: str | None = None, page_mark: str | None = None) -> bytes:
    """A list as a workbook: a bold title row when given, a bold header row, then one row per item. Streams, so
    large lists fit. `page_mark` is printed in the header and the footer of every page (who took the list out)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    if page_mark:
        # "&" starts a code in a header or footer: doubled, it is printed as itself.
        ws.oddHeader.center.text = ws.oddFooter.center.text = page_mark.replace("&", "&&")
    titles = [c.title if isinstance(c, Column) else c for c in columns]
    formats = [c.number_format if isinstance(c, Column) else "" for c in columns]
    for i, c in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = c.width if isinstance(c, Column) else 16
    ws.freeze_panes = "A3" if title else "A2"
    if title:
        ws.append([_cell(ws, title, _TITLE)])
    ws.append([_cell(ws, t, _BOLD) for t in titles])
    for row in rows:
        ws.append([_cell(ws, v, number_format=formats[i] if i < len(formats) else "") for i, v in enumerate(row)])
    return _save(wb)


def write_book(sheets: Sequence[tuple[str, Sequence[Column | str], Iterable[Sequence[Any]]]]) -> bytes:
    """Several lists in one workbook, a sheet each: (sheet name, columns, rows) as `write_list` takes them."""
    wb = Workbook(write_only=True)
    for name, columns, rows in sheets:
        ws = wb.create_sheet(name)
        for i, c in enumerate(columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = c.width if isinstance(c, Column) else 16
        ws.freeze_panes = "A2"
        ws.append([_cell(ws, c.title if isinstance(c, Column) else c, _BOLD) for c in columns])
        for row in rows:
            ws.append([_cell(ws, v) for v in row])
    return _save(wb)


def error_report(errors: Iterable[tuple[int | None, str, str]], *, headers: Sequence[str] = ("行", "列", "原因"),
                 sheet: str = "错误") -> bytes:
    """Rows of (row number, column, reason) — reasons say what is wrong, never repeat the value."""
    widths = (8, 18, 70)
    cols = [Column(key=f"c{i}", title=h, width=w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))]
    return write_list(cols, errors, sheet=sheet)


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
