"""Who may see which cases and do what to them: the scope filter of every case query, the per-case checks of who
may fire an action (the transition table in workflow.py says which roles), and what a case page offers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from jiayuan.accounts.roles import HANDLERS, INTAKE_STAFF, OWN_RECORDS_ONLY, SUPERVISORS, Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.models import Case
from jiayuan.cases.workflow import CHECKER, HANDLER, REPORTER, TRANSITIONS, Transition
from jiayuan.kit.errors import Forbidden

# The loop's main steps are offered first (a prominent form, the next step of a to-do); the rest sit under
# "more actions".
PRIMARY = ("accept", "register", "dispatch", "start", "handle", "check", "close", "rework",
           "approve_extension", "approve_suspension", "resume", "rate")

# Steps that only make sense while something waits for them (the view's field that says so).
WAITING = {"approve_extension": "extension_requested_hours", "reject_extension": "extension_requested_hours",
           "approve_suspension": "suspension_requested"}


def visible(principal: Principal) -> ColumnElement[bool]:
    """The cases a caller may see: by the scope of where they arose, plus any case assigned to them (a worker
    dispatched to help outside their grid); a department sees what was transferred to it; a resident sees
    their own reports, and so do providers, volunteers and social organizations: their scopes say where they
    serve, not that the district's cases are theirs to read."""
    if principal.role in OWN_RECORDS_ONLY:
        return Case.reporter_id == principal.user_id
    if principal.role == Role.department:
        return and_(Case.district_code.in_(principal.scope.districts), Case.department == principal.username)
    if not principal.scope.prefixes:
        return false()
    if principal.role == Role.grid_worker:
        # The assignee branch names the district as well (a worker is only ever dispatched inside it, and
        # get_case keeps to it anyway): so each side of the OR has an index that starts with district_code,
        # and PostgreSQL combines the two instead of scanning every case of the district.
        mine = and_(Case.district_code.in_(principal.scope.districts), Case.assignee_id == principal.user_id)
        return or_(principal.scope.where(Case), mine)
    return principal.scope.where(Case)


def reports_as_own(principal: Principal) -> bool:
    """Whether a case this caller reports is theirs to follow (and the only kind of case they see)."""
    return principal.role in OWN_RECORDS_ONLY


def require_role_for(principal: Principal, transition: Transition) -> None:
    if principal.role not in transition.roles:
        raise Forbidden(f"a {principal.role.value} may not {transition.action} a case", field="action")


def require_who(p: Principal, case: Case, t: Transition) -> None:
    """The per-case check of who, once the role is allowed: the handler, the checker or the reporter."""
    if t.who == HANDLER:
        if case.assignee_id == p.user_id or (p.role == Role.department and case.department == p.username):
            return
        if p.role in SUPERVISORS and p.scope.covers(case.unit_code):
            return
        if case.assignee_id is None and p.role == Role.grid_worker and case.unit_code in p.grids:
            return
        raise Forbidden("only the case's handler, or staff of the unit answerable for it, may do this",
                        field="action")
    if t.who == CHECKER:
        # Separation of duties (the digital urban-management loop): whoever handled it does not check it.
        if case.handled_by is not None and case.handled_by == p.user_id:
            raise Forbidden("the person who handled a case may not check it: someone else checks", field="action",
                            reason="own_work")
        if p.role == Role.grid_worker and case.grid_code in p.grids:
            return
        if p.role in SUPERVISORS and p.scope.covers(case.origin_code):
            return
        raise Forbidden("only a worker of the case's grid, or its dispatchers, may check it", field="action")
    if t.who == REPORTER and p.role == Role.resident and case.reporter_id != p.user_id:
        raise Forbidden("only the resident who reported the case may rate it", field="action")


def may(principal: Principal, case: Case, action: str) -> bool:
    """Whether the caller passes the per-case check of who (the role is already allowed): the service's own
    check, so that a page offers exactly what the service will accept."""
    try:
        require_who(principal, case, TRANSITIONS[action])
    except Forbidden:
        return False
    return True


def offered_actions(principal: Principal, case: Case, view: dict[str, Any]) -> list[str]:
    """The actions a case page offers the caller: allowed by role and state (the view's "actions"), by the
    per-case check of who, and only while they make sense (nothing waits for approval, already urgent...)."""
    out = []
    for action in view["actions"]:
        waiting = WAITING.get(action)
        if waiting and not view.get(waiting):
            continue
        if action == "request_extension" and view.get("extension_requested_hours"):
            continue
        if action == "request_suspension" and view.get("suspension_requested"):
            continue
        if action == "mark_urgent" and view["urgent"]:
            continue
        if action == "escalate" and view["level"] == "district":
            continue
        if action == "rate" and view["rating"]:
            continue
        if may(principal, case, action):
            out.append(action)
    return out


def may_handle(role: Role) -> bool:
    """Whether an account of this role may be sent a case (dispatch)."""
    return role in HANDLERS


def uses_queue(principal: Principal) -> bool:
    """Whether the caller works the dispatchers' queue (and the hotline desk)."""
    return principal.role in INTAKE_STAFF


def require_intake_staff(principal: Principal) -> None:
    if principal.role not in INTAKE_STAFF:
        raise Forbidden("your role may not do this", field="role")
