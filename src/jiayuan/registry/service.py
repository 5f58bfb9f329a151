"""The registry as other domains call it: its sub-domains' services (people and their households, organizations and
facilities) and the names they use most, in one place. Other domains import this module, never the registry's
sub-packages or tables.

    from jiayuan.registry.service import people, households, organizations, things
    from jiayuan.registry.service import MOVE_HOOKS, ERASE_HOOKS, Erasure, HouseholdCard, tag_active
"""

from __future__ import annotations

from jiayuan.registry.figures import people_by_child, unit_figures
from jiayuan.registry.people import households
from jiayuan.registry.people import service as people
from jiayuan.registry.people.households import HouseholdCard
from jiayuan.registry.people.service import (
    ANONYMIZED_NAME,
    DERIVED_TAGS,
    ERASE_HOOKS,
    MOVE_HOOKS,
    Erasure,
    age_on,
    aged_cutoff,
    id_number_index,
    name_initials,
    phone_index,
    tag_active,
)
from jiayuan.registry.places import organizations, things
from jiayuan.registry.places.things import list_things

__all__ = [
    "ANONYMIZED_NAME",
    "DERIVED_TAGS",
    "ERASE_HOOKS",
    "Erasure",
    "MOVE_HOOKS",
    "HouseholdCard",
    "age_on",
    "aged_cutoff",
    "households",
    "id_number_index",
    "list_things",
    "name_initials",
    "organizations",
    "people",
    "people_by_child",
    "phone_index",
    "tag_active",
    "things",
    "unit_figures",
]
