"""Use cases of neighbourhood care, by module: profiles.py (people in care, contacts, pairings, moves),
visits.py (visits and their confirmation), alerts.py (the not-visited sweep) and centres.py (centres, enrolment,
attendance, figures), erasure.py (its part of erasing a person). Other domains import this module; jiayuan/hooks.py
registers care's hooks for registry moves and erasure."""

from __future__ import annotations

from jiayuan.care.alerts import list_alerts, open_count, raise_alerts, raise_alerts_in
from jiayuan.care.centres import (
    attendance_sheet,
    check_in,
    check_out,
    create_centre,
    enrol,
    figures,
    get_centre,
    leave,
    list_centres,
    update_centre,
)
from jiayuan.care.profiles import (
    CARE_TAGS,
    add_contact,
    end_pairing,
    end_profile,
    get_profile,
    list_pairings,
    list_profiles,
    open_profile,
    pair,
    profile_of_person,
    rehome,
    update_profile,
)
from jiayuan.care.erasure import erase_person  # registered in the registry's ERASE_HOOKS by jiayuan/hooks.py
from jiayuan.care.figures import FIGURE_KINDS, unit_figures  # the grouped figures stats reads
from jiayuan.care.visits import (
    approve_visit,
    confirm_with_card,
    confirm_with_code,
    get_visit,
    list_visits,
    log_visit,
    pending_work,
)

__all__ = [
    "FIGURE_KINDS", "unit_figures",
    "CARE_TAGS", "add_contact", "approve_visit", "attendance_sheet", "check_in", "check_out", "confirm_with_card",
    "confirm_with_code", "create_centre", "end_pairing", "end_profile", "enrol", "erase_person", "figures",
    "get_centre",
    "get_profile", "get_visit", "leave", "list_alerts", "list_centres", "list_pairings", "list_profiles",
    "list_visits", "log_visit", "open_count", "open_profile", "pair", "pending_work", "profile_of_person",
    "raise_alerts", "raise_alerts_in", "rehome", "update_centre", "update_profile",
]
