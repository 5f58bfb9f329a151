"""The top bar and the home page's tiles, as data: each link names the roles it is for (the sets of
accounts/roles.py), so that templates hold no role lists of their own."""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.accounts.roles import DISTRICT_ADMINS, STAFF_ROLES, SUPERVISORS, UNIT_STAFF, UPPER_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.page_kit import N_

EVERYONE: frozenset[Role] = frozenset(Role)
RESIDENT = frozenset({Role.resident})
VOLUNTEER = frozenset({Role.volunteer})
GRID_WORKER = frozenset({Role.grid_worker})
HOTLINE = frozenset({Role.hotline_operator})
PROVIDER = frozenset({Role.provider})


@dataclass(frozen=True)
class Link:
    href: str
    title: str  # a msgid, translated by the template
    roles: frozenset[Role] = EVERYONE
    text: str = ""  # a tile's line under its title (msgid)
    big: frozenset[Role] = frozenset()  # roles for which the tile is a large one
    anonymous: bool = False  # shown to visitors who have not signed in (top bar only)

    def for_role(self, role: Role | None) -> bool:
        return (role is None and self.anonymous) or (role is not None and role in self.roles)


# The top bar, in order.
MENU: tuple[Link, ...] = (
    Link("/home", N_("Home")),
    Link("/map", N_("Map")),
    Link("/registry", N_("Registry"), UNIT_STAFF),
    Link("/volunteers", N_("Volunteers"), UNIT_STAFF),
    Link("/volunteers/me", N_("My volunteering"), VOLUNTEER),
    Link("/charity", N_("Charity supermarket"), SUPERVISORS | VOLUNTEER),
    Link("/charity/mine", N_("My points"), RESIDENT),
    Link("/services/providers", N_("Providers"), DISTRICT_ADMINS),
    Link("/services/my-orders", N_("My orders"), RESIDENT),
    Link("/hotline/orders", N_("Service orders"), HOTLINE),
    Link("/provider", N_("Order desk"), PROVIDER),
    Link("/services/centres/manage", N_("Service centres"), SUPERVISORS),
    Link("/services/centres", N_("Service centres"), EVERYONE - SUPERVISORS, anonymous=True),
    Link("/activities/manage", N_("Community activities"), SUPERVISORS),
    Link("/activities", N_("Community activities"), EVERYONE - SUPERVISORS, anonymous=True),
)

# The home page's tiles, in order (tiles that depend on figures — the to-do count, grids without a worker, the
# holiday schedule — are drawn by the template from the page's context).
TILES: tuple[Link, ...] = (
    Link("/report", N_("Report a problem"), RESIDENT, N_("Something broken, dirty or unsafe? Tell us"), RESIDENT),
    Link("/services/order", N_("Order a service"), RESIDENT, N_(
        "A plumber, cleaning, meals for an elderly parent: member providers of the 12343 hotline come to you"),
        RESIDENT),
    Link("/services/my-orders", N_("My orders"), RESIDENT, N_("Where your orders stand; rate a finished service")),
    Link("/charity/mine", N_("My points"), RESIDENT,
         N_("Your household's points at the charity supermarket, with the card number on a receipt")),
    Link("/my/cases", N_("Track progress"), RESIDENT, N_("Your reports and how far they are"), RESIDENT),
    Link("/services/centres", N_("Service centres near you"), RESIDENT,
         N_("Today's opening hours, addresses and phone numbers"), RESIDENT),
    Link("/patrol", N_("Patrol report"), GRID_WORKER, N_("Report what you find on patrol"), GRID_WORKER),
    Link("/workbench", N_("Case queue"), SUPERVISORS, N_("Accept, dispatch and supervise cases"), SUPERVISORS),
    Link("/hotline", N_("12343 hotline desk"), SUPERVISORS | HOTLINE, N_("Take a call and create a case"), HOTLINE),
    Link("/hotline/orders", N_("12343 service orders"), HOTLINE,
         N_("Order a service for a caller; offer unassigned orders to a provider"), HOTLINE),
    Link("/provider", N_("Order desk"), PROVIDER, N_("New orders to take, and the orders you serve"), PROVIDER),
    Link("/workbench", N_("Case queue"), HOTLINE, N_("Accept, dispatch and supervise cases")),
    Link("/registry", N_("Registry"), UNIT_STAFF, N_("People, houses, facilities and organizations; grid profile")),
    Link("/services/providers", N_("Member providers"), DISTRICT_ADMINS,
         N_("Applications, status, items and prices; flags for suspension; performance")),
    Link("/services/centres/manage", N_("Service centres"), SUPERVISORS,
         N_("Hours, holidays and the days each centre opened")),
    Link("/services/projects", N_("Service projects"), SUPERVISORS,
         N_("Special projects, their beneficiaries and activities; produce points")),
    Link("/charity", N_("Charity supermarket"), SUPERVISORS | VOLUNTEER,
         N_("The counter: points for goods; donations, stock and the monthly reconciliation"), VOLUNTEER),
    Link("/services/subsidies", N_("Centre subsidies"), UPPER_STAFF,
         N_("Which centres were subsidised and open as required")),
    Link("/cases/metrics", N_("Case metrics"), STAFF_ROLES - HOTLINE, N_("Intake, on-time closure and satisfaction")),
    Link("/admin/open311", N_("Open311 clients"), DISTRICT_ADMINS, N_("Keys for outside reporting apps")),
    Link("/admin/categories", N_("Case categories"), DISTRICT_ADMINS, N_("Levels, time limits and departments")),
    Link("/care/visits/new", N_("Log a visit"), VOLUNTEER,
         N_("The people you are paired with: log a visit and let them confirm it"), VOLUNTEER),
    Link("/care", N_("People in care"), UNIT_STAFF,
         N_("Elderly and vulnerable people, pairings, visits and care centres")),
    Link("/volunteers/me", N_("My volunteering"), VOLUNTEER, N_("Sign up, check in and out, my hours and honours"),
         VOLUNTEER),
    Link("/volunteers", N_("Volunteers"), UNIT_STAFF, N_("Seven-colour teams, opportunities, sign-ups and hours")),
    Link("/activities/manage", N_("Organize activities"), SUPERVISORS,
         N_("Community events: registration, QR check-in, attendance and series")),
    Link("/activities", N_("Community activities"), EVERYONE - SUPERVISORS,
         N_("Lectures, shows and sports near you: register and check in"), RESIDENT),
    Link("/map", N_("Map"), EVERYONE - RESIDENT, N_("Units and grids in your scope")),
)


def _role(principal: Principal | None) -> Role | None:
    return Role(principal.role) if principal is not None else None


def menu(principal: Principal | None) -> list[Link]:
    """The top bar's links for the signed-in person (or a visitor)."""
    role = _role(principal)
    return [link for link in MENU if link.for_role(role)]


def tiles(principal: Principal) -> list[Link]:
    role = _role(principal)
    return [link for link in TILES if link.for_role(role)]

