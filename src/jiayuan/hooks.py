"""Wiring between domains that a lower one cannot import: registered explicitly at start-up of the app, the CLI
and the worker (never as a side effect of importing a module), so that every entry point behaves alike.

- accounts asks the unit hierarchy for a worker's grids and whether a unit exists (units lies above accounts);
- a registry move (a person or an import's batch changing grid) re-homes the rows of people in care;
- the volunteers' pages show, beside the hours ledger, the care visits still waiting for confirmation;
- a registry anonymisation erases the person in every domain that holds data about them (ERASE_HOOKS), each domain
  blanking its own rows in the anonymisation's transaction.
"""

from __future__ import annotations

from jiayuan.accounts import service as accounts
from jiayuan.activities import service as activities
from jiayuan.care import service as care
from jiayuan.cases import service as cases
from jiayuan.charity import service as charity
from jiayuan.registry.service import ERASE_HOOKS, MOVE_HOOKS
from jiayuan.services import service as services
from jiayuan.units import service as units
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.service import PENDING_WORK

# Every domain right of the registry that keeps data about a person, in the order of the layers.
ERASERS = (cases.erase_person, services.erase_person, volunteers.erase_person, care.erase_person,
           charity.erase_person, activities.erase_person)


def register_hooks() -> None:
    """Idempotent: each hook is registered once however often this runs."""
    accounts.use_units(units.grids_of_user, units.unit_exists)
    if care.rehome not in MOVE_HOOKS:
        MOVE_HOOKS.append(care.rehome)
    if care.pending_work not in PENDING_WORK:
        PENDING_WORK.append(care.pending_work)
    for eraser in ERASERS:
        if eraser not in ERASE_HOOKS:
            ERASE_HOOKS.append(eraser)
