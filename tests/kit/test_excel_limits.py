"""kit/excel's reader against crafted files: a sheet declaring or holding a cell at XFD1048576, a row number in the
millions, a part that unpacks to a gigabyte, a zip of too many parts, more rows than an import takes — each refused
before it is read (or at the row where it is met), quickly, with the problem named, and nothing allocated for it."""

from __future__ import annotations

import io
import re
import struct
import time
import zipfile
from collections.abc import Callable

import pytest
from openpyxl import Workbook

from jiayuan.kit import excel
from jiayuan.kit.errors import Invalid

COLUMNS = (excel.Column("name", "姓名", required=True), excel.Column("code", "编码"))
SHEET = "xl/worksheets/sheet1.xml"
GB = 1024 ** 3


def workbook(rows: int = 3, shared: bool = False) -> bytes:
    book = Workbook()
    book.active.append(["姓名", "编码"])
    for i in range(rows):
        book.active.append([f"张{i}", f"{i:05d}"])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    return with_shared_strings(data) if shared else data


def rewrite(data: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, change(source.read(name)) if name == part else source.read(name))
    return out.getvalue()


def with_shared_strings(data: bytes) -> bytes:
    """The workbook's text in a shared-string table, as Excel writes it (openpyxl writes inline strings)."""
    strings: list[str] = []

    def share(m: re.Match) -> str:
        strings.append(m.group(2))
        return f'<c{m.group(1)} t="s"><v>{len(strings) - 1}</v></c>'

    data = rewrite(data, SHEET, lambda xml: re.sub(r'<c([^>]*?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', share,
                                                   xml.decode()).encode())
    data = rewrite(data, "xl/_rels/workbook.xml.rels", lambda xml: xml.replace(
        b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="/xl/sharedStrings.xml"/></Relationships>'))
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as target:
        target.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
                        f' count="{len(strings)}">{items}</sst>')
    return out.getvalue()


def refused(data: bytes, limits: excel.ReadLimits = excel.DEFAULT_LIMITS, name: str = "a.xlsx") -> Invalid:
    """The error reading `data` raises (rows are read lazily: reading them all is part of reading the file)."""
    started = time.monotonic()
    with pytest.raises(Invalid) as caught:
        list(excel.read_table(data, name, COLUMNS, limits).rows)
    assert time.monotonic() - started < 5, "refused, but only after reading what it should not have"
    assert caught.value.field == "file"
    return caught.value


def test_the_crafted_files_read_well_before_they_are_crafted() -> None:
    for data in (workbook(), workbook(shared=True)):
        assert list(excel.read_table(data, "a.xlsx", COLUMNS).rows) == [
            (2, {"name": "张0", "code": "00000"}), (3, {"name": "张1", "code": "00001"}),
            (4, {"name": "张2", "code": "00002"})]


@pytest.mark.parametrize(("ref", "problem", "details"), [
    ("A1:XFD1048576", "too_many_columns", {"cell": "XFD1048576", "limit": 256}),
    ("A1:B1048576", "too_many_rows", {"rows": 1048576, "limit": 300_000}),
    ("A1:IW3", "too_many_columns", {"cell": "IW3", "limit": 256}),
])
def test_a_sheet_declaring_a_huge_extent_is_refused_before_its_rows_are_read(ref: str, problem: str,
                                                                            details: dict) -> None:
    data = rewrite(workbook(), SHEET, lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(),
                                                         xml))
    error = refused(data)
    assert error.details == {"problem": problem, **details}
    assert ref.split(":")[-1] in error.message or f"{details.get('rows', 0):,}" in error.message


def test_a_cell_at_xfd_is_refused_at_its_row_before_the_row_is_widened_to_reach_it() -> None:
    data = rewrite(workbook(), SHEET, lambda xml: xml.replace(
        b'<c r="B3" t="inlineStr"><is><t>00001</t></is></c>',
        b'<c r="B3" t="inlineStr"><is><t>00001</t></is></c><c r="XFD3"><v>1</v></c>'))
    error = refused(data)
    assert error.details == {"problem": "too_many_columns", "row": 3, "cell": "XFD3", "limit": 256}
    assert "row 3" in error.message and "XFD3" in error.message


@pytest.mark.parametrize("number", ["5000000", "1048577", "0", "-3"])
def test_a_row_numbered_past_excels_last_is_refused_naming_it(number: str) -> None:
    data = rewrite(workbook(), SHEET, lambda xml: xml.replace(b'<row r="3"', f'<row r="{number}"'.encode())
                   .replace(b'r="A3"', b"").replace(b'r="B3"', b""))
    error = refused(data)
    assert error.details["problem"] == "too_many_rows" and error.details["row"] == int(number)


def test_more_data_rows_than_an_import_takes_are_refused_at_the_row_past_them() -> None:
    limits = excel.ReadLimits(rows=20)
    # Without a <dimension> the rows are counted as they come; with one, refused before.
    undeclared = rewrite(workbook(rows=40), SHEET, lambda xml: re.sub(rb"<dimension [^>]*>", b"", xml))
    assert b"<dimension" not in zipfile.ZipFile(io.BytesIO(undeclared)).read(SHEET)
    error = refused(undeclared, limits)
    assert error.details == {"problem": "too_many_rows", "rows": 21, "limit": 20, "row": 22}  # the 21st data row
    assert refused(workbook(rows=40), limits).details == {"problem": "too_many_rows", "rows": 41, "limit": 20}
    csv = ("姓名,编码\n" + "张三,1\n" * 40).encode()
    assert refused(csv, limits, "a.csv").details == {"problem": "too_many_rows", "rows": 41, "limit": 20}
    assert len(list(excel.read_table(workbook(rows=20), "a.xlsx", COLUMNS, limits).rows)) == 20


def declare_size(data: bytes, part: str, size: int) -> bytes:
    """The zip with `part`'s unpacked size declared as `size` in its local header and the central directory (the
    data itself unchanged): what a reader trusting the directory would allocate for."""
    buffer = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(part)
    struct.pack_into("<I", buffer, info.header_offset + 22, size)
    name = part.encode()
    central = buffer.find(b"PK\x01\x02")
    while central >= 0:
        length, = struct.unpack_from("<H", buffer, central + 28)
        if bytes(buffer[central + 46:central + 46 + length]) == name:
            struct.pack_into("<I", buffer, central + 24, size)
            break
        central = buffer.find(b"PK\x01\x02", central + 4)
    return bytes(buffer)


def test_a_shared_strings_part_declaring_a_gigabyte_is_refused_before_it_is_read() -> None:
    data = declare_size(workbook(shared=True), "xl/sharedStrings.xml", GB)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/sharedStrings.xml").file_size == GB
    error = refused(data)
    assert error.details == {"problem": "part_too_large", "part": "xl/sharedStrings.xml", "size": GB,
                             "limit": 512 * 1024 * 1024}
    # Held in memory while the sheet is read, the shared strings have a limit of their own, below the sheet's.
    error = refused(declare_size(workbook(shared=True), "xl/sharedStrings.xml", 100 * 1024 * 1024),
                    excel.ReadLimits(ratio=10 ** 9))  # (its ratio, tried first, would refuse it as well)
    assert error.details == {"problem": "part_too_large", "part": "xl/sharedStrings.xml", "size": 100 * 1024 * 1024,
                             "limit": 64 * 1024 * 1024}


def test_a_part_that_unpacks_to_far_more_than_its_size_is_refused() -> None:
    """A real bomb: 64 MB of one repeated row in some 64 kB of deflate. Refused from its ratio, before it is read."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + row * (64 * 1024 * 1024 // len(row)) + b"</sheetData></worksheet>")
    error = refused(rewrite(workbook(), SHEET, lambda _xml: sheet))
    assert error.details["problem"] == "compressed_too_much" and error.details["part"] == SHEET
    assert error.details["ratio"] > 200 and error.details["limit"] == 200


def test_a_zip_of_too_many_parts_is_refused_from_its_end_record() -> None:
    out = io.BytesIO(workbook())
    with zipfile.ZipFile(out, "a") as target:
        for i in range(60):
            target.writestr(f"xl/media/{i}.bin", b"")
    error = refused(out.getvalue(), excel.ReadLimits(parts=50))
    assert error.details == {"problem": "too_many_parts", "parts": 69, "limit": 50}
