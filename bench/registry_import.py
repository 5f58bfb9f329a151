"""Registry import speed: N people from an .xlsx (validation, blind indexes, encryption, bulk writes) into a
fresh database with the small demo district, then the same file again (every row unchanged).

    python -m bench.registry_import --people 10000 [--url postgresql://…] [--short]

Prints the seconds of each phase; nothing here is a test assertion. By default the whole import is one transaction
(`imports.import_file`); with --short it runs as pages, the API, the worker and the command line run it: a
transaction per thousand rows (`imports.tasks.run`)."""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import uuid
from pathlib import Path

from openpyxl import Workbook

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.demo.load import load_demo
from jiayuan.kit import excel
from jiayuan.kit.db import Database
from jiayuan.kit.identity import id_check_char
from jiayuan.kit.migrate import upgrade
from jiayuan.kit.scope import Scope
from jiayuan.reference import load_reference_data
from jiayuan.registry.imports import service as imports
from jiayuan.registry.imports import tasks
from jiayuan.registry.imports.columns import HOUSES, PEOPLE
from jiayuan.units import service as units

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀英华慧建国红梅"


def system(district: str) -> Principal:
    return Principal(uuid.UUID(int=0), "bench", "bench", Role.district_admin, district, Scope((district,)))


def _xlsx(columns, rows) -> bytes:
    # A normal workbook, as Excel and WPS write them: shared strings and a <dimension> element (openpyxl's
    # write-only mode writes neither, which makes reading it back several times slower).
    wb = Workbook()
    ws = wb.active
    ws.append([c.title for c in columns])
    for row in rows:
        ws.append([row.get(c.key) for c in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def files(grids: list[str], people: int) -> tuple[bytes, bytes]:
    """Houses (one room per three people) and people with households, in every grid."""
    houses, residents = [], []
    rooms = (people + 2) // 3
    for n in range(rooms):
        grid = grids[n % len(grids)]
        houses.append({"grid_code": grid, "compound": f"小区{n // 600}", "building": f"{n // 60 % 10 + 1}栋",
                       "entrance": f"{n // 20 % 3 + 1}单元", "number": f"{n % 20 + 101}", "use": "自住"})
    for n in range(people):
        room = houses[n // 3]
        first17 = f"360802{1940 + n % 80}{n % 12 + 1:02d}{n % 28 + 1:02d}{n % 1000:03d}"
        # Unique and valid: vary the birth date and serial so that no two rows share a number.
        first17 = f"36{n // 1000 % 10000:04d}{first17[6:]}"
        residents.append({
            "name": SURNAMES[n % len(SURNAMES)] + GIVEN[n * 7 % len(GIVEN)] + GIVEN[n * 13 % len(GIVEN)],
            "id_number": first17 + id_check_char(first17), "phone": f"138{n:08d}",
            "grid_code": room["grid_code"], "residence_type": "流动" if n % 10 == 0 else "户籍",
            "floating_expires_on": "2027-12-31" if n % 10 == 0 else None,
            "compound": room["compound"], "building": room["building"], "entrance": room["entrance"],
            "room": room["number"], "household_number": f"H{n // 3:07d}",
            "relation": "户主" if n % 3 == 0 else "子女", "tags": "独居" if n % 50 == 0 else None})
    return _xlsx(HOUSES, houses), _xlsx(PEOPLE, residents)


def run(people: int, url: str | None = None, short: bool = False) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="jiayuan-bench-"))
    db = Database(url or f"sqlite:///{folder / 'bench.db'}")
    upgrade(db.engine)
    with db.unit_of_work() as s:
        load_reference_data(s)  # the demo's service centres need their kinds
        load_demo(s, "small", with_cases=False)
    with db.unit_of_work() as s:
        district = units.single_district(s) or "360802"
        grids = sorted(units.grid_codes(s, Scope((district,))))
    houses, residents = files(grids, people)
    figures: dict[str, float] = {"people": people, "file_mb": len(residents) / 1e6}
    principal = system(district)
    for label, kind, data in (("houses", "houses", houses), ("people", "people", residents),
                              ("people_again", "people", residents)):
        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int | None, marks: dict[str, float] = marks) -> None:
            marks.setdefault(stage, time.perf_counter())

        start = time.perf_counter()
        if short:
            table = excel.read_table(data, f"{kind}.xlsx", (HOUSES if kind == "houses" else PEOPLE))
            result = tasks.run(db.unit_of_work, principal, kind, table.rows, mode="all_or_nothing",
                               progress=progress, total=table.total)
            written = time.perf_counter()
        else:
            with db.unit_of_work() as s:
                result = imports.import_file(s, principal, kind, data, f"{kind}.xlsx", progress=progress)
                written = time.perf_counter()
        end = time.perf_counter()
        assert not result.errors, result.errors[:5]
        figures[f"{label}_s"] = end - start
        figures[f"{label}_write_s"] = written - marks.get("write", written)
        figures[f"{label}_commit_s"] = end - written
        figures[f"{label}_created"] = result.created
        figures[f"{label}_unchanged"] = result.unchanged
    db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--url", default=None, help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--short", action="store_true", help="a transaction per thousand rows, as pages import")
    args = parser.parse_args()
    f = run(args.people, args.url, args.short)
    print(f"{int(f['people'])} people, file {f['file_mb']:.1f} MB")
    for label in ("houses", "people", "people_again"):
        print(f"{label:>13}: {f[label + '_s']:.2f} s (writing {f[label + '_write_s']:.2f} s, commit "
              f"{f[label + '_commit_s']:.2f} s), created {int(f[label + '_created'])}, "
              f"unchanged {int(f[label + '_unchanged'])}")
    print(f"people per second: {f['people'] / f['people_s']:.0f}")


if __name__ == "__main__":
    main()
