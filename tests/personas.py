"""The people tests act as, taken from the small demo district: workers of two neighbouring grids (A and B),
the staff of their community and street, the district administrator, a hotline operator and a resident."""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.demo.generate import build_demo


@dataclass(frozen=True)
class Persona:
    username: str
    role: str
    scope: str | None


def _personas() -> dict[str, Persona]:
    demo = build_demo("small")
    grids = [u for u in demo.units if u.level == "grid"]
    grid_a, grid_b = grids[0].code, grids[1].code
    community = grids[0].parent_code
    other_community = next(u.code for u in demo.units if u.level == "community" and u.code != community)
    staff = {s.username: s for s in demo.staff}

    def first(role: str, scope: str) -> Persona:
        s = next(s for s in demo.staff if s.role == role and s.scope_code == scope)
        return Persona(s.username, s.role, s.scope_code)

    lead_a = next(m.username for m in demo.grid_members if m.grid_code == grid_a and m.is_lead)
    lead_b = next(m.username for m in demo.grid_members if m.grid_code == grid_b and m.is_lead)
    return {
        "grid_a": Persona(lead_a, "grid_worker", staff[lead_a].scope_code),
        "grid_b": Persona(lead_b, "grid_worker", staff[lead_b].scope_code),
        "community": first("community_staff", community),
        "other_community": first("community_staff", other_community),
        "street": first("street_staff", community[:9]),
        "admin": Persona("admin", "district_admin", "360802"),
        "hotline": first("hotline_operator", "360802"),
        "department": first("department", "360802"),
        "resident": Persona("resident1", "resident", None),
    }


PERSONAS = _personas()
GRID_A = PERSONAS["grid_a"].scope
GRID_B = PERSONAS["grid_b"].scope
COMMUNITY = PERSONAS["community"].scope
