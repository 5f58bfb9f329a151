"""The closed loop of a case as one table: which action moves a case from which states to which, and who may.

信息收集 → 受理 → 立案 → 派遣 → 处置 → 处置反馈 → 核查 → 结案 → 评价, with the side actions of the grid practice:
回退 (return of a wrong dispatch), 延期 (extension), 挂账 (suspension), 督办 (supervision), 上报 (escalation).
"""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.accounts.roles import CALLERS, HANDLERS, INTAKE_STAFF, SUPERVISORS, UNIT_STAFF, UPPER_STAFF, Role

REPORTED, ACCEPTED, VOIDED, REGISTERED = "reported", "accepted", "voided", "registered"
DISPATCHED, IN_PROGRESS, HANDLED, CHECKING = "dispatched", "in_progress", "handled", "checking"
CLOSED, SUSPENDED = "closed", "suspended"
STATUSES = (REPORTED, ACCEPTED, VOIDED, REGISTERED, DISPATCHED, IN_PROGRESS, HANDLED, CHECKING, CLOSED, SUSPENDED)
OPEN = frozenset({REPORTED, ACCEPTED, REGISTERED, DISPATCHED, IN_PROGRESS, HANDLED, CHECKING, SUSPENDED})
FINAL = frozenset({VOIDED, CLOSED})
WORKING = frozenset({DISPATCHED, IN_PROGRESS})  # a handler has it

# The roles of the loop (accounts/roles.py): SUPERVISORS dispatch (派遣) and supervise, INTAKE_STAFF (supervisors
# and the 12343 operators) accept what comes in, UPPER_STAFF approve extensions and suspensions, HANDLERS (unit
# staff and departments) handle, UNIT_STAFF check on site and escalate, CALLERS rate.

# Who an action is for, beyond the role: "handler" means the case's assignee or staff of the unit now
# answerable for it; "checker" a worker of the grid where it arose (or a dispatcher); "reporter" the resident.
ANYONE_IN_ROLE, HANDLER, CHECKER, REPORTER = "role", "handler", "checker", "reporter"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change (a side action)
    roles: frozenset[Role]
    who: str = ANYONE_IN_ROLE
    needs_note: bool = False


def _t(action: str, sources: set[str] | frozenset[str], target: str | None, roles: frozenset[Role],
       who: str = ANYONE_IN_ROLE, needs_note: bool = False) -> Transition:
    return Transition(action, frozenset(sources), target, roles, who, needs_note)


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t("accept", {REPORTED}, ACCEPTED, INTAKE_STAFF),
    _t("void", {REPORTED, ACCEPTED}, VOIDED, INTAKE_STAFF, needs_note=True),
    _t("merge", {REPORTED, ACCEPTED, REGISTERED, DISPATCHED}, VOIDED, SUPERVISORS),
    _t("register", {ACCEPTED}, REGISTERED, SUPERVISORS),
    _t("dispatch", {REGISTERED}, DISPATCHED, SUPERVISORS),
    _t("return", {DISPATCHED}, REGISTERED, HANDLERS, who=HANDLER, needs_note=True),
    _t("start", {DISPATCHED}, IN_PROGRESS, HANDLERS, who=HANDLER),
    _t("handle", {DISPATCHED, IN_PROGRESS}, HANDLED, HANDLERS, who=HANDLER, needs_note=True),
    _t("check", {HANDLED}, CHECKING, UNIT_STAFF, who=CHECKER),
    _t("close", {CHECKING}, CLOSED, UNIT_STAFF, who=CHECKER),
    _t("rework", {CHECKING}, IN_PROGRESS, UNIT_STAFF, who=CHECKER, needs_note=True),
    _t("request_extension", WORKING, None, HANDLERS, who=HANDLER, needs_note=True),
    _t("approve_extension", WORKING, None, UPPER_STAFF),
    _t("reject_extension", WORKING, None, UPPER_STAFF, needs_note=True),
    _t("request_suspension", WORKING, None, HANDLERS, who=HANDLER, needs_note=True),
    _t("approve_suspension", WORKING, SUSPENDED, UPPER_STAFF),
    _t("resume", {SUSPENDED}, None, UPPER_STAFF),  # back to the state it was suspended in
    _t("supervise", OPEN - {SUSPENDED}, None, SUPERVISORS),
    _t("escalate", {ACCEPTED, REGISTERED, DISPATCHED, IN_PROGRESS}, REGISTERED, UNIT_STAFF, who=HANDLER,
       needs_note=True),
    _t("mark_urgent", OPEN, None, INTAKE_STAFF),
    _t("rate", {CLOSED}, None, CALLERS, who=REPORTER),
)}

# The next level up for an escalation (上报), and the code length of each level.
ESCALATE_TO = {"grid": "community", "community": "street", "street": "district"}
LEVEL_LENGTH = {"grid": 15, "community": 12, "street": 9, "district": 6}

RATINGS = ("satisfied", "fairly_satisfied", "dissatisfied")
SUPERVISION_LEVELS = ("normal", "yellow", "red")


def allowed_actions(status: str, role: Role) -> list[str]:
    """The actions a role may fire from a state (before the per-case checks of who)."""
    return [a for a, t in TRANSITIONS.items() if status in t.sources and role in t.roles]
