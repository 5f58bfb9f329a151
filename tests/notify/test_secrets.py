"""No confirmation code in clear in the outbox (issue 12, item 8): a code travels as the message's secret, encrypted,
put into the text only as it is handed to the sender, and dropped once sent; so neither the table nor a backup of
it (`jiayuan backup`) holds one. The code messages already in a database are blanked by the migration."""

from __future__ import annotations

import re
import tarfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from jiayuan.care import visits
from jiayuan.kit.db import Database, uuid7
from jiayuan.kit.errors import Invalid
from jiayuan.kit.migrate import upgrade
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.service import SECRET_MARK, queue_message, rendered
from jiayuan.notify.tasks import deliver_pending
from tests.care.helpers import in_care, make_volunteer, paired, principal
from tests.cli import run_cli
from tests.conftest import UNITS_AND_STAFF
from tests.databases import backends, fresh_database
from tests.notify.test_outbox import Recorder

DISTRICT = "360802"
CODE = "482913"
TEXT = "【家园】您的验证码是 {code}，5 分钟内有效。"


def raw(session_or_conn, sql: str, **params: object) -> list[tuple]:  # noqa: ANN001
    return [tuple(r) for r in session_or_conn.execute(text(sql), params)]


def test_a_visit_code_is_kept_apart_from_the_text_and_encrypted(session) -> None:  # noqa: ANN001
    profile = in_care(session)
    volunteer = make_volunteer(session)
    paired(session, profile, volunteer, date.today() - timedelta(days=7))
    logged = visits.log_visit(session, principal(session, "community"), {
        "person_id": profile.person_id, "volunteer_id": volunteer.id, "kind": "meals", "duration_minutes": 20})
    session.flush()
    body, secret = raw(session, "SELECT body, secret FROM outbox WHERE ref = :ref",
                       ref=f"care-visit/{logged.visit.id}")[0]
    assert SECRET_MARK in body and not re.search(r"\d{4}", body)
    assert secret.startswith("v1.")  # ciphertext: the column as a backup copies it
    message = session.scalars(select(OutboxMessage).where(
        OutboxMessage.ref == f"care-visit/{logged.visit.id}")).one()
    code = re.search(r"确认码是 (\d{4})", rendered(message)).group(1)
    assert visits.code_hash(logged.visit.id, code) == logged.visit.confirm_code_hash
    assert code not in secret


def test_a_secret_needs_its_mark_once_and_a_mark_needs_a_secret(session) -> None:  # noqa: ANN001
    for body, secret in (("没有位置", CODE), (TEXT + SECRET_MARK, CODE), (TEXT, None), (TEXT, "")):
        with pytest.raises(Invalid):
            queue_message(session, district_code=DISTRICT, channel="sms", recipient="13800138000", body=body,
                          secret=secret)


@pytest.fixture(params=backends())
def own(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    """A database of its own (the units and staff), so that the worker and `jiayuan backup` see committed rows."""
    with fresh_database(request.param, tmp_path, UNITS_AND_STAFF, prefix="jiayuan_secret") as url:
        db = Database(url)
        yield url, db
        db.dispose()


def _archive_text(file: Path) -> str:
    """Every file of a backup, decompressed, as one text."""
    with tarfile.open(file, "r:gz") as tar:
        return "\n".join(tar.extractfile(m).read().decode("utf-8", "replace")
                         for m in tar.getmembers() if m.isfile())


def test_sent_code_leaves_no_trace_in_the_outbox_or_a_backup(own: tuple[str, Database], tmp_path: Path) -> None:
    url, db = own
    with db.unit_of_work() as s:
        queue_message(s, district_code=DISTRICT, channel="sms", recipient="13800138000",
                      body=TEXT.format(code=SECRET_MARK), secret=CODE, ref="verify/1")
    before_sending = tmp_path / "before.tar.gz"
    assert run_cli(url, "backup", str(before_sending)).returncode == 0
    assert CODE not in _archive_text(before_sending)  # waiting: the secret is there only as ciphertext

    phone = Recorder()
    assert deliver_pending(db, senders={"sms": phone}) == 1
    assert phone.sent[0].body == TEXT.format(code=CODE)  # the person reads their code

    with db.sessions() as s:
        body, secret, status = raw(s, "SELECT body, secret, status FROM outbox WHERE ref = 'verify/1'")[0]
    assert (status, secret) == ("sent", None) and CODE not in body and SECRET_MARK in body
    after = tmp_path / "after.tar.gz"
    assert run_cli(url, "backup", str(after)).returncode == 0
    assert CODE not in _archive_text(after)


class Echoing:
    """A gateway that fails and echoes the code in its error, as real ones do."""

    def send(self, message: OutboxMessage) -> None:
        raise RuntimeError(f"rejected: code {CODE} for {message.recipient}")


def test_a_failed_send_keeps_no_code_in_its_error_and_drops_the_secret_when_given_up(
        own: tuple[str, Database]) -> None:
    _url, db = own
    with db.unit_of_work() as s:
        queue_message(s, district_code=DISTRICT, channel="sms", recipient="13800138000",
                      body=TEXT.format(code=SECRET_MARK), secret=CODE, ref="verify/2")
    assert deliver_pending(db, senders={"sms": Echoing()}, max_attempts=1) == 0
    with db.sessions() as s:
        status, secret, error = raw(s, "SELECT status, secret, last_error FROM outbox WHERE ref = 'verify/2'")[0]
    assert status == "failed" and secret is None and CODE not in error and "<secret>" in error


@pytest.mark.parametrize("backend", backends())
def test_the_migration_blanks_the_code_messages_already_there(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path, prefix="jiayuan_codes") as url:
        db = Database(url)
        try:
            upgrade(db.engine, "0009")
            with db.engine.begin() as conn:
                for status in ("sent", "pending"):
                    conn.execute(text(
                        "INSERT INTO outbox (district_code, id, channel, recipient, body, ref, status, attempts,"
                        " created_at) VALUES ('360802', :id, 'sms', 'v1.x', :body, :ref, :status, 0,"
                        " CURRENT_TIMESTAMP)"), {
                        "id": str(uuid7()) if backend == "postgresql" else uuid7().hex,
                        "body": "【家园】王大爷您好，志愿者上门探访的确认码是 4821，请读给来访的志愿者听。",
                        "ref": f"care-visit/{uuid.uuid4()}", "status": status})
            upgrade(db.engine)
            with db.engine.connect() as conn:
                rows = raw(conn, "SELECT status, body FROM outbox ORDER BY status")
            assert [s for s, _ in rows] == ["failed", "sent"]  # the waiting one is withdrawn
            assert all("4821" not in body and "王大爷" not in body for _, body in rows)
        finally:
            db.dispose()
