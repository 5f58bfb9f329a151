"""`jiayuan demo --scale district`, as `make run` loads it: the whole district once, on SQLite only (the slowest test
of the suite, so conftest.py hands its file to a worker first): its shape as README.md describes it, and --if-empty
leaving a loaded database as it is while a second load is refused."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from jiayuan.registry.service import aged_cutoff
from tests.cli import export, ok, run_cli, said, units_snapshot
from tests.databases import query


def test_district_demo_loads_once_and_if_empty_makes_it_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/district.db"
    ok(run_cli(url, "init"))
    # Units, 50,000 cases and the registry take about 90 s on a 2-core machine; more when it is shared.
    out = ok(run_cli(url, "demo", "--scale", "district")).stdout
    assert "loaded 346 units" in out

    # The registry: residents in households in every grid, as in the source document.
    people, households = (query(url, f"SELECT count(*) FROM {t}")[0][0] for t in ("people", "households"))
    assert f"loaded {people} residents in {households} households" in out
    assert 215_000 <= people <= 235_000 and 72_000 <= households <= 78_000
    assert query(url, "SELECT count(DISTINCT grid_code) FROM people")[0][0] == 305
    assert query(url, "SELECT count(DISTINCT grid_code) FROM things")[0][0] == 305
    aged = query(url, "SELECT count(*) FROM people WHERE birth_date <= :d",
                 d=aged_cutoff(date.today(), 60).isoformat())
    assert 0.16 <= aged[0][0] / people <= 0.20  # about 18 % aged 60 or older
    social = query(url, "SELECT count(*) FROM organizations WHERE kind LIKE 'social%'")[0][0]
    assert social >= 400
    assert query(url, "SELECT count(*) FROM compounds WHERE property_company IS NULL")[0][0] == 152

    # The services (新服务): 8 centres in each of the 5 streets and a few local ones; about 700 active providers,
    # every catalogue item offered by three or more of them; a couple flagged for their ratings.
    centres, providers, orders = (query(url, f"SELECT count(*) FROM {t}")[0][0]
                                  for t in ("service_centres", "providers", "service_orders"))
    assert f"loaded {centres} service centres, {providers} providers" in out and f"{orders} service orders" in out
    assert query(url, "SELECT count(DISTINCT unit_code) FROM service_centres WHERE kind_code = 'health'")[0][0] == 5
    assert query(url, "SELECT count(*) FROM providers WHERE status = 'active'")[0][0] == 700
    offered = query(url, "SELECT i.item_code, count(*) FROM provider_items i JOIN providers p ON p.district_code = "
                         "i.district_code AND p.id = i.provider_id WHERE p.status = 'active' GROUP BY i.item_code")
    assert len(offered) == query(url, "SELECT count(*) FROM service_items WHERE parent_code IS NOT NULL")[0][0]
    assert min(n for _, n in offered) >= 3
    assert query(url, "SELECT count(*) FROM providers WHERE flagged_at IS NOT NULL")[0][0] >= 2

    # Neighbourhood care (新风尚): a few thousand people in care, 2,000 volunteers, 11 home-care and 33 day-care
    # centres with about 6,000 enrolled, a charity supermarket in each of the 35 communities, the art festival of
    # 100 shows and 50,000 participants; someone living alone is waiting for a visit today.
    profiles, visits = (query(url, f"SELECT count(*) FROM {t}")[0][0] for t in ("care_profiles", "care_visits"))
    assert f"loaded {profiles} people in care, 2000 volunteers, {visits} visits" in out
    assert 3000 <= profiles <= 10_000 and visits >= 50_000
    assert dict(query(url, "SELECT kind, count(*) FROM care_centres GROUP BY kind")) == {"home_care": 11,
                                                                                        "day_care": 33}
    assert 5000 <= query(url, "SELECT count(*) FROM care_enrolments WHERE active")[0][0] <= 7000
    assert query(url, "SELECT count(DISTINCT unit_code) FROM charity_supermarkets")[0][0] == 35
    assert query(url, "SELECT count(*), sum(CASE WHEN r.checked_in_at IS NOT NULL THEN 1 ELSE 0 END) FROM activities a "
                      "JOIN activity_series s ON s.id = a.series_id JOIN activity_registrations r ON "
                      "r.activity_id = a.id")[0][1] == 50_000
    assert query(url, "SELECT count(*) FROM activities a JOIN activity_series s ON s.id = a.series_id")[0][0] == 100
    assert query(url, "SELECT count(*) FROM care_alerts WHERE open")[0][0] >= 1

    collection = export(url, tmp_path / "district.geojson")
    levels = Counter(f["properties"]["level"] for f in collection["features"])
    assert levels == {"district": 1, "street": 5, "community": 35, "grid": 305}
    streets = {f["properties"]["name"] for f in collection["features"] if f["properties"]["level"] == "street"}
    assert "文山街道" in streets
    grid_workers = query(url, "SELECT count(*) FROM users WHERE role = 'grid_worker'")[0][0]
    assert grid_workers >= 1000

    def state() -> tuple:
        return (units_snapshot(url), query(url, "SELECT count(*) FROM users"),
                query(url, "SELECT count(*) FROM grid_members"))

    before = state()
    again = ok(run_cli(url, "demo", "--scale", "district", "--if-empty"))
    assert "already loaded" in again.stdout
    assert "loaded 346" not in again.stdout
    assert state() == before

    refused = run_cli(url, "demo", "--scale", "district")
    assert refused.returncode == 2, refused.stderr
    assert "already loaded" in said(refused)
    assert state() == before
