"""Load the generated demo district into the database, through the same services as real data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.demo.care import CareLoaded, load_care
from jiayuan.demo.cases import load_demo_cases
from jiayuan.demo.generate import build_demo, feature_collection
from jiayuan.demo.registry import RegistryLoaded, load_registry
from jiayuan.demo.services import ServicesLoaded, load_services
from jiayuan.units import service as units
from jiayuan.units.models import GridMember, Unit

DEMO_PASSWORD = "jiayuan2026"  # noqa: S105 - printed on purpose: it signs in to the demo


@dataclass
class Loaded:
    units: int
    staff: int
    grid_members: int
    cases: int = 0
    registry: RegistryLoaded | None = None
    services: ServicesLoaded | None = None
    care: CareLoaded | None = None


def demo_loaded(session: Session, district_code: str = "360802") -> bool:
    return session.scalar(select(Unit.id).where(Unit.district_code == district_code).limit(1)) is not None


def load_demo(session: Session, scale: str = "district", seed: int = 2026, password: str = DEMO_PASSWORD,
              *, with_cases: bool = True, with_registry: bool = True, with_services: bool = True,
              with_care: bool = True) -> Loaded:
    demo = build_demo(scale, seed)
    units.import_units(session, feature_collection(demo))
    # Hashing a password takes ~50 ms by design; the demo's accounts share one hash and one password.
    shared_hash = accounts.hash_password(password)
    ids = {}
    for s in demo.staff:
        user = accounts.create_user(session, username=s.username, full_name=s.full_name, role=s.role,
                                    scope_code=s.scope_code, password_hash=shared_hash)
        ids[s.username] = user.id
    for m in demo.grid_members:
        session.add(GridMember(district_code=m.grid_code[:6], grid_code=m.grid_code, user_id=ids[m.username],
                               is_lead=m.is_lead))
    session.flush()
    cases = load_demo_cases(session, scale, seed) if with_cases else 0
    # People, houses, facilities and organizations in every grid (人、房、物、组织).
    registry = load_registry(session, demo, scale, seed) if with_registry else None
    # Centres, providers (one staff account each, the demo's password), orders, projects, produce points (新服务).
    services = load_services(session, demo, scale, seed, password_hash=shared_hash) if with_services else None
    # People in care, volunteers, visits, care centres, charity supermarkets, activities (新风尚); from the registry.
    care = load_care(session, demo, scale, seed, password_hash=shared_hash) if with_care and with_registry else None
    return Loaded(len(demo.units), len(demo.staff), len(demo.grid_members), cases, registry, services, care)
