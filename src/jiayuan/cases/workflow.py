"""The closed loop of a case as one table: which action moves a case from which states to which, and who may.

信息收集 → 受理 → 立案 → 派遣 → 处置 → 处置反馈 → 核查 → 结案 → 评价, with the side actions of the grid practice:
回退 (return of a wrong dispatch), 延期 (extension), 挂账 (suspension), 督办 (supervision), 上报 (escalation).
"""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.accounts.roles import Role

REPORTED, ACCEPTED, VOIDED, REGISTERED = "reported", "accepted", "voided", "registered"
DISPATCHED, IN_PROGRESS, HANDLED, CHECKING = "dispatched", "in_progress", "handled", "checking"
CLOSED, SUSPENDED = "closed", "suspended"
STATUSES = (REPORTED, ACCEPTED, VOIDED, REGISTERED, DISPATCHED, IN_PROGRESS, HANDLED, CHECKING, CLOSED, SUSPENDED)
OPEN = frozenset({REPORTED, ACCEPTED, REGISTERED, DISPATCHED, IN_PROGRESS, HANDLED, CHECKING, SUSPENDED})
FINAL = frozenset({VOIDED, CLOSED})
WORKING = frozenset({DISPATCHED, IN_PROGRESS})  # a handler has it

DISPATCHERS = frozenset({Role.community_staff, Role.street_staff, Role.district_admin})
SUPERVISORS = DISPATCHERS
APPROVERS = frozenset({Role.street_staff, Role.district_admin})
HANDLERS = frozenset({Role.grid_worker, Role.department, *DISPATCHERS})
CHECKERS = frozenset({Role.grid_worker, *DISPATCHERS})
# Accounts that are not the district's staff: they see the cases they reported themselves, and no others.
OWN_REPORTS_ONLY = frozenset({Role.resident, Role.provider, Role.volunteer, Role.social_org})

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


def _t(action: str, sources: set[str], target: str | None, roles: frozenset[Role] | set[Role], who: str = ANYONE_IN_ROLE,
       needs_note: bool = False) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), who, needs_note)


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t("accept", {REPORTED}, ACCEPTED, {*DISPATCHERS, Role.hotline_operator}),
    _t("void", {REPORTED, ACCEPTED}, VOIDED, {*DISPATCHERS, Role.hotline_operator}, needs_note=True),
    _t("merge", {REPORTED, ACCEPTED, REGISTERED, DISPATCHED}, VOIDED, DISPATCHERS),
    _t("register", {ACCEPTED}, REGISTERED, DISPATCHERS),
    _t("dispatch", {REGISTERED}, DISPATCHED, DISPATCHERS),
    _t("return", {DISPATCHED}, REGISTERED, HANDLERS, who=HANDLER, needs_note=True),
    _t("start", {DISPATCHED}, IN_PROGRESS, HANDLERS, who=HANDLER),
    _t("handle", {DISPATCHED, IN_PROGRESS}, HANDLED, HANDLERS, who=HANDLER, needs_note=True),
    _t("check", {HANDLED}, CHECKING, CHECKERS, who=CHECKER),
    _t("close", {CHECKING}, CLOSED, CHECKERS, who=CHECKER),
    _t("rework", {CHECKING}, IN_PROGRESS, CHECKERS, who=CHECKER, needs_note=True),
    _t("request_extension", WORKING, None, HANDLERS, who=HANDLER, needs_note=True),
    _t("approve_extension", WORKING, None, APPROVERS),
    _t("reject_extension", WORKING, None, APPROVERS, needs_note=True),
    _t("request_suspension", WORKING, None, HANDLERS, who=HANDLER, needs_note=True),
    _t("approve_suspension", WORKING, SUSPENDED, APPROVERS),
    _t("resume", {SUSPENDED}, None, APPROVERS),  # back to the state it was suspended in
    _t("supervise", OPEN - {SUSPENDED}, None, SUPERVISORS),
    _t("escalate", {ACCEPTED, REGISTERED, DISPATCHED, IN_PROGRESS}, REGISTERED,
       {Role.grid_worker, *DISPATCHERS}, who=HANDLER, needs_note=True),
    _t("mark_urgent", OPEN, None, {*DISPATCHERS, Role.hotline_operator}),
    _t("rate", {CLOSED}, None, {Role.resident, Role.hotline_operator}, who=REPORTER),
)}

# The next level up for an escalation (上报), and the code length of each level.
ESCALATE_TO = {"grid": "community", "community": "street", "street": "district"}
LEVEL_LENGTH = {"grid": 15, "community": 12, "street": 9, "district": 6}

RATINGS = ("satisfied", "fairly_satisfied", "dissatisfied")
SUPERVISION_LEVELS = ("normal", "yellow", "red")


def allowed_actions(status: str, role: Role) -> list[str]:
    """The actions a role may fire from a state (before the per-case checks of who)."""
    return [a for a, t in TRANSITIONS.items() if status in t.sources and role in t.roles]
