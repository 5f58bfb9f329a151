"""Registry demo data (物、组织): facilities in every grid and the district's organizations — community social
organizations, enterprises, property companies and homeowners' committees. Pure; called by
``demo.registry.build_registry`` with its own random stream."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from jiayuan.demo.generate import DISTRICT_CODE, DISTRICT_NAME, DemoDistrict
from jiayuan.demo.registry_specs import (
    Grid,
    Mobiles,
    OrganizationSpec,
    Picker,
    RegistryDemo,
    ThingSpec,
    Vocabulary,
    person_name,
)
from jiayuan.kit.identity import credit_check_char, organization_check_char

# Characters of a credit code's organization-code body: those of GB 32100 (no I, O, Z, S, V).
_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SOCIAL_KINDS = (("social_welfare", 30), ("social_charity", 20), ("social_service", 38), ("social_rights", 12))


def things(scale: str, grids: list[Grid], vocab: Vocabulary, rng: random.Random, today: date,
           out: RegistryDemo) -> None:
    """Lamps, covers, wells, hydrants, cameras … in every grid; pocket parks in a few grids in all."""
    by_grid: dict[str, list[int]] = {}
    for i, b in enumerate(out.buildings):
        by_grid.setdefault(b.grid_code, []).append(i)
    for kind, spec in vocab.registry["things"].items():
        amount = spec[scale]
        if isinstance(amount, int):  # a total for the district, one per chosen grid
            chosen = set(rng.sample(range(len(grids)), min(amount, len(grids))))
            counts = [int(g in chosen) for g in range(len(grids))]
        else:
            counts = [rng.randint(*amount) for _ in grids]
        status = Picker(list(spec["statuses"]), list(spec["statuses"].values()))
        first, last = spec["years"]
        for grid, count in zip(grids, counts):
            for n in range(1, count + 1):
                owner, maintainer = rng.choice(spec["owners"])
                name = f"{spec['label']}{n:03d}"
                if kind == "anti_theft_door" and by_grid.get(grid.code):
                    building = out.buildings[rng.choice(by_grid[grid.code])]
                    lat, lon = building.lat, building.lon
                    name = f"{out.compounds[building.compound].name}{building.name}{spec['label']}"
                else:
                    lat, lon = grid.point(rng)
                if kind == "pocket_park":
                    name = f"{rng.choice(vocab.roads[grid.community])}{spec['label']}"
                installed = today - timedelta(days=rng.randint(max(1, first * 365), last * 365 + 364))
                code = f"{grid.code}-{spec['prefix']}-{n:04d}"
                out.things.append(ThingSpec(grid.code, kind, code, name, lat, lon, status(rng), owner,
                                            maintainer, installed))


class _CreditCodes:
    """Distinct GB 32100 codes registered in the district: department, category, region, organization code."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, rng: random.Random, department: str, category: str, prefix: str) -> str:
        while True:
            body = prefix + "".join(rng.choice(_BODY) for _ in range(8 - len(prefix)))
            first17 = f"{department}{category}{DISTRICT_CODE}{body}{organization_check_char(body)}"
            if first17 not in self.used:
                self.used.add(first17)
                return first17 + credit_check_char(first17)


def organizations(social: int, enterprises_per_grid: tuple[int, int], companies: list[str],
                  demo: DemoDistrict, grids: list[Grid], vocab: Vocabulary, rng: random.Random,
                  out: RegistryDemo) -> None:
    """Social organizations in every community, enterprises in every grid, the property companies of the
    compounds and homeowners' committees of some of them; every code valid, every contact a valid mobile."""
    reg = vocab.registry["organizations"]
    credit, mobile = _CreditCodes(), Mobiles(vocab.registry["origins"]["mobile_prefixes"])
    names: set[str] = set()
    communities = {u.code: u.name for u in demo.units if u.level == "community"}
    grids_of: dict[str, list[Grid]] = {}
    for g in grids:
        grids_of.setdefault(g.community, []).append(g)

    def add(grid: Grid, name: str, kind: str, code: str | None, staff: int) -> None:
        sex = "male" if rng.random() < 0.5 else "female"
        contact = person_name(rng, vocab, vocab.surname(rng), sex, rng.randint(1955, 1998))
        address = vocab.address(rng, grid.community)
        out.organizations.append(OrganizationSpec(grid.code, name, kind, code, address, contact, mobile(rng),
                                                  staff, rng.random() < 0.97))

    def fresh(make: Callable[[], str]) -> str:
        for _ in range(1000):
            name = make()
            if name not in names:
                names.add(name)
                return name
        raise RuntimeError("ran out of organization names")

    # Three-society linkage (三社联动): 400+ community social organizations with about 17,000 workers.
    kind_of = Picker(*zip(*SOCIAL_KINDS))
    order = sorted(communities)
    for i in range(social):
        kind = SOCIAL_KINDS[i][0] if i < len(SOCIAL_KINDS) else kind_of(rng)  # every kind at least once
        code = order[i] if i < len(order) else rng.choice(order)  # every community has some
        community = communities[code]
        name = fresh(lambda c=community, k=kind: c + rng.choice(reg["themes"][k]))
        category = "2" if name[len(community):] in reg["non_enterprise"] else "1"  # 民办非企业单位 or 社会团体
        staff = max(3, min(400, round(rng.lognormvariate(3.45, 0.75))))
        add(rng.choice(grids_of[code]), name, kind, credit(rng, "5", category, "MJ"), staff)
    stems = reg["brand_stems"]
    for grid in grids:
        for _ in range(rng.randint(*enterprises_per_grid)):
            if rng.random() < 0.75:
                name = fresh(lambda: f"吉安市{rng.choice(stems)}{rng.choice(reg['company_trades'])}有限公司")
                add(grid, name, "enterprise", credit(rng, "9", "1", "MA"),
                    max(2, min(500, round(rng.lognormvariate(2.6, 0.9)))))
            else:  # 个体工商户: a shop registered by its owner
                name = fresh(lambda: f"{DISTRICT_NAME}{rng.choice(stems)}{rng.choice(reg['shops'])}")
                add(grid, name, "enterprise", credit(rng, "9", "2", ""), rng.randint(1, 8))
    where = {c.property_company: c.grid_code for c in reversed(out.compounds) if c.property_company}
    grid_by_code = {g.code: g for g in grids}
    for company in companies:
        names.add(company)
        add(grid_by_code[where.get(company, grids[0].code)], company, "property_company",
            credit(rng, "9", "1", "MA"), rng.randint(15, 200))
    # Homeowners' committees (业主委员会) of about a third of the managed compounds; a few have a credit code.
    for c in out.compounds:
        if c.property_company and rng.random() < 0.35:
            code = credit(rng, "Y", "1", "") if rng.random() < 0.25 else None
            name = fresh(lambda c=c: f"{c.name}业主委员会")
            add(grid_by_code[c.grid_code], name, "homeowners_committee", code, rng.randint(5, 9))
