"""Coordinate conversion between WGS-84 and GCJ-02 (the offset datum of Amap and Tencent maps)."""

from __future__ import annotations

import math

# GCJ-02 is defined against the Krasovsky 1940 ellipsoid; these constants are the
# ones every published implementation uses, so results match the map vendors.
_A = 6378245.0
_EE = 0.00669342162296594323

# The inverse is exact to this tolerance in degrees (~0.1 mm), far below any map's precision.
_TOLERANCE = 1e-9
_MAX_ITERATIONS = 30

CRS_VALUES = ("wgs84", "epsg:4326", "gcj02")


def out_of_china(lat: float, lon: float) -> bool:
    """True outside the rough mainland box where GCJ-02 leaves coordinates unshifted."""
    # The vendors use this crude box, not a real border; matching it keeps us consistent with them.
    return lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 shift (dlat, dlon) in degrees at a WGS-84 point inside China."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02; points outside mainland China are returned unchanged."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat, dlon = _offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84, inverting the forward transform to within 1e-9 degrees."""
    if out_of_china(lat, lon):
        return lat, lon
    # The published "inverse" subtracts the offset once and is off by metres; the
    # offset varies slowly, so fixed-point iteration on w = g - offset(w) converges
    # in a handful of steps.
    dlat, dlon = _offset(lat, lon)
    wlat, wlon = lat - dlat, lon - dlon
    for _ in range(_MAX_ITERATIONS):
        glat, glon = wgs84_to_gcj02(wlat, wlon)
        elat, elon = glat - lat, glon - lon
        # NaN compares false, so a NaN input falls out here instead of looping.
        if not (abs(elat) > _TOLERANCE or abs(elon) > _TOLERANCE):
            break
        wlat, wlon = wlat - elat, wlon - elon
    return wlat, wlon


def to_wgs84(lat: float, lon: float, crs: str = "wgs84") -> tuple[float, float]:
    """Normalise a coordinate given in `crs` ("wgs84"/"epsg:4326" or "gcj02") to WGS-84."""
    name = crs.strip().lower() if isinstance(crs, str) else crs
    if name in ("wgs84", "epsg:4326"):
        return lat, lon
    if name == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    raise ValueError(f"crs: expected one of {', '.join(CRS_VALUES)} (case-insensitive), got {crs!r}")
