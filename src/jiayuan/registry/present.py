"""How the registry's words and places read on a page: the labels of its vocabularies in the reader's language,
dates as the reader expects them, and rooms to choose from by address. Other domains' pages use these too."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit import i18n
from jiayuan.page_kit import take_flash
from jiayuan.registry.places import houses
from jiayuan.web import gettext_for, request_locale

ROOM_OPTIONS = 500


# Labels: every vocabulary value of the registry in the reader's language.


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "residence": {"registered": _("Registered resident"), "floating": _("Floating resident"),
                      "foreign": _("Foreign resident"), "unsettled": _("Unsettled resident")},
        "tag": {"aged_60": _("Aged 60+"), "aged_80": _("Aged 80+"), "living_alone": _("Living alone"),
                "empty_nest": _("Empty nest"), "disabled": _("Disabled"),
                "allowance": _("Minimum living allowance"), "left_behind_child": _("Left-behind child"),
                "entitled": _("Entitled group"), "attention": _("Under attention")},
        "use": {"self_occupied": _("Self-occupied"), "rented": _("Rented out"), "vacant": _("Vacant"),
                "commercial": _("Commercial use")},
        "kind": {"street_lamp": _("Street lamp"), "manhole_cover": _("Manhole cover"),
                 "well": _("Inspection well"), "septic_tank": _("Septic tank"), "hydrant": _("Fire hydrant"),
                 "camera": _("Surveillance camera"), "anti_theft_door": _("Anti-theft door"),
                 "pocket_park": _("Pocket park"), "fitness_equipment": _("Fitness equipment"),
                 "other": _("Other facility")},
        "status": {"ok": _("In good order"), "damaged": _("Damaged"), "missing": _("Missing"),
                   "removed": _("Removed")},
        "org": {"enterprise": _("Enterprise"), "social_welfare": _("Social organization (welfare)"),
                "social_charity": _("Social organization (charity)"),
                "social_service": _("Social organization (services)"),
                "social_rights": _("Social organization (rights protection)"),
                "property_company": _("Property management company"),
                "homeowners_committee": _("Homeowners' committee")},
        "sex": {"male": _("Male"), "female": _("Female")},
        "level": {"district": _("District"), "street": _("Street"), "community": _("Community"),
                  "grid": _("Grid")},
    }


def page_context(request: Request) -> dict[str, Any]:
    """What every registry page uses: the labels and dates as the reader expects them."""
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"RL": labels(_), "fmt_date": lambda v: i18n.fmt_date(v, locale),
            "flash": take_flash(request)}


# Rooms: which the caller may pick.


def room_label(address: dict[str, str] | None) -> str:
    if not address:
        return ""
    parts = [address["compound"], address["building"], address["entrance"], address["number"]]
    return " ".join(p for p in parts if p)


def room_options(session: Session, principal: Principal, grid: str | None = None
                 ) -> tuple[list[dict[str, Any]], bool]:
    """Rooms to choose from (in a grid, or in the whole scope), labelled by address; True when there were more
    than fit in one list."""
    rows, total = houses.list_rooms(session, principal, grid=grid, limit=ROOM_OPTIONS)
    addresses = houses.room_addresses(session, principal, [r.id for r in rows])
    options = sorted(({"id": str(r.id), "grid": r.grid_code, "label": room_label(addresses.get(r.id))}
                      for r in rows), key=lambda o: (o["grid"], o["label"]))
    return options, total > len(rows)
