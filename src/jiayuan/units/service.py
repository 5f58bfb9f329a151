"""Use cases of units: import and export the hierarchy as GeoJSON, read it by scope, place a point in its
grid, and keep the grid workers answerable for each grid."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import Integer, func, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.models import User
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.kit import cache
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.units.geo import to_wgs84
from jiayuan.units.locate import GridIndex
from jiayuan.units.models import CODE_LENGTH, LEVEL_OF_LENGTH, GridMember, Unit

# Tolerances for polygons whose coordinates were rounded to 7 decimals (about 1 cm):
# a child may stick out of its parent by 1e-6° (~0.1 m); siblings may overlap by 1e-10 deg² (~1 m²).
CONTAIN_TOLERANCE = 1e-6
OVERLAP_TOLERANCE = 1e-10
MAX_REPORTED_ERRORS = 50
UNITS_CACHE = "units"


def level_of(code: str) -> str | None:
    return LEVEL_OF_LENGTH.get(len(code)) if code.isdigit() else None


def parent_of(code: str) -> str | None:
    """The parent's code is the code less its last level: 6 digits for a street, 3 below that."""
    n = len(code)
    return None if n <= 6 else code[: 6 if n == 9 else n - 3]


def check_code(code: Any, field: str = "code") -> str:
    if not isinstance(code, str) or not code.isdigit() or len(code) not in LEVEL_OF_LENGTH:
        raise Invalid(f"{code!r} is not a unit code (6, 9, 12 or 15 digits)", field=field)
    return code


# Import and export.


@dataclass
class ImportResult:
    created: int
    updated: int


@dataclass
class _Feature:
    index: int
    code: str
    name: str
    level: str
    parent_code: str | None
    geometry: shapely.Geometry | None


def _parse_features(collection: Any) -> list[_Feature]:
    errors: list[dict[str, str]] = []

    def fail(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise Invalid("must be a GeoJSON FeatureCollection", field="type")
    raw = collection.get("features")
    if not isinstance(raw, list) or not raw:
        raise Invalid("must be a non-empty list of Features", field="features")
    parsed: list[_Feature] = []
    seen: dict[str, int] = {}
    for i, feat in enumerate(raw):
        at = f"features[{i}]"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            fail(f"{at}.type", "must be a GeoJSON Feature")
            continue
        props = feat.get("properties") or {}
        code = props.get("code")
        if not isinstance(code, str) or level_of(code) is None:
            fail(f"{at}.properties.code", f"{code!r} is not a unit code (6, 9, 12 or 15 digits)")
            continue
        if code in seen:
            fail(f"{at}.properties.code", f"{code} appears twice (also features[{seen[code]}])")
            continue
        seen[code] = i
        level = level_of(code)
        if props.get("level", level) != level:
            fail(f"{at}.properties.level", f"a {len(code)}-digit code is a {level}, not {props.get('level')!r}")
        name = props.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            fail(f"{at}.properties.name", "required, at most 100 characters")
            name = ""
        parent = props.get("parent_code", parent_of(code))
        if parent != parent_of(code):
            fail(f"{at}.properties.parent_code",
                 f"{parent!r} is not the parent of {code}; expected {parent_of(code)!r}")
        geom = None
        if feat.get("geometry") is not None:
            try:
                geom = shape(feat["geometry"])
            except Exception as exc:  # noqa: BLE001 - shapely raises several kinds for bad GeoJSON
                fail(f"{at}.geometry", f"not a GeoJSON geometry: {exc}")
            else:
                if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
                    fail(f"{at}.geometry", f"must be a Polygon or MultiPolygon, not {geom.geom_type}")
                    geom = None
                elif not geom.is_valid:
                    fail(f"{at}.geometry", f"invalid polygon: {explain_validity(geom)}")
                    geom = None
                elif not _in_range(geom):
                    fail(f"{at}.geometry", "coordinates must be WGS-84 longitude, latitude")
                    geom = None
        elif level == "grid":
            fail(f"{at}.geometry", "a grid needs its polygon")
        parsed.append(_Feature(i, code, (name or "").strip(), level, parent_of(code), geom))
    if errors:
        _raise(errors)
    return parsed


def _in_range(geom: shapely.Geometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _raise(errors: list[dict[str, str]]) -> None:
    first = errors[0]
    raise Invalid(f"{first['field']}: {first['message']}", field=first["field"],
                  details=errors[:MAX_REPORTED_ERRORS])


def import_units(session: Session, collection: Any, scope: Scope | None = None) -> ImportResult:
    """Create or update units from a FeatureCollection; all of it or nothing (the caller's transaction)."""
    features = _parse_features(collection)
    if scope is not None:
        outside = [{"field": f"features[{f.index}].properties.code", "message": f"{f.code} lies outside your scope"}
                   for f in features if not scope.covers(f.code)]
        if outside:
            _raise(outside)
    codes = [f.code for f in features]
    existing = {u.code: u for u in _units_by_codes(session, codes)}
    incoming = {f.code: f for f in features}
    errors: list[dict[str, str]] = []

    # Parents must exist, in the file or already in the database.
    missing = {f.parent_code for f in features if f.parent_code and f.parent_code not in incoming}
    known = {u.code for u in _units_by_codes(session, missing)}
    for f in features:
        if f.parent_code and f.parent_code not in incoming and f.parent_code not in known:
            errors.append({"field": f"features[{f.index}].properties.parent_code",
                           "message": f"unknown parent code {f.parent_code}"})
    if errors:
        _raise(errors)

    errors.extend(_check_geometry(session, features, incoming))
    if errors:
        _raise(errors)

    created = updated = 0
    # Parents before children, so that each row's parent exists when it is written.
    for f in sorted(features, key=lambda f: len(f.code)):
        geometry = mapping(f.geometry) if f.geometry is not None else None
        unit = existing.get(f.code)
        if unit is None:
            session.add(Unit(district_code=f.code[:6], code=f.code, name=f.name, level=f.level,
                             parent_code=f.parent_code, geometry=geometry))
            created += 1
        else:
            unit.name, unit.geometry = f.name, geometry
            updated += 1
        session.flush()
    cache.bump(session, UNITS_CACHE)
    return ImportResult(created, updated)


def _units_by_codes(session: Session, codes: Iterable[str]) -> list[Unit]:
    by_district: dict[str, list[str]] = defaultdict(list)
    for c in codes:
        by_district[c[:6]].append(c)
    out: list[Unit] = []
    for district, group in by_district.items():
        for i in range(0, len(group), 500):
            out.extend(session.scalars(select(Unit).where(
                Unit.district_code == district, Unit.code.in_(group[i:i + 500]))))
    return out


def _check_geometry(session: Session, features: list[_Feature], incoming: dict[str, _Feature]) -> list[dict]:
    """Children inside their parent; siblings not overlapping — over the state after the import."""
    errors: list[dict[str, str]] = []
    parents = {f.parent_code for f in features if f.parent_code and f.geometry is not None}
    # A parent whose polygon changes must still cover the children already stored.
    parents |= {f.code for f in features if f.level != "grid" and f.geometry is not None}
    parent_geoms: dict[str, shapely.Geometry | None] = {}
    siblings: dict[str, dict[str, shapely.Geometry]] = defaultdict(dict)
    for p in parents:
        district = p[:6]
        row = session.execute(select(Unit.geometry).where(Unit.district_code == district, Unit.code == p)).first()
        parent_geoms[p] = incoming[p].geometry if p in incoming else (shape(row[0]) if row and row[0] else None)
        for code, geom in session.execute(select(Unit.code, Unit.geometry).where(
                Unit.district_code == district, Unit.parent_code == p)):
            if geom and code not in incoming:
                siblings[p][code] = shape(geom)
    for f in features:
        if f.geometry is not None and f.parent_code in parents:
            siblings[f.parent_code][f.code] = f.geometry

    for p, members in siblings.items():
        parent_geom = parent_geoms.get(p)
        if parent_geom is not None:
            grown = parent_geom.buffer(CONTAIN_TOLERANCE)
            for code, geom in members.items():
                if grown.covers(geom):
                    continue
                if code in incoming:
                    errors.append({"field": f"features[{incoming[code].index}].geometry",
                                   "message": f"{code} lies outside its parent {p}"})
                elif p in incoming:
                    errors.append({"field": f"features[{incoming[p].index}].geometry",
                                   "message": f"{p} no longer covers its unit {code}"})
        codes = list(members)
        geoms = [members[c] for c in codes]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        if len(left):
            areas = shapely.area(shapely.intersection(tree.geometries.take(left), tree.geometries.take(right)))
            for i, j, area in zip(left, right, areas, strict=True):
                if area > OVERLAP_TOLERANCE:
                    a, b = codes[i], codes[j]
                    culprit = a if a in incoming else b
                    other = b if culprit == a else a
                    errors.append({"field": f"features[{incoming[culprit].index}].geometry",
                                   "message": f"{culprit} overlaps {other}"})
    return errors


def export_units(session: Session, scope: Scope) -> dict[str, Any]:
    """Every unit in the scope and its ancestors, as one FeatureCollection, parents first."""
    units = list_units(session, scope, with_ancestors=True)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": u.geometry,
             "properties": {"code": u.code, "name": u.name, "level": u.level, "parent_code": u.parent_code}}
            for u in units
        ],
    }


# Reading the hierarchy.


def list_units(
    session: Session,
    scope: Scope,
    *,
    level: str | None = None,
    parent_code: str | None = None,
    with_ancestors: bool = False,
) -> list[Unit]:
    stmt = select(Unit).where(scope.where(Unit))
    if level:
        stmt = stmt.where(Unit.level == level)
    if parent_code:
        stmt = stmt.where(Unit.district_code == parent_code[:6], Unit.parent_code == parent_code)
    units = list(session.scalars(stmt))
    if with_ancestors and not level and not parent_code:
        have = {u.code for u in units}
        wanted = {a for p in scope.prefixes for a in ancestors_of(p)} - have
        units.extend(_units_by_codes(session, wanted))
    return sorted(units, key=lambda u: (len(u.code), u.code))


def ancestors_of(code: str) -> list[str]:
    out = []
    parent = parent_of(code)
    while parent:
        out.append(parent)
        parent = parent_of(parent)
    return out[::-1]


def get_unit(session: Session, scope: Scope, code: str) -> Unit:
    """A unit the caller may see: in the scope, or an ancestor of it (for the breadcrumb)."""
    check_code(code)
    unit = session.scalar(select(Unit).where(Unit.district_code == code[:6], Unit.code == code))
    if unit is None or not (scope.covers(code) or scope.is_within(code)):
        raise NotFound(f"no unit {code}", field="code")
    return unit


def chain_of(session: Session, code: str) -> list[Unit]:
    """The unit and its ancestors, district first."""
    units = {u.code: u for u in _units_by_codes(session, [*ancestors_of(code), code])}
    return [units[c] for c in [*ancestors_of(code), code] if c in units]


def unit_exists(session: Session, code: str) -> bool:
    return level_of(code) is not None and session.scalar(
        select(Unit.id).where(Unit.district_code == code[:6], Unit.code == code)) is not None


def count_units(session: Session, scope: Scope) -> dict[str, int]:
    rows = session.execute(select(Unit.level, func.count()).where(scope.where(Unit)).group_by(Unit.level))
    counts = dict.fromkeys(CODE_LENGTH, 0)
    counts.update({level: n for level, n in rows})
    return counts


# Point in grid.


def _build_index(session: Session) -> GridIndex:
    rows = session.execute(select(Unit.code, Unit.geometry).where(Unit.level == "grid"))
    return GridIndex((code, shape(geom)) for code, geom in rows if geom)


_grid_indexes = cache.ProcessCache(UNITS_CACHE, _build_index)


def grid_index(session: Session) -> GridIndex:
    """The spatial index of every grid, rebuilt when the units' version row has moved."""
    return _grid_indexes.get(session)


@dataclass
class Located:
    lat: float
    lon: float
    chain: list[Unit]


def locate(session: Session, lat: float, lon: float, crs: str = "wgs84") -> Located:
    """The grid a point lies in, with its chain up to the district; 404 naming the nearest grid if none."""
    code, lat, lon = locate_grid(session, lat, lon, crs)
    return Located(lat, lon, chain_of(session, code))


def locate_grid(session: Session, lat: float, lon: float, crs: str = "wgs84") -> tuple[str, float, float]:
    """The code of the grid a point lies in and the point in WGS-84, from the grid index alone (no query
    beyond the index's version check): what intake needs for every report; 404 naming the nearest grid."""
    if not -90 <= lat <= 90:
        raise Invalid("must be between -90 and 90", field="lat")
    if not -180 <= lon <= 180:
        raise Invalid("must be between -180 and 180", field="lon")
    try:
        lat, lon = to_wgs84(lat, lon, crs)
    except ValueError as exc:
        raise Invalid(str(exc).removeprefix("crs: "), field="crs") from None
    index = grid_index(session)
    code = index.locate(lat, lon)
    if code is None:
        if not len(index):
            raise NotFound("no grids are loaded", field="lat")
        nearest, metres = index.nearest(lat, lon)
        near = chain_of(session, nearest)
        name = near[-1].name if near else nearest
        raise NotFound(
            f"the point lies outside every grid; the nearest is {name} ({nearest}), {metres:.0f} m away",
            field="lat", reason="outside_grids", nearest=name, distance_m=round(metres),
            details={"nearest": {"code": nearest, "name": name, "distance_m": round(metres, 1)}},
        )
    return code, lat, lon


# Responsible workers (网格长 and 网格员).


def members_of(session: Session, scope: Scope, grid_code: str) -> list[GridMember]:
    unit = get_unit(session, scope, grid_code)
    if unit.level != "grid":
        raise Invalid(f"{grid_code} is a {unit.level}, not a grid", field="code")
    return list(session.scalars(select(GridMember).where(
        GridMember.district_code == grid_code[:6], GridMember.grid_code == grid_code)
        .order_by(GridMember.is_lead.desc(), GridMember.created_at)))


def assign_member(session: Session, scope: Scope, grid_code: str, user_id: uuid.UUID, *, is_lead: bool) -> GridMember:
    """Make a user a worker of a grid; as lead, the previous lead stays on as a worker."""
    unit = get_unit(session, scope, grid_code)
    if unit.level != "grid" or not scope.covers(grid_code):
        raise NotFound(f"no grid {grid_code} in your scope", field="code")
    district = grid_code[:6]
    if is_lead:
        session.execute(update(GridMember).where(
            GridMember.district_code == district, GridMember.grid_code == grid_code, GridMember.is_lead)
            .values(is_lead=False))
    member = session.scalar(select(GridMember).where(
        GridMember.district_code == district, GridMember.grid_code == grid_code, GridMember.user_id == user_id))
    if member is None:
        member = GridMember(district_code=district, grid_code=grid_code, user_id=user_id, is_lead=is_lead)
        session.add(member)
    elif member.is_lead and not is_lead:
        raise Conflict("name another lead first; a grid always has one", field="is_lead")
    else:
        member.is_lead = is_lead
    session.flush()
    return member


def remove_member(session: Session, scope: Scope, grid_code: str, user_id: uuid.UUID) -> None:
    members = members_of(session, scope, grid_code)
    for m in members:
        if m.user_id == user_id:
            if m.is_lead and len(members) > 1:
                raise Conflict("name another lead before removing this one", field="user_id")
            session.delete(m)
            session.flush()
            return
    raise NotFound("not a worker of this grid", field="user_id")


def _grid_in_scope(session: Session, scope: Scope, grid_code: str) -> Unit:
    """A grid the caller answers for (in the scope itself, not an ancestor of it); anything else is a 404."""
    unit = get_unit(session, scope, grid_code)
    if unit.level != "grid" or not scope.covers(grid_code):
        raise NotFound(f"no grid {grid_code} in your scope", field="code")
    return unit


def add_worker(session: Session, principal: Principal, grid_code: str, username: Any, *,
               is_lead: bool = False) -> GridMember:
    """Make a grid worker's account a worker (or the lead) of a grid: both the grid and the account must lie in
    the caller's scope (a worker of another community or district is no worker of theirs to hand a grid, and the
    grid would hand that worker its residents). An unknown account and one outside the scope read alike. Audited."""
    _grid_in_scope(session, principal.scope, grid_code)
    user = accounts.user_by_username(session, username) if isinstance(username, str) and username.strip() else None
    if (user is None or user.role != Role.grid_worker or not user.is_active
            or not principal.scope.covers(user.scope_code)):
        raise Invalid("no grid worker with this user name in your scope", field="username", reason="no_worker")
    member = assign_member(session, principal.scope, grid_code, user.id, is_lead=is_lead)
    accounts.audit_for(session, principal, "grid_member_added", target=grid_code,
                       detail={"user": user.username, "lead": is_lead})
    return member


def remove_worker(session: Session, principal: Principal, grid_code: str, user_id: uuid.UUID) -> None:
    """Take a worker off a grid of the caller's scope (the lead only once another is named, or when alone).
    Their next request already has the grid out of their scope. Audited."""
    _grid_in_scope(session, principal.scope, grid_code)
    remove_member(session, principal.scope, grid_code, user_id)
    user = accounts.user_by_id(session, user_id)
    accounts.audit_for(session, principal, "grid_member_removed", target=grid_code,
                       detail={"user": user.username if user else str(user_id)})


def grids_of_user(session: Session, user_id: uuid.UUID) -> tuple[str, ...]:
    return tuple(session.scalars(select(GridMember.grid_code).where(GridMember.user_id == user_id)
                                 .order_by(GridMember.grid_code)))


@dataclass
class Staffing:
    grid: Unit
    workers: int
    has_lead: bool


def grids_without_workers(session: Session, scope: Scope, *, missing_lead: bool = True) -> list[Staffing]:
    """Grids with nobody answerable for them: no worker at all, or (by default also) no lead."""
    members = (select(GridMember.district_code, GridMember.grid_code,
                      func.count().label("workers"),
                      func.max(GridMember.is_lead.cast(Integer)).label("leads"))
               .group_by(GridMember.district_code, GridMember.grid_code).subquery())
    stmt = (select(Unit, members.c.workers, members.c.leads)
            .outerjoin(members, (members.c.district_code == Unit.district_code)
                       & (members.c.grid_code == Unit.code))
            .where(scope.where(Unit), Unit.level == "grid")
            .order_by(Unit.code))
    out = []
    for unit, workers, leads in session.execute(stmt):
        if not workers or (missing_lead and not leads):
            out.append(Staffing(unit, workers or 0, bool(leads)))
    return out


def grid_codes(session: Session, scope: Scope) -> Sequence[str]:
    return list(session.scalars(select(Unit.code).where(scope.where(Unit), Unit.level == "grid")))


def lead_of(session: Session, grid_code: str) -> uuid.UUID | None:
    """The grid's lead (网格长), for assigning what arises in the grid; system use, no scope."""
    return session.scalar(select(GridMember.user_id).where(
        GridMember.district_code == grid_code[:6], GridMember.grid_code == grid_code, GridMember.is_lead))


def lead_account(session: Session, grid_code: str) -> User | None:
    """The grid lead's account itself (lead_of gives its id): for a caller that names the lead as well, in one
    query."""
    return session.scalar(select(User).join(GridMember, GridMember.user_id == User.id).where(
        GridMember.district_code == grid_code[:6], GridMember.grid_code == grid_code, GridMember.is_lead))


def single_district(session: Session) -> str | None:
    """The district code when the database holds exactly one district (the usual deployment)."""
    codes = list(session.scalars(select(Unit.code).where(Unit.level == "district").limit(2)))
    return codes[0] if len(codes) == 1 else None
