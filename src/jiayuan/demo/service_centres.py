"""Services demo data: the 8+X service centres of every street, their holiday exceptions, the days they opened
and their yearly subsidies. Pure; called by ``demo.services.build_services`` with its own random stream."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

from jiayuan.demo.generate import UnitSpec
from jiayuan.demo.services_specs import (
    ADMIN,
    EXCEPTION_DAYS_AHEAD,
    SUBSIDY_FEN,
    CentreSpec,
    ExceptionSpec,
    Landlines,
    OpeningSpec,
    Scale,
    ServicesDemo,
    SubsidySpec,
    World,
    holiday,
    local_moment,
    week_of,
)
from jiayuan.services.catalogue.service import read_centre_kinds


def centres(cfg: Scale, w: World, rng: random.Random, out: ServicesDemo) -> None:
    kinds = {k["code"]: k for k in read_centre_kinds()}
    spec = w.data["centres"]
    phones = Landlines()

    def add(unit: UnitSpec, kind: str, name: str, public: bool = True) -> None:
        k = spec[kind]
        address, lat, lon, _ = w.place(rng, unit.code)
        facilities = rng.sample(k["facilities"], rng.randint(2, len(k["facilities"])))
        street = unit.code[:9]
        out.centres.append(CentreSpec(
            unit.code, kind, name, address, lat, lon, rng.randint(*k["capacity"]), facilities, w.person(rng),
            phones(rng), public, week_of(k["week"]),
            f"{kinds[kind]['name_zh']}，面向{unit.name}居民" + ("开放" if public else "内部使用，不对外开放"),
            w.staff.get(street, ADMIN)))

    for street in w.streets:
        for kind in (k for k, v in kinds.items() if v["standard"]):
            add(street, kind, f"{street.name}{kinds[kind]['name_zh']}")
    hidden = cfg.hidden_centres
    for kind, level, count in cfg.x_centres:
        units = w.streets if level == "street" else w.communities
        for unit in sorted(rng.sample(units, min(count, len(units))), key=lambda u: u.code):
            public = not (hidden and kind == "volunteer_station")
            hidden -= not public
            add(unit, kind, f"{unit.name}{kinds[kind]['name_zh']}", public)
    exceptions(w, rng, out)
    openings(cfg, w, rng, out)
    for i, c in enumerate(out.centres):
        if not kinds[c.kind]["standard"]:
            continue  # the subsidy is for the eight standard centres of a street
        for year in (w.today.year - 1, w.today.year):
            granted = min(date(year, 3, rng.randint(1, 31)), w.today)
            out.subsidies.append(SubsidySpec(i, year, SUBSIDY_FEN, granted,
                                             f"{year}年度“八大中心”常态化运行补助"))


def exceptions(w: World, rng: random.Random, out: ServicesDemo) -> None:
    """Holiday closures (or holiday hours, for the kinds that stay open) and special days, from the start of last
    year to two months ahead."""
    spec = w.data["centres"]
    start, end = date(w.today.year - 1, 1, 1), w.today + timedelta(days=EXCEPTION_DAYS_AHEAD)
    holidays: list[tuple[date, str]] = []
    day = start
    while day <= end:
        if (name := holiday(day)) is not None:
            holidays.append((day, name))
        day += timedelta(days=1)
    for i, c in enumerate(out.centres):
        k = spec[c.kind]
        for day, name in holidays:
            if "holiday_hours" in k:
                out.exceptions.append(ExceptionSpec(i, day, False, [list(h) for h in k["holiday_hours"]],
                                                    f"{name}开放时间"))
            elif name in spec["closures"]:
                out.exceptions.append(ExceptionSpec(i, day, True, None, spec["closures"][name]))
        special = spec["special_days"].get(c.kind, [])
        taken = {d for d, _ in holidays}
        for _ in range(rng.randint(2, 4) if special else 0):
            day = start + timedelta(days=rng.randrange((end - start).days))
            if day in taken or day.weekday() >= 5:
                continue
            taken.add(day)
            out.exceptions.append(ExceptionSpec(i, day, False, [["08:00", "12:00"], ["13:00", "18:00"]],
                                                rng.choice(special)))
    out.exceptions.sort(key=lambda e: (e.centre, e.day))


def openings(cfg: Scale, w: World, rng: random.Random, out: ServicesDemo) -> None:
    """Days each centre opened, logged by its staff: most on 95 % or more of their scheduled days, a few
    (cfg.weak_centres, last year and this year) on far fewer."""
    by_centre: dict[int, dict[date, ExceptionSpec]] = defaultdict(dict)
    for e in out.exceptions:
        by_centre[e.centre][e.day] = e
    public = [i for i, c in enumerate(out.centres) if c.is_public]
    years = (w.today.year - 1, w.today.year)
    weak = {year: set(rng.sample(public, min(n, len(public)))) for year, n in zip(years, cfg.weak_centres)}
    holidays: dict[date, bool] = {}
    for i, c in enumerate(out.centres):
        for year in years:
            start, end = date(year, 1, 1), min(date(year, 12, 31), w.today - timedelta(days=1))
            scheduled: list[tuple[date, list[list[str]]]] = []
            day = start
            while day <= end:
                e = by_centre[i].get(day)
                if e is not None:
                    hours = [] if e.closed else (e.hours or [])
                else:
                    if day not in holidays:
                        holidays[day] = holiday(day) is not None and day.weekday() < 5
                    hours = [] if holidays[day] else c.weekly_hours.get(str(day.isoweekday()), [])
                if hours:
                    scheduled.append((day, hours))
                day += timedelta(days=1)
            share = rng.uniform(0.6, 0.84) if i in weak[year] else rng.uniform(0.95, 1.0)
            if not c.is_public:
                share = rng.uniform(0.5, 0.9)
            for day, hours in sorted(rng.sample(scheduled, round(share * len(scheduled)))):
                out.openings.append(OpeningSpec(i, day, local_moment(day, hours[0][0], -rng.randint(0, 20)),
                                                local_moment(day, hours[-1][1], rng.randint(-10, 30))))
