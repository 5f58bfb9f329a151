"""WGS-84 ↔ GCJ-02 conversion: reference values, exact inverse, out-of-China passthrough, crs checking."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiayuan.units.geo import gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02

# Published test vectors of googollee/eviltransform (the standard algorithm); ours match bit for bit.
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_forward_matches_reference(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    got = wgs84_to_gcj02(*wgs)
    assert got == pytest.approx(gcj, abs=1e-12)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_inverse_matches_reference_to_a_millimetre(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.001


def test_jian_offset_is_a_few_hundred_metres() -> None:
    wgs = (27.11, 114.98)
    gcj = wgs84_to_gcj02(*wgs)
    # Computed with the standard algorithm; pins the value against accidental edits.
    assert gcj == pytest.approx((27.106608573121196, 114.9849397376286), abs=1e-12)
    assert 100 < metres(wgs, gcj) < 700


# Stay a little inside the vendor box so the forward map is continuous around each sample.
lats = st.floats(min_value=1.0, max_value=55.6, allow_nan=False)
lons = st.floats(min_value=72.2, max_value=137.6, allow_nan=False)


@settings(max_examples=500, deadline=None)
@given(lats, lons)
def test_round_trip_wgs_gcj_wgs(lat: float, lon: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lat, lon))
    assert abs(back[0] - lat) < 1e-7
    assert abs(back[1] - lon) < 1e-7


@settings(max_examples=500, deadline=None)
@given(lats, lons)
def test_round_trip_gcj_wgs_gcj(lat: float, lon: float) -> None:
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lat, lon))
    assert abs(again[0] - lat) < 1e-7
    assert abs(again[1] - lon) < 1e-7


def test_inverse_beats_the_one_step_approximation() -> None:
    gcj = REFERENCE[0][1]
    lat, lon = wgs84_to_gcj02(*gcj)
    one_step = (2 * gcj[0] - lat, 2 * gcj[1] - lon)
    assert metres(one_step, REFERENCE[0][0]) > 0.01
    assert metres(gcj02_to_wgs84(*gcj), REFERENCE[0][0]) < 0.0001


@pytest.mark.parametrize(
    "point",
    [(51.5074, -0.1278), (40.7128, -74.006), (-33.8688, 151.2093), (1.3521, 103.8198 + 40), (60.0, 100.0)],
)
def test_points_outside_china_unchanged(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_to_wgs84_accepts_names_case_insensitively() -> None:
    gcj = REFERENCE[2][1]
    assert to_wgs84(*gcj) == gcj
    assert to_wgs84(*gcj, crs="WGS84") == gcj
    assert to_wgs84(*gcj, crs="EPSG:4326") == gcj
    assert to_wgs84(*gcj, crs="GCJ02") == gcj02_to_wgs84(*gcj)


@pytest.mark.parametrize("crs", ["bd09", "", "epsg:3857", "gcj-02"])
def test_bad_crs_names_the_field(crs: str) -> None:
    with pytest.raises(ValueError) as info:
        to_wgs84(27.11, 114.98, crs=crs)
    message = str(info.value)
    assert message.startswith("crs:")
    assert "wgs84" in message and "gcj02" in message and "epsg:4326" in message
