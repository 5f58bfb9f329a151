"""Spreadsheet imports of the registry: the templates, row errors that name row, column and reason without the
value, all-or-nothing and valid-only, idempotent re-import of every kind, encryption at rest, scope, bad files,
and the API with its recorded error report."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiayuan.kit import excel
from jiayuan.kit.errors import Invalid
from jiayuan.registry.imports import service as imports
from jiayuan.registry.imports.columns import COLUMNS
from jiayuan.registry.models import Building, Compound, Household, Organization, Person, PersonTag, Room, Thing
from tests.personas import GRID_A, GRID_B
from tests.registry.helpers import (
    count,
    credit_code,
    csv_bytes,
    id_number,
    principal,
    sheet_rows,
    workbook,
    wrong_check,
)

PHONE = "13812345678"


def person(serial: int, **fields: Any) -> dict[str, Any]:
    return {"name": f"张{'一二三四五六七八九十'[serial % 10]}", "id_number": id_number(serial), "phone": PHONE,
            "grid_code": GRID_A, "residence_type": "户籍", **fields}


def run(session: Session, persona: str, kind: str, data: bytes, name: str = "f.xlsx",
        mode: str = "all_or_nothing") -> imports.ImportResult:
    return imports.import_file(session, principal(session, persona), kind, data, name, mode=mode)


def where(result: imports.ImportResult) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in result.errors]


# Templates.


@pytest.mark.parametrize("kind", imports.KINDS)
def test_template_has_headers_drop_downs_and_notes(kind: str, session: Session) -> None:
    data = imports.template_for(session, principal(session, "grid_a"), kind)
    book = load_workbook(io.BytesIO(data))
    sheet, notes = book.worksheets[0], book["说明"]
    columns = COLUMNS[kind]
    header = [c.value for c in sheet[1]][:len(columns)]
    assert header == [c.title + ("*" if c.required else "") for c in columns]
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in sheet.data_validations.dataValidation}
    letters = {c.key: sheet.cell(row=1, column=i).column_letter for i, c in enumerate(columns, 1)}
    for c in columns:
        if c.choices:
            assert all(choice in lists[letters[c.key]] for choice in c.choices), c.key
        if c.text:
            assert sheet.column_dimensions[letters[c.key]].number_format == "@", c.key
    # The grid column offers the importer's own grids.
    assert GRID_A in lists[letters["grid_code"]] and GRID_B not in lists[letters["grid_code"]]
    explained = {row[1].value: row for row in notes.iter_rows() if row[1].value}
    assert {c.key for c in columns} <= set(explained)
    # The template reads back as an empty file with every column.
    table = excel.read_table(data, "t.xlsx", columns)
    assert table.columns == [c.key for c in columns] and list(table.rows) == []


def test_people_template_lists_residence_types(session: Session) -> None:
    book = load_workbook(io.BytesIO(imports.template_for(session, principal(session, "community"), "people")))
    formulas = [dv.formula1 for dv in book.worksheets[0].data_validations.dataValidation]
    assert '"户籍,流动,境外,未落户"' in formulas


# Errors: nothing written by default, each error names row, column and reason, never the value.


def test_an_import_with_errors_writes_nothing_and_reports_each_row(session: Session) -> None:
    before = count(session, Person)
    bad_id = wrong_check(id_number(2))
    data = workbook("people", [person(1), person(2, id_number=bad_id), person(3, residence_type="暂住"),
                               person(4, phone="12345")])
    result = run(session, "grid_a", "people", data)
    assert not result.written and (result.created, result.updated, result.total) == (0, 0, 4)
    assert result.rejected == 3 and result.valid == 1
    assert where(result) == [(3, "id_number"), (4, "residence_type"), (5, "phone")]
    assert "check character" in result.errors[0].reason
    assert "户籍" in result.errors[1].message()
    assert count(session, Person) == before
    report = " ".join(e.message() for e in result.errors)
    assert bad_id not in report and "12345" not in report and bad_id[6:14] not in report


def test_valid_only_imports_the_rest(session: Session) -> None:
    before = count(session, Person)
    data = workbook("people", [person(1), person(2, id_number=wrong_check(id_number(2))), person(3)])
    result = run(session, "grid_a", "people", data, mode="valid_only")
    assert result.written and (result.created, result.rejected) == (2, 1)
    assert where(result) == [(3, "id_number")]
    assert count(session, Person) == before + 2


def test_duplicates_inside_the_file_are_row_errors(session: Session) -> None:
    data = workbook("people", [person(1), person(2), person(1, name="李四")])
    result = run(session, "grid_a", "people", data)
    assert where(result) == [(4, "id_number")] and result.errors[0].params == {"row": 2}
    assert "row 2" in result.errors[0].message()


def test_required_cells_and_rules_of_the_api(session: Session) -> None:
    rows = [person(1, name=None), person(2, residence_type="流动"),
            person(3, residence_type="流动", floating_expires_on="2027-06-30"),
            person(4, household_number="H1"), person(5, tags="独居;会飞"), person(6, tags="80岁以上"),
            person(7, grid_code="360802001001"), person(8, building="1栋")]
    result = run(session, "grid_a", "people", workbook("people", rows))
    assert where(result) == [(2, "name"), (3, "floating_expires_on"), (5, "relation"), (6, "tags"), (7, "tags"),
                             (8, "grid_code"), (9, "room")]


def test_excel_number_cells_are_refused_for_id_numbers(session: Session) -> None:
    data = workbook("people", [person(1, id_number=360802198001011000)])
    assert where(run(session, "grid_a", "people", data)) == [(2, "id_number")]


# Scope.


def test_a_row_for_another_grid_is_rejected_for_a_grid_worker(session: Session) -> None:
    data = workbook("people", [person(1), person(2, grid_code=GRID_B)])
    result = run(session, "grid_a", "people", data)
    assert where(result) == [(3, "grid_code")] and "outside your scope" in result.errors[0].reason
    # Their community's staff may import both.
    assert run(session, "community", "people", data).created == 2


def test_a_known_person_outside_the_scope_is_not_touched(session: Session) -> None:
    assert run(session, "grid_b", "people", workbook("people", [person(1, grid_code=GRID_B)])).created == 1
    result = run(session, "grid_a", "people", workbook("people", [person(1, name="王五")]))
    assert where(result) == [(2, "id_number")] and "outside your scope" in result.errors[0].reason


# Re-import: updates, never duplicates; the same file again changes nothing.


def _houses() -> list[dict[str, Any]]:
    return [{"grid_code": GRID_A, "compound": "幸福家园", "building": "1栋", "entrance": "1单元", "number": "101",
             "use": "自住", "area": 88.5, "floors": 6},
            {"grid_code": GRID_A, "compound": "幸福家园", "building": "1栋", "entrance": "1单元", "number": "102",
             "use": "出租"},
            {"grid_code": GRID_A, "building": "临街5号", "number": "1", "use": "商用"}]


def _facilities() -> list[dict[str, Any]]:
    return [{"kind": "路灯", "code": "LD-0001", "name": "东门路灯", "grid_code": GRID_A, "status": "完好",
             "owner": "城管局", "installed_on": "2020-05-01"},
            {"kind": "井盖", "code": "JG-0001", "grid_code": GRID_A}]


def _organizations() -> list[dict[str, Any]]:
    return [{"name": "幸福物业有限公司", "kind": "物业公司", "credit_code": credit_code("70846113"),
             "grid_code": GRID_A, "contact_phone": PHONE, "staff_count": 12},
            {"name": "幸福家园业主委员会", "kind": "业主委员会", "grid_code": GRID_A}]


def _people() -> list[dict[str, Any]]:
    return [person(1, household_number="H001", relation="户主", compound="幸福家园", building="1栋",
                   entrance="1单元", room="101", tags="独居;低保"),
            person(2, household_number="H001", relation="配偶", compound="幸福家园", building="1栋",
                   entrance="1单元", room="101"),
            person(3, residence_type="流动", floating_expires_on=date(2027, 6, 30), phone=None)]


CASES = {
    "houses": (_houses, [Room, Building, Compound], {"use": "空置"}),
    "facilities": (_facilities, [Thing], {"status": "损坏"}),
    "organizations": (_organizations, [Organization], {"staff_count": 30}),
    "people": (_people, [Person, Household, PersonTag], {"name": "张三丰"}),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_reimport_updates_and_never_duplicates(kind: str, session: Session) -> None:
    make, models, change = CASES[kind]
    if kind == "people":
        run(session, "grid_a", "houses", workbook("houses", _houses()))
    before = [count(session, m) for m in models]
    rows = make()
    first = run(session, "grid_a", kind, workbook(kind, rows))
    assert first.written and first.created == len(rows) and not first.errors, first.errors
    after = [count(session, m) for m in models]
    assert all(a > b for a, b in zip(after, before, strict=True))

    again = run(session, "grid_a", kind, workbook(kind, rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(rows)) and not again.written
    assert [count(session, m) for m in models] == after

    rows[0].update(change)
    third = run(session, "grid_a", kind, workbook(kind, rows))
    assert (third.created, third.updated, third.unchanged) == (0, 1, len(rows) - 1)
    assert [count(session, m) for m in models] == after


def test_people_land_in_their_rooms_and_households(session: Session) -> None:
    run(session, "grid_a", "houses", workbook("houses", _houses()))
    result = run(session, "grid_a", "people", workbook("people", _people()))
    assert result.created == 3
    head, spouse, floating = (session.scalar(select(Person).where(Person.name_initials.is_not(None),
                                                                   Person.birth_date == date(1980, 1, 1),
                                                                   Person.name == p["name"]))
                              for p in _people())
    assert head.household_id == spouse.household_id and head.room_id == spouse.room_id is not None
    household = session.get(Household, (head.district_code, head.household_id))
    assert household.head_id == head.id and household.number == "H001" and household.room_id == head.room_id
    assert (head.relation, spouse.relation) == ("户主", "配偶")
    assert (floating.residence_type, floating.floating_expires_on) == ("floating", date(2027, 6, 30))
    assert floating.household_id is None and floating.room_id is None
    tags = set(session.scalars(select(PersonTag.tag).where(PersonTag.person_id == head.id)))
    assert tags == {"living_alone", "allowance"}
    # A room that is not registered is a row error, not a new room.
    missing = run(session, "grid_a", "people", workbook("people", [person(9, building="9栋", room="901")]))
    assert where(missing) == [(2, "room")]


def test_a_reimport_into_another_grid_moves_the_person(session: Session) -> None:
    run(session, "community", "people", workbook("people", [person(1, tags="低保")]))
    moved = run(session, "community", "people", workbook("people", [person(1, tags="低保", grid_code=GRID_B)]))
    assert moved.updated == 1
    p = session.scalar(select(Person).where(Person.name == person(1)["name"], Person.grid_code == GRID_B))
    assert p is not None
    assert set(session.scalars(select(PersonTag.grid_code).where(PersonTag.person_id == p.id))) == {GRID_B}


def test_raw_tables_hold_no_plaintext_after_an_import(session: Session) -> None:
    ids = [id_number(n) for n in range(1, 4)]
    org_phone = "15811112222"
    run(session, "grid_a", "people", workbook("people", [person(n) for n in range(1, 4)]))
    run(session, "grid_a", "organizations", workbook("organizations", [{**_organizations()[0],
                                                                        "contact_phone": org_phone}]))
    raw = " ".join(str(v) for table in ("people", "organizations", "registry_imports", "households")
                   for row in session.execute(text(f"SELECT * FROM {table}")) for v in row)
    assert PHONE not in raw and org_phone not in raw
    assert not any(i in raw for i in ids)
    # …while the application reads them back.
    assert {p.id_number for p in session.scalars(select(Person))} >= set(ids)


# Files: CSV in both encodings, English headers, and files that are refused.


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_every_encoding_excel_writes(encoding: str, session: Session) -> None:
    result = run(session, "grid_a", "people", csv_bytes("people", [person(1), person(2)], encoding=encoding),
                 "people.csv")
    assert result.created == 2, result.errors
    assert session.scalar(select(Person.name).where(Person.name == "张二")) == "张二"


def test_english_headers_and_extra_columns(session: Session) -> None:
    data = csv_bytes("houses", _houses(), english=True)
    data = data.replace(b"grid_code,", b"Grid_Code *,", 1)
    assert run(session, "grid_a", "houses", data, "houses.csv").created == 3


def test_csv_row_numbers_are_the_lines_the_user_sees(session: Session) -> None:
    data = csv_bytes("people", [person(1), person(2, id_number="123")])
    assert where(run(session, "grid_a", "people", data, "p.csv")) == [(3, "id_number")]


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"name,id_number\n", "people.txt", "not_table"),
    (b"", "people.csv", "empty"),
    (b"\n\n", "people.csv", "empty"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "people.xls", "xls"),
    (b"PK\x03\x04 broken", "people.xlsx", "unreadable"),
    ("姓名,手机号\n张三,13812345678\n".encode(), "people.csv", "missing_columns"),
])
def test_bad_files_are_refused_naming_the_problem(data: bytes, name: str, problem: str, session: Session) -> None:
    with pytest.raises(Invalid) as caught:
        run(session, "grid_a", "people", data, name)
    assert caught.value.field == "file" and caught.value.details["problem"] == problem
    if problem == "missing_columns":
        assert caught.value.details["columns"] == ["身份证号 (id_number)", "网格编码 (grid_code)"]
        assert "身份证号" in caught.value.message


# The API: templates, imports recorded with their report, downloadable by the importer only.

API = "/api/v1/registry"


def test_api_template_and_import_with_its_error_report(api: Any, session: Session) -> None:
    r = api("grid_a").get(f"{API}/templates/people.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == excel.XLSX_TYPE
    assert api("grid_a").get(f"{API}/templates/cats.xlsx").status_code == 404
    assert api("resident").get(f"{API}/templates/people.xlsx").status_code == 403

    bad_id = wrong_check(id_number(2))
    data = workbook("people", [person(1), person(2, id_number=bad_id), person(3, residence_type="暂住")])
    files = {"file": ("居民.xlsx", data, excel.XLSX_TYPE)}
    r = api("grid_a").post(f"{API}/imports/people", files=files)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["written"], body["created"], body["rejected"], body["error_count"]) == (False, 0, 2, 2)
    assert [(e["row"], e["column"], e["column_title"]) for e in body["errors"]] == [
        (3, "id_number", "身份证号"), (4, "residence_type", "居住类型")]
    assert bad_id not in r.text and r.headers["location"].endswith(body["id"])

    report = api("grid_a").get(body["errors_url"])
    assert report.status_code == 200 and report.headers["content-type"] == excel.XLSX_TYPE
    rows = sheet_rows(report.content)
    assert rows[0] == ["行", "列", "原因"]
    assert [r[:2] for r in rows[1:]] == [[3, "身份证号"], [4, "居住类型"]]
    assert "校验码" in rows[1][2] and bad_id not in str(rows)
    # Only its importer gets it.
    assert api("grid_b").get(body["errors_url"]).status_code == 404
    assert api("grid_a").get(f"{API}/imports/{body['id']}").json()["id"] == body["id"]

    r = api("grid_a").post(f"{API}/imports/people", files=files, data={"mode": "valid_only"})
    assert r.json()["written"] and r.json()["created"] == 1
    assert api("grid_a").post(f"{API}/imports/people", files=files, data={"mode": "some"}).json()["field"] == "mode"


def test_api_refuses_bad_files_naming_the_file(api: Any) -> None:
    r = api("grid_a").post(f"{API}/imports/people", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert r.json()["details"]["problem"] == "not_table"
    r = api("grid_a").post(f"{API}/imports/people",
                           files={"file": ("p.csv", "姓名,手机号\n张三,13812345678\n".encode(), "text/csv")})
    assert r.status_code == 422 and "身份证号" in r.json()["message"]
    assert api("grid_a").post(f"{API}/imports/people").json()["field"] == "file"


def test_import_is_recorded_and_audited(api: Any, session: Session) -> None:
    from jiayuan.accounts.models import AuditEntry
    from jiayuan.registry.models import RegistryImport

    r = api("grid_a").post(f"{API}/imports/houses", files={"file": ("h.xlsx", workbook("houses", _houses()),
                                                                    excel.XLSX_TYPE)})
    record = session.get(RegistryImport, (GRID_A[:6], uuid.UUID(r.json()["id"])))
    assert (record.kind, record.scope_code, record.created, record.written) == ("houses", GRID_A, 3, True)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "registry_imported")).one()
    assert entry.detail["created"] == 3 and entry.detail["import_id"] == r.json()["id"]
