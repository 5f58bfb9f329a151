"""Shared steps of the case tests: a point inside a grid, reporting, acting."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape


def point_in(api: Any, grid_code: str) -> tuple[float, float]:
    geom = api("admin").get(f"/api/v1/units/{grid_code}").json()["geometry"]
    p = shape(geom).representative_point()
    return p.y, p.x


def report(api: Any, who: str, grid_code: str, category: str = "1101", **extra: Any) -> dict:
    lat, lon = point_in(api, grid_code)
    body = {"category": category, "description": "路边有一堆暴露垃圾，气味很大", "lat": lat, "lon": lon, **extra}
    r = api(who).post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def act(api: Any, who: str, number: str, action: str, expect: int = 200, **body: Any) -> dict:
    r = api(who).post(f"/api/v1/cases/{number}/actions/{action}", json=body)
    assert r.status_code == expect, f"{who} {action}: {r.status_code} {r.text}"
    return r.json()
