"""The overdue sweep: what runs out of time is escalated a level, or put under red supervision, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from jiayuan.cases.models import Case, CaseEvent
from jiayuan.cases.tasks import sweep_overdue
from jiayuan.kit.db import utcnow
from jiayuan.notify.models import OutboxMessage
from tests.cases.test_workflow import make_case
from tests.personas import COMMUNITY, PERSONAS


def _events(db, case: Case) -> list[CaseEvent]:  # noqa: ANN001
    with db.sessions() as s:
        return list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at)))


def test_an_overdue_grid_case_goes_up_to_its_community(db, api) -> None:  # noqa: ANN001
    late = make_case(db, api, "dispatched", stage_due_at=utcnow() - timedelta(hours=1))
    on_time = make_case(db, api, "dispatched", stage_due_at=utcnow() + timedelta(hours=5))
    assert sweep_overdue(db) == 1
    with db.sessions() as s:
        case = s.get(Case, (late.district_code, late.id))
        assert (case.level, case.unit_code, case.status, case.assignee_id) == ("community", COMMUNITY, "registered",
                                                                              None)
        assert case.stage_due_at > utcnow()
        assert s.get(Case, (on_time.district_code, on_time.id)).level == "grid"
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.ref == case.number,
                                                     OutboxMessage.channel == "inapp")).all()
    last = _events(db, late)[-1]
    assert (last.action, last.actor_role, last.note) == ("escalate", "system", "超过时限，系统自动上报")
    staff = {m.user_id for m in told}
    community_staff = api("community").get("/api/v1/auth/me").json()["id"]
    assert community_staff in {str(u) for u in staff}
    # The community dispatcher now sees it in its queue and acts on it.
    assert api("community").post(f"/api/v1/cases/{case.number}/actions/dispatch",
                                 json={"assignee": PERSONAS["grid_a"].username}).status_code == 200


def test_at_the_top_it_is_supervised_red_once(db, api) -> None:  # noqa: ANN001
    case = make_case(db, api, "checking", stage_due_at=utcnow() - timedelta(hours=1))
    assert sweep_overdue(db) == 1
    assert sweep_overdue(db) == 0  # nothing more to do: no second event
    events = _events(db, case)
    assert [e.action for e in events].count("supervise") == 1
    with db.sessions() as s:
        assert s.get(Case, (case.district_code, case.id)).supervision == "red"
