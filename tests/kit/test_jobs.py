"""Jobs are sent only when the transaction that asked for them commits."""

from __future__ import annotations

from jiayuan.kit.jobs import after_commit


def test_sent_after_commit_not_after_rollback(db) -> None:  # noqa: ANN001
    sent: list[str] = []
    with db.sessions() as s:
        after_commit(s, lambda: sent.append("rolled back"))
        s.rollback()
        assert sent == []
        s.begin()
        after_commit(s, lambda: sent.append("committed"))
        assert sent == []
        s.commit()
    assert sent == ["committed"]
