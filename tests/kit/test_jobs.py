"""Jobs are sent only when the transaction that asked for them commits."""

from __future__ import annotations

from sqlalchemy import text

from jiayuan.kit.jobs import after_commit


def test_sent_after_commit_not_after_rollback(db) -> None:  # noqa: ANN001
    sent: list[str] = []
    with db.sessions() as s:
        s.execute(text("SELECT 1"))  # the work of a request that then fails
        after_commit(s, lambda: sent.append("rolled back"))
        s.rollback()
        assert sent == []
        s.execute(text("SELECT 1"))
        after_commit(s, lambda: sent.append("committed"))
        assert sent == []
        s.commit()
    assert sent == ["committed"]


def test_a_savepoint_released_does_not_send_what_the_transaction_may_still_undo(db) -> None:  # noqa: ANN001
    sent: list[str] = []
    with db.sessions() as s:
        s.execute(text("SELECT 1"))
        with s.begin_nested():
            after_commit(s, lambda: sent.append("sent"))
        assert sent == []  # the savepoint is released, the request's transaction still open
        s.rollback()
        assert sent == []
