"""Personal data at rest, across the whole database: after a person is registered, an organization given a
contact, and a case reported with a phone (which also queues an SMS to the reporter), no table holds an ID number
or phone in plain text, while each can still be found and read through the application."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import jiayuan.models  # noqa: F401 - every table registered
from jiayuan.kit.db import Base
from jiayuan.kit.identity import id_check_char
from jiayuan.notify.models import OutboxMessage
from tests.cases.helpers import report
from tests.personas import GRID_A

FIRST17 = "36080219750615482"
ID = FIRST17 + id_check_char(FIRST17)
PHONE = "13912345678"
REPORTER = "13687654321"
ORG_PHONE = "15811112222"


def _every_cell(session: Session) -> str:
    """Every value of every table, as text, the way someone with a copy of the database file would read it."""
    cells = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(text(f'SELECT * FROM "{table.name}"')):
            cells.extend(str(v) for v in row if v is not None)
    return "\n".join(cells)


def test_no_table_holds_an_id_number_or_phone_in_plain_text(api, session: Session) -> None:
    person = api("grid_a").post("/api/v1/registry/people", json={
        "name": "李秀英", "grid_code": GRID_A, "id_number": ID, "phone": PHONE})
    assert person.status_code == 201, person.text
    org = api("grid_a").post("/api/v1/registry/organizations", json={
        "name": "幸福里业主委员会", "kind": "homeowners_committee", "grid_code": GRID_A, "contact_phone": ORG_PHONE})
    assert org.status_code == 201, org.text
    case = report(api, "resident", GRID_A, reporter_phone=REPORTER, reporter_name="王先生")
    assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.channel == "sms")) is not None, (
        "the reporter should have been told by SMS: the outbox is part of what is scanned")

    dump = _every_cell(session)
    assert "李秀英" in dump and case["number"] in dump  # the scan really sees the rows
    for secret in (ID, PHONE, REPORTER, ORG_PHONE, ID[6:14] + ID[14:]):
        assert secret not in dump

    # …and the application still finds them by the exact values.
    found = api("community").post("/api/v1/registry/people/search", json={"q": ID, "reason": "核实来访居民身份"})
    assert [p["name"] for p in found.json()] == ["李秀英"]
    tracked = api("resident").client.post("/api/v1/cases/track", json={"number": case["number"], "phone": REPORTER})
    assert tracked.status_code == 200, tracked.text
    sms = session.scalar(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
    assert sms.recipient == REPORTER  # decrypted for the sender
