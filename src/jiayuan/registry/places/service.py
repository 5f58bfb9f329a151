"""Use cases of places, as one module over its topics: compounds, buildings and rooms (houses), facilities
(things) and organizations."""

from __future__ import annotations

from jiayuan.registry.places.houses import (
    create_building,
    create_compound,
    get_building,
    get_compound,
    get_room,
    list_buildings,
    list_compounds,
    list_rooms,
    put_room,
    room_addresses,
    update_building,
    update_compound,
    update_room,
    upsert_room_by_path,
)
from jiayuan.registry.places.organizations import (
    CREDIT_CODE_OPTIONAL,
    by_credit_code,
    create_organization,
    get_organization,
    in_district,
    list_organizations,
    update_organization,
)
from jiayuan.registry.places.things import (
    create_thing,
    get_thing,
    list_things,
    set_status,
    thing_exists,
    update_thing,
)

__all__ = [
    "CREDIT_CODE_OPTIONAL", "by_credit_code", "create_building", "create_compound", "create_organization",
    "create_thing", "get_building", "get_compound", "get_organization", "get_room", "get_thing", "in_district",
    "list_buildings", "list_compounds", "list_organizations", "list_rooms", "list_things", "put_room",
    "room_addresses", "set_status", "thing_exists", "update_building", "update_compound", "update_organization",
    "update_room", "update_thing", "upsert_room_by_path",
]
