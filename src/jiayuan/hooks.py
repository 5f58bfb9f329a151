"""Wiring between domains that a lower one cannot import: registered explicitly at start-up of the app, the CLI
and the worker (never as a side effect of importing a module), so that every entry point behaves alike.

- accounts asks the unit hierarchy for a worker's grids and whether a unit exists (units lies above accounts);
- a registry move (a person or an import's batch changing grid) re-homes the rows of people in care;
- the volunteers' pages show, beside the hours ledger, the care visits still waiting for confirmation.
"""

from __future__ import annotations

from jiayuan.accounts import service as accounts
from jiayuan.care import service as care
from jiayuan.registry.service import MOVE_HOOKS
from jiayuan.units import service as units
from jiayuan.volunteers.service import PENDING_WORK


def register_hooks() -> None:
    """Idempotent: each hook is registered once however often this runs."""
    accounts.use_units(units.grids_of_user, units.unit_exists)
    if care.rehome not in MOVE_HOOKS:
        MOVE_HOOKS.append(care.rehome)
    if care.pending_work not in PENDING_WORK:
        PENDING_WORK.append(care.pending_work)
