"""The life cycle of a service order (订单) as one table: which action moves an order from which states, and who
may fire it. docs/services.md is the contract; the use cases live in intake.py, offers.py and actions.py.

offered → accepted → in_service → completed (rated once), with unassigned when no provider accepts and cancelled
from any state before the service starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jiayuan.accounts.roles import CALLERS, Role

OFFERED, UNASSIGNED, ACCEPTED, IN_SERVICE = "offered", "unassigned", "accepted", "in_service"
COMPLETED, CANCELLED = "completed", "cancelled"
STATUSES = (OFFERED, UNASSIGNED, ACCEPTED, IN_SERVICE, COMPLETED, CANCELLED)
OPEN = frozenset({OFFERED, UNASSIGNED, ACCEPTED, IN_SERVICE})
# A provider holds the order: it counts towards the provider's load in the ranking.
LOADED = frozenset({ACCEPTED, IN_SERVICE})

# Offers to providers.
QUEUED, PENDING, OFFER_ACCEPTED, DECLINED, EXPIRED, WITHDRAWN = (
    "queued", "pending", "accepted", "declined", "expired", "withdrawn")

# Who the order is for, beyond the role: the provider with the pending offer, the provider holding the order,
# the resident who ordered (or an operator for a caller), or anyone of the role in the order's district.
OFFEREE, HOLDER, ORDERER, OPERATOR = "offeree", "holder", "orderer", "operator"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    roles: frozenset[Role]
    who: str
    needs_note: bool = False


def _t(action: str, sources: set[str], roles: Iterable[Role], who: str, needs_note: bool = False) -> Transition:
    return Transition(action, frozenset(sources), frozenset(roles), who, needs_note)


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t("accept", {OFFERED}, {Role.provider}, OFFEREE),
    _t("decline", {OFFERED}, {Role.provider}, OFFEREE),
    _t("start", {ACCEPTED}, {Role.provider}, HOLDER),
    _t("complete", {IN_SERVICE}, {Role.provider}, HOLDER),
    # A provider may cancel what it accepted (the next candidate is asked); the resident or an operator may
    # cancel anything that has not started.
    _t("cancel", {OFFERED, UNASSIGNED, ACCEPTED}, CALLERS | {Role.provider}, ORDERER,
       needs_note=True),
    _t("rate", {COMPLETED}, CALLERS, ORDERER),
    # A complaint needs a provider to complain about: accepted or later (also an accepted order cancelled since).
    _t("complain", {ACCEPTED, IN_SERVICE, COMPLETED, CANCELLED}, CALLERS, ORDERER,
       needs_note=True),
    _t("offer", {UNASSIGNED}, {Role.hotline_operator}, OPERATOR),
)}

RATINGS = (1, 2, 3, 4, 5)
CANCELLERS = ("resident", "operator", "provider")


def actions_for_role(status: str, role: Role) -> list[str]:
    """The actions a role may fire from a state (before the per-order checks of who)."""
    return [a for a, t in TRANSITIONS.items() if status in t.sources and role in t.roles]
