"""The outbox: queued in the caller's transaction, claimed by compare-and-set, sent once, retried, masked."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huey import MemoryHuey
from sqlalchemy import delete, select
from typer.testing import CliRunner

from jiayuan.config import Settings
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.errors import Invalid
from jiayuan.notify import tasks as notify_tasks
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.senders import (
    InAppSender,
    LogSender,
    configured_senders,
    load_sender,
    mask_email,
    mask_phone,
)
from jiayuan.notify.service import inbox, queue_message
from jiayuan.notify.tasks import STALE_AFTER, backoff, deliver_pending, register

DISTRICT = "360802"
PHONE = "13812345678"
BODY = "王阿姨：您的高龄补贴已到账，身份证 360802195001011234"


class Recorder:
    """A sender that remembers what it sent; `delay` widens the window in which two workers overlap."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[OutboxMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutboxMessage) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.sent.append(message)

    def refs(self, prefix: str) -> list[str]:
        return [m.ref for m in self.sent if m.ref and m.ref.startswith(prefix)]


class Failing:
    """A gateway that echoes its input in the error, as real ones do."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: OutboxMessage) -> None:
        self.calls += 1
        raise ConnectionError(f"gateway refused {message.recipient} ({mask_phone(message.recipient)}): "
                              f"{message.body}")


def every_channel(sender: Any) -> dict[str, Any]:
    return {"sms": sender, "email": sender, "inapp": sender}


@pytest.fixture
def ref() -> str:
    """A prefix unique to the test: its messages are told apart from anything else in the database."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def committed(migrated: Database, ref: str) -> Iterator[Database]:
    """The session-wide database, for real commits; the test's messages are deleted afterwards."""
    yield migrated
    with migrated.unit_of_work() as s:
        s.execute(delete(OutboxMessage).where(OutboxMessage.ref.like(f"{ref}%")))


def queue_sms(session: Any, ref: str, **kw: Any) -> OutboxMessage:
    return queue_message(session, district_code=DISTRICT, channel="sms", recipient=PHONE, body=BODY, ref=ref,
                         **kw)


def row(database: Database, message_id: uuid.UUID) -> OutboxMessage:
    with database.sessions() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.district_code == DISTRICT,
                                                     OutboxMessage.id == message_id)).one()


def test_a_rolled_back_transaction_queues_nothing(db: Database, ref: str) -> None:
    with pytest.raises(RuntimeError), db.unit_of_work() as s:
        queue_sms(s, ref)
        raise RuntimeError("the request failed after queueing")
    with db.unit_of_work() as s:
        kept = queue_sms(s, f"{ref}-kept")  # the control: the same call in a transaction that commits
    recorder = Recorder()
    deliver_pending(db, senders=every_channel(recorder), batch=1000)
    with db.sessions() as s:
        refs = s.scalars(select(OutboxMessage.ref).where(OutboxMessage.ref.like(f"{ref}%"))).all()
    assert refs == [kept.ref]
    assert recorder.refs(ref) == [kept.ref]


def test_a_committed_message_is_sent_once_and_marked_sent(committed: Database, ref: str) -> None:
    with committed.unit_of_work() as s:
        message_id = queue_sms(s, ref).id
        assert row_status_in(s, message_id) == "pending"  # flushed, not committed: visible to its session
    recorder = Recorder()
    assert deliver_pending(committed, senders=every_channel(recorder), batch=1000) >= 1
    deliver_pending(committed, senders=every_channel(recorder), batch=1000)  # a second pass sends nothing
    assert recorder.refs(ref) == [ref]
    sent = row(committed, message_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert sent.sent_at is not None and sent.claimed_at is not None


def row_status_in(session: Any, message_id: uuid.UUID) -> str:
    return session.scalars(select(OutboxMessage.status).where(OutboxMessage.id == message_id)).one()


def test_a_failing_sender_is_retried_with_back_off_then_given_up(
    db: Database, ref: str, caplog: pytest.LogCaptureFixture
) -> None:
    with db.unit_of_work() as s:
        message_id = queue_sms(s, ref).id
    failing = Failing()
    now = utcnow()
    with caplog.at_level(logging.WARNING, logger="jiayuan.notify"):
        for attempt in range(1, 6):
            deliver_pending(db, senders=every_channel(failing), now=now, max_attempts=5, batch=1000)
            assert failing.calls == attempt
            current = row(db, message_id)
            assert current.attempts == attempt and "ConnectionError" in (current.last_error or "")
            if attempt < 5:
                assert current.status == "pending"
                # Not before 2^attempts minutes after the claim:
                deliver_pending(db, senders=every_channel(failing), now=now + backoff(attempt)
                                - timedelta(seconds=1), batch=1000)
                assert failing.calls == attempt
                now += backoff(attempt)
    final = row(db, message_id)
    assert final.status == "failed" and final.sent_at is None
    deliver_pending(db, senders=every_channel(failing), now=now + timedelta(days=2), batch=1000)
    assert failing.calls == 5
    # The error is kept, without the phone or the body the gateway echoed, and short enough for the column.
    error = final.last_error or ""
    assert "*******5678" in error and PHONE not in error and BODY not in error and "360802195001011234" not in error
    assert len(error) <= 300
    assert PHONE not in caplog.text and BODY not in caplog.text and "giving up" in caplog.text


def test_the_log_sender_masks_the_recipient_and_leaves_out_the_body(
    db: Database, ref: str, caplog: pytest.LogCaptureFixture
) -> None:
    with db.unit_of_work() as s:
        sms_id = queue_sms(s, ref).id
        queue_message(s, district_code=DISTRICT, channel="email", recipient="wang@example.com",
                      subject="补贴通知 王芳", body=BODY, ref=f"{ref}-mail")
    assert isinstance(configured_senders(Settings())["sms"], LogSender)
    with caplog.at_level(logging.INFO, logger="jiayuan.notify"):
        deliver_pending(db, senders={"sms": LogSender(), "email": LogSender()}, batch=1000)
    lines = [r.getMessage() for r in caplog.records if ref in r.getMessage()]
    assert len(lines) == 2
    sms_line, mail_line = sorted(lines, key=lambda line: "email" in line)
    assert "*******5678" in sms_line and PHONE not in sms_line
    assert f"{len(BODY)} characters" in sms_line and str(sms_id) in sms_line
    assert "w***@example.com" in mail_line and "wang@" not in mail_line and "王芳" not in mail_line
    assert BODY not in caplog.text and PHONE not in caplog.text
    assert row(db, sms_id).status == "sent"


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "*******5678"),
    ("138 1234 5678", "*******5678"),
    ("+86 138-1234-5678", "+86 *******5678"),
    ("8221234", "****34"),
    ("110", "****"),
])
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("email", "masked"), [
    ("wang@example.com", "w***@example.com"),
    ("a@b.cn", "a***@b.cn"),
    ("not-an-address", "***"),
])
def test_mask_email(email: str, masked: str) -> None:
    assert mask_email(email) == masked


def test_two_workers_at_once_send_each_message_exactly_once(committed: Database, ref: str) -> None:
    with committed.unit_of_work() as s:
        refs = [queue_sms(s, f"{ref}-{i:02d}").ref for i in range(40)]
    recorder = Recorder(delay=0.003)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            deliver_pending(committed, senders=every_channel(recorder), batch=1000)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    counts = Counter(recorder.refs(ref))
    assert sorted(counts) == sorted(refs)
    assert set(counts.values()) == {1}, {r: n for r, n in counts.items() if n > 1}
    with committed.sessions() as s:
        statuses = s.scalars(select(OutboxMessage.status).where(OutboxMessage.ref.like(f"{ref}%"))).all()
    assert statuses == ["sent"] * 40


def test_a_message_left_sending_by_a_dead_worker_is_reclaimed(db: Database, ref: str) -> None:
    now = utcnow()

    def left_sending(suffix: str, claimed_ago: timedelta, attempts: int) -> uuid.UUID:
        with db.unit_of_work() as s:
            message = queue_sms(s, f"{ref}-{suffix}")
            message.status, message.claimed_at, message.attempts = "sending", now - claimed_ago, attempts
            return message.id

    dead = left_sending("dead", STALE_AFTER + timedelta(minutes=1), 1)
    busy = left_sending("busy", STALE_AFTER - timedelta(minutes=1), 1)  # its worker may still be sending
    last = left_sending("last", STALE_AFTER + timedelta(minutes=1), 5)  # died on its last allowed attempt
    recorder = Recorder()
    deliver_pending(db, senders=every_channel(recorder), now=now, max_attempts=5, batch=1000)
    assert recorder.refs(ref) == [f"{ref}-dead"]
    reclaimed, untouched, abandoned = row(db, dead), row(db, busy), row(db, last)
    assert (reclaimed.status, reclaimed.attempts) == ("sent", 2)
    assert (untouched.status, untouched.attempts) == ("sending", 1)
    assert abandoned.status == "failed" and "worker stopped" in (abandoned.last_error or "")


@pytest.mark.parametrize(("changes", "field"), [
    ({"channel": "fax"}, "channel"),
    ({"recipient": "  "}, "recipient"),
    ({"recipient": "not a phone"}, "recipient"),
    ({"channel": "email", "recipient": "wang.example.com"}, "recipient"),
    ({"body": ""}, "body"),
    ({"body": " \n"}, "body"),
    ({"district_code": "36080"}, "district_code"),
    ({"channel": "inapp", "recipient": "someone"}, "user_id"),
    ({"ref": "x" * 61}, "ref"),
    ({"subject": "x" * 201}, "subject"),
])
def test_bad_input_is_refused_naming_the_field(session: Any, changes: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"district_code": DISTRICT, "channel": "sms", "recipient": PHONE, "body": BODY,
                            **changes}
    with pytest.raises(Invalid) as refused:
        queue_message(session, **args)
    assert refused.value.field == field


def test_inbox_lists_a_users_in_app_messages_newest_first(session: Any, ref: str) -> None:
    me, other = uuid.uuid4(), uuid.uuid4()
    for i in range(3):
        queue_message(session, district_code=DISTRICT, channel="inapp", recipient=str(me), user_id=me,
                      body=f"消息 {i}", ref=f"{ref}-{i}")
    queue_message(session, district_code=DISTRICT, channel="inapp", recipient=str(other), user_id=other,
                  body="别人的", ref=ref)
    queue_sms(session, ref, user_id=me)  # not in-app
    queue_message(session, district_code="360803", channel="inapp", recipient=str(me), user_id=me,
                  body="另一个区", ref=ref)
    assert [m.body for m in inbox(session, me, DISTRICT)] == ["消息 2", "消息 1", "消息 0"]
    assert [m.body for m in inbox(session, me, DISTRICT, limit=1)] == ["消息 2"]


def test_in_app_messages_are_marked_delivered(db: Database, ref: str) -> None:
    me = uuid.uuid4()
    with db.unit_of_work() as s:
        message_id = queue_message(s, district_code=DISTRICT, channel="inapp", recipient=str(me), user_id=me,
                                   body="您的报修已受理", ref=ref).id
    deliver_pending(db, senders={"inapp": InAppSender()}, batch=1000)
    assert row(db, message_id).status == "sent"


RECORDER = Recorder()


def test_senders_are_chosen_in_settings() -> None:
    chosen = configured_senders(Settings(sms_sender="tests.notify.test_outbox:RECORDER",
                                         email_sender="tests.notify.test_outbox:Recorder"))
    assert chosen["sms"] is RECORDER and isinstance(chosen["email"], Recorder)
    assert isinstance(chosen["inapp"], InAppSender)
    with pytest.raises(ValueError, match="JIAYUAN_SMS_SENDER"):
        configured_senders(Settings(sms_sender="jiayuan.notify.senders:NoSuchSender"))
    with pytest.raises(ValueError, match="module:attr"):
        load_sender("jiayuan.notify.senders")


def test_the_worker_task_drains_the_outbox_and_schedules_the_rest_of_the_minute(
    committed: Database, ref: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify_tasks, "get_settings", lambda: settings)
    with committed.unit_of_work() as s:
        message_id = queue_sms(s, ref).id
    huey = MemoryHuey("test-notify", immediate=True)
    tasks = register(huey)
    assert register(huey) is tasks  # the worker may call it twice; huey would refuse a second task
    assert "notify.deliver_outbox" in [t.name for t in huey.read_periodic(datetime.now())]
    tasks.every_minute()  # immediate mode: runs now, as the consumer would at the top of the minute
    assert row(committed, message_id).status == "sent"
    utc_now = datetime.now(UTC).replace(tzinfo=None)  # huey keeps naive UTC times
    delays = sorted(round((t.eta - utc_now).total_seconds()) for t in huey.scheduled())
    assert delays == [15, 30, 45]


def test_the_worker_command_registers_the_periodic_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    import huey.consumer

    from jiayuan import cli
    from jiayuan.kit import jobs

    queue = MemoryHuey("test-worker")
    ran: list[Any] = []

    class Consumer:
        def __init__(self, huey: Any, **kw: Any) -> None:
            self.huey = huey

        def run(self) -> None:
            ran.append(self.huey)

    monkeypatch.setattr(cli, "database", lambda **kw: type("Db", (), {"dispose": lambda self: None})())
    monkeypatch.setattr(jobs, "queue", lambda: queue)
    monkeypatch.setattr(huey.consumer, "Consumer", Consumer)
    result = CliRunner().invoke(cli.app, ["worker"])
    assert result.exit_code == 0, result.output
    assert ran == [queue]
    # The every-minute jobs are due at any minute (others run hourly or monthly and are tested in their domains).
    due = {t.name for t in queue.read_periodic(datetime(2026, 12, 1, 10, 17))}
    assert {"cases.sweep_overdue", "notify.deliver_outbox", "services.expire_offers"} <= due
