"""Spreadsheets for the import and export tests: workbooks filled from the real templates, valid ID numbers and
credit codes, and the principal of a persona."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.kit import excel
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.imports.columns import COLUMNS
from jiayuan.units.service import grids_of_user
from tests.personas import PERSONAS

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_number(serial: int, birth: str = "19800101", region: str = "360802") -> str:
    first17 = f"{region}{birth}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def wrong_check(number: str) -> str:
    """The same number with a check character that does not fit."""
    return number[:17] + ("0" if number[17] != "0" else "1")


def credit_code(body8: str, department: str = "9", kind: str = "1", region: str = "360802") -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    first17 = f"{department}{kind}{region}{body8}{org_check}"
    total = sum(_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + _ALPHABET[(31 - total % 31) % 31]


def workbook(kind: str, rows: Sequence[dict[str, Any]]) -> bytes:
    """The template of `kind` with `rows` filled in under its header, as a user fills it."""
    columns = COLUMNS[kind]
    book = load_workbook(io.BytesIO(excel.template(columns)))
    sheet = book.worksheets[0]
    for r, row in enumerate(rows, 2):
        for c, col in enumerate(columns, 1):
            value = row.get(col.key)
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(kind: str, rows: Sequence[dict[str, Any]], *, encoding: str = "utf-8-sig",
              english: bool = False) -> bytes:
    columns = COLUMNS[kind]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.key if english else c.title for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c.key) is None else row[c.key] for c in columns])
    return out.getvalue().encode(encoding)


def sheet_rows(data: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    width = max((len(r) for r in rows), default=0)
    return [r + [None] * (width - len(r)) for r in rows]  # trailing blank cells are not stored


def principal(session: Session, persona: str) -> Principal:
    user = session.scalar(select(User).where(User.username == PERSONAS[persona].username))
    return principal_of(user, grids_of_user(session, user.id))


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0
