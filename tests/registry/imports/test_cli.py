"""`jiayuan import KIND FILE` on a copy of the small demo of each backend: a file with errors exits 2 naming row,
column and reason and writes nothing (as a real process too, whose stderr holds no ID number); --report writes them
to .xlsx; --valid-only imports the rest; the corrected file imports, and importing it again changes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.cli import ok, run_cli, run_process, said
from tests.databases import query
from tests.registry.helpers import csv_bytes, id_number, sheet_rows, workbook, wrong_check

GRID = "360802001001001"  # grid 1 of 光明社区 in the small demo


def _people(bad: bool) -> list[dict]:
    second = id_number(2)
    return [{"name": "李秀英", "id_number": id_number(1), "phone": "13912345678", "grid_code": GRID},
            {"name": "王建国", "id_number": wrong_check(second) if bad else second, "grid_code": GRID,
             "residence_type": "流动", "floating_expires_on": "2027-12-31"}]


def people_count(url: str) -> int:
    return query(url, "SELECT count(*) FROM people")[0][0]


def test_import_people_from_the_command_line(demo_url: str, tmp_path: Path) -> None:
    before = people_count(demo_url)
    bad = tmp_path / "居民.csv"
    bad.write_bytes(csv_bytes("people", _people(bad=True), encoding="gb18030"))
    report = tmp_path / "errors.xlsx"

    # Any error: exit 2, each error named by row, column and reason, nothing written, the report written. In this
    # process, and once as a real one: what a user's terminal gets.
    for run in (run_cli, run_process):
        report.unlink(missing_ok=True)
        result = run(demo_url, "import", "people", str(bad), "--report", str(report))
        assert result.returncode == 2, result.stdout + result.stderr
        message = said(result)
        assert "row 3, 身份证号 (id_number): ID number check character is wrong" in message
        assert "nothing was imported" in message and "1 rejected" in message
        assert wrong_check(id_number(2)) not in result.stdout + result.stderr
        assert people_count(demo_url) == before
        rows = sheet_rows(report.read_bytes())
        assert rows[0] == ["行", "列", "原因"] and rows[1][:2] == [3, "身份证号"] and "校验码" in rows[1][2]

    # --valid-only: the good row goes in.
    result = ok(run_cli(demo_url, "import", "people", str(bad), "--valid-only"))
    assert "2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert people_count(demo_url) == before + 1

    # The corrected file, as .xlsx: the missing person is created, the other left as it is; then nothing moves.
    good = tmp_path / "居民.xlsx"
    good.write_bytes(workbook("people", _people(bad=False)))
    assert "1 created, 0 updated, 1 unchanged, 0 rejected" in ok(run_cli(demo_url, "import", "people",
                                                                          str(good))).stdout
    assert "0 created, 0 updated, 2 unchanged" in ok(run_cli(demo_url, "import", "people", str(good))).stdout
    assert people_count(demo_url) == before + 2
    # Encrypted at rest, as through the API.
    raw = " ".join(str(v) for row in query(demo_url, "SELECT * FROM people") for v in row)
    assert id_number(1) not in raw and "13912345678" not in raw
    # Every run is recorded, the two refused ones too.
    assert query(demo_url, "SELECT count(*) FROM audit_log WHERE action = 'registry_imported'")[0][0] == 5


def test_import_refuses_an_unknown_kind_and_a_bad_file(demo_url: str, tmp_path: Path) -> None:
    text = tmp_path / "people.txt"
    text.write_text("hello", encoding="utf-8")
    result = run_cli(demo_url, "import", "cats", str(text))
    assert result.returncode == 2 and "KIND: must be one of people, houses, facilities, organizations" in said(result)
    result = run_cli(demo_url, "import", "people", str(text))
    assert result.returncode == 2
    assert said(result) == "error: file: the file must be an Excel workbook (.xlsx) or a CSV file (.csv)"
    missing = tmp_path / "missing.csv"
    missing.write_text("姓名,手机号\n张三,13812345678\n", encoding="utf-8")
    result = run_cli(demo_url, "import", "people", str(missing))
    assert result.returncode == 2 and "身份证号 (id_number)" in said(result)
    assert run_cli(demo_url, "import", "people", str(tmp_path / "none.csv")).returncode == 2
    # Houses and organizations go through the same command.
    houses = tmp_path / "houses.csv"
    houses.write_bytes(csv_bytes("houses", [{"grid_code": GRID, "compound": "幸福家园", "building": "1栋",
                                              "number": "101", "use": "自住"}]))
    assert "1 created" in ok(run_cli(demo_url, "import", "houses", str(houses))).stdout


def test_a_command_line_import_that_moves_someone_in_care_moves_their_care_rows(demo_url: str,
                                                                                 tmp_path: Path) -> None:
    """The registry's move hooks are wired when the command starts (jiayuan.hooks), not when some module happens
    to import care: a person in care moved to another grid by `jiayuan import people` takes their care rows along,
    so that the new grid's worker sees them."""
    from datetime import date

    from jiayuan.care import service as care
    from jiayuan.kit.db import Database
    from jiayuan.registry.service import MOVE_HOOKS
    from jiayuan.registry.service import people as registry_people
    from tests.care.helpers import principal
    from tests.personas import GRID_A, GRID_B

    number = id_number(7)
    db = Database(demo_url)
    try:
        with db.unit_of_work() as s:
            staff = principal(s, "community")
            person = registry_people.create_person(s, staff, {"name": "独居老人", "grid_code": GRID_A,
                                                              "id_number": number})
            registry_people.add_tag(s, staff, person.id, "living_alone", starts_on=date(2020, 1, 1))
            care.open_profile(s, principal(s, "grid_a"), person.id)
            person_id = person.id
    finally:
        db.dispose()
    rows = [{"name": "独居老人", "id_number": number, "grid_code": GRID_B}]
    moved = tmp_path / "搬家.csv"
    moved.write_bytes(csv_bytes("people", rows))

    saved = list(MOVE_HOOKS)
    MOVE_HOOKS.clear()  # as a new `jiayuan` process has them: nothing registered until the command starts
    try:
        assert "1 updated" in ok(run_cli(demo_url, "import", "people", str(moved))).stdout
    finally:
        MOVE_HOOKS[:] = saved
    key = person_id.hex if demo_url.startswith("sqlite") else str(person_id)
    assert query(demo_url, f"SELECT grid_code FROM people WHERE id = '{key}'") == [(GRID_B,)]
    assert query(demo_url, f"SELECT grid_code FROM care_profiles WHERE person_id = '{key}'") == [(GRID_B,)]
