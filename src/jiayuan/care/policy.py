"""Who may see and do what in neighbourhood care: unit staff keep care records in their scope, a volunteer sees
only the people they are actively paired with and their own visits, supervisors run the care centres."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import FRONT_LINE, SUPERVISORS, UNIT_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.care.models import CareProfile, Pairing, Visit
from jiayuan.kit.errors import Forbidden
from jiayuan.kit.scope import Scope
from jiayuan.volunteers import service as volunteers

# Staff who keep care: the grid's workers and the units above them (UNIT_STAFF). Volunteers see only the people
# they are actively paired with; every other role sees nobody in care.


def is_staff(principal: Principal) -> bool:
    return principal.role in UNIT_STAFF


def require_staff(principal: Principal) -> None:
    if not is_staff(principal):
        raise Forbidden("only the grid's workers and the staff above them keep care records", field="role")


# Who vouches for a visit the person could not confirm: the front line that knows the person and the volunteer
# (the grid's workers and the community's staff), within their scope.
VISIT_APPROVERS = FRONT_LINE


def approves_visits(principal: Principal | None) -> bool:
    return principal is not None and principal.role in VISIT_APPROVERS


def require_approver(principal: Principal) -> None:
    if not approves_visits(principal):
        raise Forbidden("only the grid's workers and the community's staff approve visits", field="role")


def require_alert_reader(principal: Principal) -> None:
    if not is_staff(principal):
        raise Forbidden("only the grid's workers and the staff above them see care alerts", field="role")


def runs_centres(principal: Principal | None) -> bool:
    """Centres are run by community, street and district staff."""
    return principal is not None and principal.role in SUPERVISORS


def require_centre_staff(principal: Principal) -> None:
    if not runs_centres(principal):
        raise Forbidden("only community, street or district staff run care centres", field="role")


def my_volunteer(session: Session, principal: Principal) -> Any:
    """The caller's own volunteer profile (role volunteer), active; else 403."""
    if principal.role != Role.volunteer:
        raise Forbidden("only a volunteer has pairings of their own", field="role")
    volunteer = volunteers.volunteer_of(session, principal, required=False)
    if volunteer is None or not volunteer.active:
        raise Forbidden("your account has no active volunteer profile", field="volunteer")
    return volunteer


def registry_view(principal: Principal, grid_code: str) -> Principal:
    """The caller narrowed to one grid, to read a person through the registry service once care has already
    decided that the caller may deal with that person (a volunteer's scope says nothing about whom they visit)."""
    return replace(principal, scope=Scope((grid_code,)))


def _paired_people(volunteer: Any) -> Any:
    """The people a volunteer is actively paired with (a subquery of person ids)."""
    return select(Pairing.person_id).where(Pairing.district_code == volunteer.district_code,
                                           Pairing.volunteer_id == volunteer.id, Pairing.active)


def visible_profiles(session: Session, principal: Principal) -> Any:
    """The WHERE clause of the profiles the caller may see."""
    if is_staff(principal):
        return principal.scope.where(CareProfile)
    if principal.role == Role.volunteer:
        volunteer = my_volunteer(session, principal)
        return and_(CareProfile.district_code == volunteer.district_code,
                    CareProfile.person_id.in_(_paired_people(volunteer)))
    raise Forbidden("your role does not deal with people in care", field="role")


def visible_pairings(session: Session, principal: Principal) -> Any:
    """Pairings the caller may see: staff by scope; a volunteer their own."""
    if is_staff(principal):
        return principal.scope.where(Pairing)
    volunteer = my_volunteer(session, principal)
    return and_(Pairing.district_code == volunteer.district_code, Pairing.volunteer_id == volunteer.id)


def visible_visits(session: Session, principal: Principal) -> Any:
    """Visits the caller may see: staff by scope; a volunteer their own."""
    if is_staff(principal):
        return principal.scope.where(Visit)
    volunteer = my_volunteer(session, principal)
    return and_(Visit.district_code == volunteer.district_code, Visit.volunteer_id == volunteer.id)
