"""Activities and volunteer opportunities of the care demo (see demo.care): the district art festival (about 100
shows, 50,000 participants), monthly lectures and a few sports and culture evenings in every community, volunteer-run
days staffed through an opportunity (their volunteers credited with the activity's length), and a year of
opportunities with sign-ups, a waitlist, check-in and check-out (each check-out credits the minutes served)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from jiayuan.activities.models import Activity, Registration, Series
from jiayuan.demo.care_world import Credit, Out, Resident, Vol, World, at, rint, sample
from jiayuan.demo.registry_specs import Picker
from jiayuan.volunteers.models import Opportunity, Signup


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` in `parts` uneven whole shares that add up exactly (a show in a square draws more than one in a hall)."""
    weights = [0.3 + rng.random() * rng.random() * 3 for _ in range(parts)]
    scale = total / sum(weights)
    shares = [int(w * scale) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % parts] += 1
    return shares


class _Activities:
    def __init__(self, w: World, data: dict[str, Any], cfg: dict[str, Any], vols: list[Vol], credits: list[Credit],
                 rng: random.Random, out: Out) -> None:
        self.w, self.data, self.cfg, self.vols, self.credits, self.rng, self.out = w, data, cfg, vols, credits, rng, out
        self.acts = data["activities"]
        self.residents: dict[str, list[Resident]] = {}
        for p in w.people:
            self.residents.setdefault(p.grid[:12], []).append(p)
        self.older = {c: [p for p in ps if p.age >= 50] for c, ps in self.residents.items()}
        self.serving: dict[str, list[int]] = {}
        for i, v in enumerate(vols):
            if v.active:
                self.serving.setdefault(v.unit[:12], []).append(i)
        teams = data["volunteers"]["team_weights"]
        self.team = Picker(list(teams), list(teams.values()))

    def token(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def activity(self, unit: str, kind: str, title: str, organizer: str, place: str, starts: datetime, hours: float,
                 capacity: int | None, *, series: uuid.UUID | None = None, volunteer_run: bool = False,
                 description: str | None = None, cancelled: bool = False) -> uuid.UUID:
        created = starts - timedelta(days=rint(self.rng, 7, 30))
        return self.out.add(
            Activity, unit_code=unit, series_id=series, kind=kind, title=title[:120], description=description,
            organizer=organizer, organization_id=None, place=place, starts_at=starts,
            ends_at=starts + timedelta(hours=hours), capacity=capacity, public=True, volunteer_run=volunteer_run,
            checkin_token=self.token(), cancelled_at=starts - timedelta(days=1) if cancelled else None, version=1,
            created_at=created, updated_at=starts - timedelta(days=1) if cancelled else created)

    def register(self, activity: uuid.UUID, starts: datetime, people: list[Resident], capacity: int | None,
                 attend_rate: float, *, cancelled: bool = False) -> int:
        """Registrations of `people` in order: a place while capacity lasts, then the waitlist; after the start,
        those who came are checked in. Returns how many were checked in."""
        came = 0
        held = starts <= self.w.now and not cancelled
        for n, p in enumerate(people):
            registered = starts - timedelta(minutes=rint(self.rng, 60, 14 * 24 * 60))
            status = "registered" if capacity is None or n < capacity else "waitlisted"
            checked = None
            if cancelled:
                status = "cancelled"
            elif held and status == "registered" and self.rng.random() < attend_rate:
                status, checked = "attended", starts + timedelta(minutes=rint(self.rng, -25, 20))
                came += 1
            self.out.add(Registration, activity_id=activity, user_id=None, person_id=p.id, name=p.name, status=status,
                         registered_at=registered, registered_by=None, checked_in_at=checked)
        return came

    # The district art festival: shows hosted by the communities, attended by their street's residents.

    def festival(self) -> None:
        w, rng, acts = self.w, self.rng, self.acts
        first_day = w.today - timedelta(days=230)
        last_day = w.today - timedelta(days=40)
        series = self.out.add(Series, unit_code=w.district, name=acts["festival"],
                              description=acts["festival_description"], starts_on=first_day, ends_on=last_day,
                              created_at=at(first_day - timedelta(days=30), 600),
                              updated_at=at(first_day - timedelta(days=30), 600))
        by_street: dict[str, list[Resident]] = {}
        for community, people in self.residents.items():
            by_street.setdefault(community[:9], []).extend(people)
        shows = self.cfg["festival_shows"]
        audiences = _split(rng, self.cfg["festival_participants"], shows)
        span = (last_day - first_day).days
        for i in range(shows):
            community = w.communities[i % len(w.communities)]
            title = acts["festival_titles"][int(rng.random() * len(acts["festival_titles"]))]
            day = first_day + timedelta(days=span * i // max(1, shows - 1))
            starts = at(day, 19 * 60 if day.weekday() < 5 else rint(rng, 9, 15) * 60)
            street = community.code[:9]
            pool = by_street.get(street) or self.residents.get(community.code, [])
            audience = sample(rng, pool, min(audiences[i], len(pool)))
            act = self.activity(community.code, "festival", f"{acts['festival_short']}·{title}",
                                f"{w.unit_name(street)}文化站", acts["festival_places"][i % len(acts["festival_places"])],
                                starts, 2, None, series=series, description=f"{community.name}承办")
            self.register(act, starts, audience, None, 1.0)

    # What every community holds: monthly lectures (and the next one), sports and culture evenings, volunteer days.

    def community(self, unit: Any) -> None:
        w, rng, acts, cfg = self.w, self.rng, self.acts, self.cfg
        code, name = unit.code, unit.name
        organizer = f"{name}居委会"
        residents = self.residents.get(code, [])
        older = self.older.get(code) or residents
        n = cfg["lectures_per_community"]
        for i in range(n + 1):  # the last one lies ahead
            day = (w.first + timedelta(days=365 * (i + 1) // (n + 1) + rint(rng, -5, 5)) if i < n
                   else w.today + timedelta(days=rint(rng, 3, 20)))
            starts = at(day, rng.choice((9 * 60 + 30, 14 * 60 + 30)))
            capacity = rint(rng, 40, 80)
            cancelled = i < n and rng.random() < 0.03
            wanted = min(len(older), capacity + rint(rng, 1, 5) if rng.random() < 0.1  # a popular one: a waitlist
                         else rint(rng, capacity // 4, capacity * 2 // 3))
            act = self.activity(code, "lecture", acts["lectures"][(i + rint(rng, 0, 11)) % len(acts["lectures"])],
                                organizer, rng.choice(acts["places"]), starts, 1.5, capacity, cancelled=cancelled)
            self.register(act, starts, sample(rng, older, wanted), capacity, 0.85, cancelled=cancelled)
        for _ in range(cfg["community_events"]):
            kind, title = rng.choice(acts["community_events"])
            day = w.first + timedelta(days=rint(rng, 10, 355))
            starts = at(day, rng.choice((9 * 60, 15 * 60, 19 * 60)))
            self.register(self.activity(code, kind, title, organizer, rng.choice(acts["places"]), starts, 2.5, None),
                          starts, sample(rng, residents, min(len(residents), rint(rng, 30, 90))), None, 0.9)
        for _ in range(cfg["volunteer_events"]):
            day = w.first + timedelta(days=rint(rng, 10, 355))
            starts = at(day, 8 * 60 + 30)
            hours = 3
            title = rng.choice(acts["volunteer_events"])
            act = self.activity(code, "volunteer", title, f"{name}七彩义工队", rng.choice(acts["places"]), starts, hours,
                                None, volunteer_run=True)
            self.register(act, starts, sample(rng, older, min(len(older), rint(rng, 15, 50))), None, 0.9)
            self.opportunity(code, "orange" if "敬老" in title else "red" if "义诊" in title else self.team(rng),
                             f"{title}志愿服务", starts, hours, activity=(act, starts + timedelta(hours=hours)))

    # Volunteer opportunities.

    def opportunity(self, community: str, team: str, title: str, starts: datetime, hours: float, *,
                    activity: tuple[uuid.UUID, datetime] | None = None) -> None:
        """One opportunity with its sign-ups: slots first, then the waitlist; a cancellation moves the first of
        the waitlist up; after it, those who came checked in and out (credited), or for a volunteer-run activity
        checked in and credited with the activity's length when its attendance closed."""
        w, rng = self.w, self.rng
        ends = starts + timedelta(hours=hours)
        slots = rint(rng, 5, 15)
        oid = self.out.add(Opportunity, unit_code=community, title=title[:120], description=None,
                           place=rng.choice(self.acts["places"]), team_code=team, starts_at=starts, ends_at=ends,
                           slots=slots, activity_id=activity[0] if activity else None, cancelled_at=None, version=1,
                           created_at=starts - timedelta(days=14), updated_at=starts - timedelta(days=14))
        pool = self.serving.get(community, [])
        if not pool:
            return
        wanted = sample(rng, pool, min(len(pool), rint(rng, slots * 6 // 10, slots * 12 // 10)))
        wanted = [v for v in wanted if self.vols[v].joined <= starts.date()]
        past = ends <= w.now
        placed = wanted[:slots]
        waiting = wanted[slots:]
        statuses: dict[int, str] = {v: "signed_up" for v in placed}
        statuses.update({v: "waitlisted" for v in waiting})
        for v in list(placed):
            if rng.random() < 0.05:
                statuses[v] = "cancelled"
                if waiting:
                    statuses[waiting.pop(0)] = "signed_up"
        for n, v in enumerate(wanted):
            status = statuses[v]
            signed = starts - timedelta(days=7) + timedelta(minutes=n * 7)
            checked_in = checked_out = None
            if past and status == "signed_up":
                roll = rng.random()
                if roll < 0.1:
                    status = "no_show"
                else:
                    checked_in = starts - timedelta(minutes=rint(rng, 0, 25))
                    if activity:
                        status = "checked_in"
                    else:
                        status, checked_out = "checked_out", ends + timedelta(minutes=rint(rng, -20, 15))
            sid = self.out.add(Signup, opportunity_id=oid, volunteer_id=self.vols[v].id, status=status,
                               signed_up_at=signed, checked_in_at=checked_in, checked_out_at=checked_out)
            if checked_out is not None and checked_in is not None:
                minutes = min(int((checked_out - checked_in).total_seconds() // 60), int(hours * 60))
                self.credits.append(Credit(v, checked_out, minutes, "service", "signup", sid))
            elif activity and checked_in is not None:
                self.credits.append(Credit(v, activity[1], int(hours * 60), "activity", "activity", activity[0]))

    def opportunities(self, unit: Any) -> None:
        w, rng = self.w, self.rng
        titles = self.data["volunteers"]["opportunities"]
        n = self.cfg["opportunities_per_community"]
        for i in range(n + 2):  # two lie ahead
            day = (w.first + timedelta(days=365 * i // n + rint(rng, 0, 10)) if i < n
                   else w.today + timedelta(days=rint(rng, 2, 30)))
            if i < n and day >= w.today:
                day = w.today - timedelta(days=rint(rng, 1, 5))
            team = self.team(rng)
            title = titles[team][int(rng.random() * len(titles[team]))]
            self.opportunity(unit.code, team, title, at(day, rng.choice((8 * 60 + 30, 14 * 60))), rint(rng, 2, 4))


def activities(w: World, data: dict[str, Any], cfg: dict[str, Any], vols: list[Vol], credits: list[Credit],
               rng: random.Random, out: Out) -> None:
    a = _Activities(w, data, cfg, vols, credits, rng, out)
    a.festival()
    for unit in w.communities:
        a.community(unit)
    for unit in w.communities:
        a.opportunities(unit)

