"""JSON route of the grid profile (网格画像): GET /api/v1/registry/profile/{unit_code}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from jiayuan.deps import DbSession
from jiayuan.registry.policy import Registrar
from jiayuan.stats import grid_profile

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])


@router.get("/profile/{unit_code}")
def get_profile(unit_code: str, principal: Registrar, session: DbSession) -> dict[str, Any]:
    """Counts for a grid, community, street or the district in the caller's scope: people by residence type
    and tag, households, rooms by use, facilities by kind and status, organizations by kind, open cases."""
    return grid_profile.profile(session, principal, unit_code)
