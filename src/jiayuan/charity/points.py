"""Points (积分) of households: accounts, lots, the monthly issue by entitlement rules, expiry of what was not
spent, and the conversion of volunteer hours.

Points come in lots: every issue or conversion is an entry that opens a lot (its own id is its `lot_id`), and every
spend or expiry is a negative entry naming the lot it draws on. A lot's remainder is the sum of its entries.
Spends draw on the oldest lots first (FIFO), so that what expires at the end of a lot's last month is exactly
what was not spent of it. A household's balance is the sum of its entries; what it may spend today is the
remainder of its lots still valid today."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.charity import policy
from jiayuan.charity.models import Account, EntitlementRule, IssueRun, PointsEntry, Supermarket
from jiayuan.charity.service import (
    add_months,
    check_day,
    day_start,
    get_supermarket,
    month_end,
    month_start,
    supermarket_of_community,
    whole,
)
from jiayuan.config import get_settings
from jiayuan.kit.clock import local_today
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.text import clean_text
from jiayuan.registry.service import HouseholdCard
from jiayuan.registry.service import households as registry_households
from jiayuan.volunteers import service as volunteers

LOT_KINDS = ("issue", "conversion")
MAX_HOURS = 1000
CARD_CONTEXT = "charity.card"
# Crockford's base32, as the care cards: no I, L, O or U, so that nothing printed reads as another character.
CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Ids of conversion lots made from a caller's idempotency key: the same key gives the same lot (and the same
# source of the hours debit), so a retried conversion debits and credits once.
_CONVERSION_KEYS = uuid.UUID("5f1d9a52-3c1e-4d59-9a4e-6c1b0f0c2a77")


# --- Accounts ----------------------------------------------------------------------------------------------


def account_of_household(session: Session, district: str, household_id: uuid.UUID) -> Account | None:
    return session.scalar(select(Account).where(Account.district_code == district,
                                                Account.household_id == household_id))


def accounts_of_households(session: Session, district: str, household_ids: list[uuid.UUID]
                           ) -> dict[uuid.UUID, Account]:
    if not household_ids:
        return {}
    return {a.household_id: a for a in session.scalars(select(Account).where(
        Account.district_code == district, Account.household_id.in_(household_ids)))}


def converted_hours(lot: PointsEntry) -> int:
    """The hours a conversion lot was made from (its note says them)."""
    return int(lot.note.split()[0]) if lot.kind == "conversion" and lot.note else 0


def ensure_account(session: Session, supermarket: Supermarket, household: HouseholdCard) -> Account:
    """The household's account at its community's supermarket, opened if missing. A household that moved to
    another community takes its account (and its points) to that community's supermarket."""
    account = account_of_household(session, household.district_code, household.id)
    if account is None:
        account = Account(district_code=household.district_code, household_id=household.id,
                          supermarket_id=supermarket.id, grid_code=household.grid_code)
        try:
            with session.begin_nested():
                session.add(account)
        except IntegrityError:  # opened at the same moment by another desk or the monthly issue
            account = account_of_household(session, household.district_code, household.id)
            if account is None:
                raise
    if account.supermarket_id != supermarket.id or account.grid_code != household.grid_code:
        account.supermarket_id, account.grid_code = supermarket.id, household.grid_code
        session.flush()
    return account


def lock_account(session: Session, district: str, account_id: uuid.UUID) -> Account:
    """The account row, locked until the transaction ends: everything that reads points to spend them waits here."""
    account = session.scalar(select(Account).where(Account.district_code == district, Account.id == account_id)
                             .with_for_update().execution_options(populate_existing=True))
    if account is None:
        raise NotFound("no such account", field="account_id")
    return account


# --- Lots and balances -------------------------------------------------------------------------------------


@dataclass
class Lot:
    id: uuid.UUID
    kind: str
    points: int  # what the lot opened with
    remaining: int
    at: datetime
    expires_on: date | None
    note: str | None

    def valid_on(self, day: date) -> bool:
        return self.expires_on is None or self.expires_on >= day


def _remainders(district: str, account_ids: list[uuid.UUID]) -> Any:
    return (select(PointsEntry.lot_id, func.sum(PointsEntry.points).label("remaining"))
            .where(PointsEntry.district_code == district, PointsEntry.account_id.in_(account_ids))
            .group_by(PointsEntry.lot_id).subquery())


def lots_of(session: Session, account: Account) -> list[Lot]:
    """Every lot of the account with its remainder, oldest first (the order spends draw on them)."""
    sums = _remainders(account.district_code, [account.id])
    rows = session.execute(
        select(PointsEntry, sums.c.remaining).join(sums, sums.c.lot_id == PointsEntry.id)
        .where(PointsEntry.district_code == account.district_code, PointsEntry.account_id == account.id,
               PointsEntry.kind.in_(LOT_KINDS))
        .order_by(PointsEntry.at, PointsEntry.id))
    return [Lot(e.id, e.kind, e.points, int(rem), e.at, e.expires_on, e.note) for e, rem in rows]


def spendable(session: Session, district: str, account_ids: list[uuid.UUID], today: date
              ) -> dict[uuid.UUID, int]:
    """account id → points it may spend today (the remainders of its lots still valid), in one query."""
    if not account_ids:
        return {}
    sums = _remainders(district, account_ids)
    rows = session.execute(
        select(PointsEntry.account_id, func.sum(sums.c.remaining)).join(sums, sums.c.lot_id == PointsEntry.id)
        .where(PointsEntry.district_code == district, PointsEntry.account_id.in_(account_ids),
               PointsEntry.kind.in_(LOT_KINDS),
               or_(PointsEntry.expires_on.is_(None), PointsEntry.expires_on >= today))
        .group_by(PointsEntry.account_id))
    found = {a: 0 for a in account_ids}
    found.update({a: int(total or 0) for a, total in rows})
    return found


def ledger_balance(session: Session, account: Account) -> int:
    """The sum of every entry (lots past their last day count until the expiry has written them off)."""
    return int(session.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.district_code == account.district_code, PointsEntry.account_id == account.id)) or 0)


def history(session: Session, account: Account, limit: int = 200) -> list[PointsEntry]:
    return list(session.scalars(select(PointsEntry).where(
        PointsEntry.district_code == account.district_code, PointsEntry.account_id == account.id)
        .order_by(PointsEntry.at.desc(), PointsEntry.id.desc()).limit(limit)))


def draw(lots: list[Lot], amount: int, today: date) -> list[tuple[Lot, int]]:
    """Which lots pay `amount`, oldest valid lot first: (lot, points taken). The caller has checked there is
    enough."""
    taken: list[tuple[Lot, int]] = []
    left = amount
    for lot in lots:
        if left == 0:
            break
        if lot.remaining <= 0 or not lot.valid_on(today):
            continue
        part = min(lot.remaining, left)
        taken.append((lot, part))
        left -= part
    if left:
        raise AssertionError("draw() was asked for more than the lots hold")
    return taken


# --- The monthly issue -------------------------------------------------------------------------------------


def _supermarket_by_id(session: Session, supermarket_id: uuid.UUID, district: str | None) -> Supermarket:
    stmt = select(Supermarket).where(Supermarket.id == supermarket_id)
    if district is not None:
        stmt = stmt.where(Supermarket.district_code == district)
    supermarket = session.scalar(stmt)
    if supermarket is None:
        raise NotFound("no such supermarket", field="supermarket_id")
    return supermarket


def _run_of(session: Session, supermarket: Supermarket, month: date) -> IssueRun | None:
    return session.scalar(select(IssueRun).where(IssueRun.district_code == supermarket.district_code,
                                                 IssueRun.supermarket_id == supermarket.id, IssueRun.month == month))


def issue_month(session: Session, supermarket_id: uuid.UUID, month: date, *, district: str | None = None,
                now: datetime | None = None) -> tuple[IssueRun, bool]:
    """Give the month's points at a supermarket: every household of its community with a member holding an
    active rule's tag on the 1st gets the sum of those rules' points, as one lot per validity (a lot issued for
    January valid 3 months is spendable to 31 March, and written off on 1 April). Once per supermarket and
    month: the run is recorded first (a unique row), and running it again, or at the same moment elsewhere,
    returns that first run (False: nothing issued now)."""
    supermarket = _supermarket_by_id(session, supermarket_id, district)
    now = now or utcnow()
    month = month_start(check_day(month, "month"))
    if month > month_start(local_today(now)):
        raise Invalid("this month has not begun", field="month", reason="month_not_begun")
    if (earlier := _run_of(session, supermarket, month)) is not None:
        return earlier, False
    if not supermarket.active:
        raise Conflict("this supermarket is closed", field="supermarket_id", reason="closed")
    run = IssueRun(district_code=supermarket.district_code, supermarket_id=supermarket.id, month=month, ran_at=now,
                   households=0, points=0)
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:  # issued at the same moment by the worker or another desk
        earlier = _run_of(session, supermarket, month)
        if earlier is None:
            raise
        return earlier, False
    rules = list(session.scalars(select(EntitlementRule).where(
        EntitlementRule.district_code == supermarket.district_code, EntitlementRule.active.is_(True),
        EntitlementRule.points > 0)))
    if not rules:
        return run, True
    by_tag = {r.tag: r for r in rules}
    entitled = registry_households.households_with_tags(session, supermarket.unit_code, list(by_tag), month)
    account_ids = _accounts_for(session, supermarket, {h: grid for h, (grid, _) in entitled.items()})
    rows = []
    for household_id, (_grid, tags) in sorted(entitled.items()):
        # Rules of the same validity make one lot; a rule valid longer makes a lot of its own.
        lots: dict[date, tuple[int, list[str]]] = {}
        for tag in sorted(tags):
            rule = by_tag[tag]
            expires = month_end(month, rule.valid_months)
            points, names = lots.get(expires, (0, []))
            lots[expires] = (points + rule.points, [*names, tag])
        for expires, (points, names) in sorted(lots.items()):
            lot_id = uuid7()
            rows.append({"district_code": supermarket.district_code, "id": lot_id, "lot_id": lot_id,
                         "account_id": account_ids[household_id], "at": now, "points": points, "kind": "issue",
                         "expires_on": expires, "source_type": "issue_run", "source_id": run.id,
                         "note": f"{month:%Y-%m} {'+'.join(names)}"})
            run.points += points
        run.households += 1
    for start in range(0, len(rows), 1000):
        session.execute(insert(PointsEntry), rows[start:start + 1000])
    session.flush()
    return run, True


def _accounts_for(session: Session, supermarket: Supermarket, grids: dict[uuid.UUID, str]
                  ) -> dict[uuid.UUID, uuid.UUID]:
    """household id → account id at this supermarket, opening the missing accounts in one statement (and bringing
    home the accounts of households that moved here from another community)."""
    district = supermarket.district_code
    found: dict[uuid.UUID, uuid.UUID] = {}
    household_ids = list(grids)
    for start in range(0, len(household_ids), 1000):
        chunk = household_ids[start:start + 1000]
        for account in session.scalars(select(Account).where(Account.district_code == district,
                                                             Account.household_id.in_(chunk))):
            found[account.household_id] = account.id
            if account.supermarket_id != supermarket.id or account.grid_code != grids[account.household_id]:
                account.supermarket_id, account.grid_code = supermarket.id, grids[account.household_id]
    missing = [{"district_code": district, "id": uuid7(), "household_id": h, "supermarket_id": supermarket.id,
                "grid_code": grids[h]} for h in household_ids if h not in found]
    if missing:
        try:
            with session.begin_nested():
                session.execute(insert(Account), missing)
            found.update({row["household_id"]: row["id"] for row in missing})
        except IntegrityError:  # a desk opened one of them at the same moment: one by one then
            for row in missing:
                card = HouseholdCard(row["household_id"], district, row["grid_code"], None, None, "", 0)
                found[row["household_id"]] = ensure_account(session, supermarket, card).id
    session.flush()
    return found


def list_runs(session: Session, principal: Principal, supermarket_id: uuid.UUID, limit: int = 24) -> list[IssueRun]:
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    return list(session.scalars(select(IssueRun).where(IssueRun.district_code == supermarket.district_code,
                                                       IssueRun.supermarket_id == supermarket.id)
                                .order_by(IssueRun.month.desc()).limit(limit)))


def issue_by_hand(session: Session, principal: Principal, supermarket_id: uuid.UUID, month: date | None = None
                  ) -> tuple[IssueRun, bool]:
    """Staff press the button: the month's issue if it has not run (the worker does it on the 1st)."""
    supermarket = get_supermarket(session, principal, supermarket_id)
    run, created = issue_month(session, supermarket.id, month or local_today(), district=supermarket.district_code)
    if created:
        accounts.audit_for(session, principal, "charity_points_issued", target=str(supermarket.id),
                           detail={"month": run.month.isoformat(), "households": run.households,
                                   "points": run.points})
    return run, created


# --- Expiry ------------------------------------------------------------------------------------------------


def expire_points(session: Session, today: date | None = None, *, district: str | None = None,
                  now: datetime | None = None) -> int:
    """Write off the unspent rest of every lot whose last day is before `today`, once per lot (an `expire` entry
    names it; a lot that has one is done). The accounts concerned are locked first, in id order, so that no
    spend is between the remainder read and the entry written. Returns how many lots were written off."""
    now = now or utcnow()
    today = today or local_today(now)
    done = aliased(PointsEntry)
    due = (select(PointsEntry.district_code, PointsEntry.account_id, PointsEntry.id)
           .where(PointsEntry.kind.in_(LOT_KINDS), PointsEntry.expires_on < today,
                  ~exists().where(done.district_code == PointsEntry.district_code, done.lot_id == PointsEntry.id,
                                  done.kind == "expire")))
    if district is not None:
        due = due.where(PointsEntry.district_code == district)
    lots_by_district: dict[str, list[tuple[uuid.UUID, uuid.UUID]]] = {}
    for d, account_id, lot_id in session.execute(due):
        lots_by_district.setdefault(d, []).append((account_id, lot_id))
    written = 0
    for d, lots in sorted(lots_by_district.items()):
        account_ids = sorted({a for a, _ in lots})
        for start in range(0, len(account_ids), 500):
            chunk = account_ids[start:start + 500]
            list(session.scalars(select(Account.id).where(Account.district_code == d, Account.id.in_(chunk))
                                 .order_by(Account.id).with_for_update()))
            members = set(chunk)
            lot_ids = [lot for a, lot in lots if a in members]
            written += _write_off(session, d, lot_ids, now)
    session.flush()
    return written


def _write_off(session: Session, district: str, lot_ids: list[uuid.UUID], now: datetime) -> int:
    # Read again under the locks: an expiry running at the same moment may have written some off already.
    done = aliased(PointsEntry)
    rows = session.execute(
        select(PointsEntry.lot_id, PointsEntry.account_id, func.sum(PointsEntry.points))
        .where(PointsEntry.district_code == district, PointsEntry.lot_id.in_(lot_ids),
               ~exists().where(done.district_code == district, done.lot_id == PointsEntry.lot_id,
                               done.kind == "expire"))
        .group_by(PointsEntry.lot_id, PointsEntry.account_id)).all()
    entries = [{"district_code": district, "id": uuid7(), "account_id": account_id, "at": now, "points": -int(rest),
                "kind": "expire", "lot_id": lot_id, "expires_on": None, "source_type": None, "source_id": None,
                "note": None}
               for lot_id, account_id, rest in rows if rest and rest > 0]
    if entries:
        session.execute(insert(PointsEntry), entries)
    return len(entries)


# --- Volunteer hours into points ---------------------------------------------------------------------------


# Where the monthly cap of conversions comes from, as the refusal names it.
MONTHLY_CAP_SOURCE = "district rule"
MONTHLY_CAP_SETTING = "JIAYUAN_POINTS_HOURS_PER_MONTH"


def check_monthly_cap(session: Session, district: str, volunteer_id: uuid.UUID, hours: int, moment: datetime
                      ) -> None:
    """The district rule: a volunteer converts at most JIAYUAN_POINTS_HOURS_PER_MONTH whole hours in a calendar
    month (Beijing time). A conversion beyond it is refused whole (409, field hours, reason monthly_cap, with
    the hours left this month), never cut down. The caller holds the volunteer's row lock, so that two
    conversions at the same moment cannot both fit under the cap."""
    cap = get_settings().points_hours_per_month
    month = month_start(local_today(moment))
    done = volunteers.converted_minutes(session, district, volunteer_id, day_start(month),
                                        day_start(add_months(month, 1))) // 60
    if done + hours > cap:
        left = max(cap - done, 0)
        raise Conflict(f"by the {MONTHLY_CAP_SOURCE} at most {cap} hours a month are converted into points: "
                       f"{done} converted in {month:%Y-%m} already, {left} left", field="hours",
                       reason="monthly_cap", cap=cap, converted=done, left=left,
                       details={"source": MONTHLY_CAP_SOURCE, "setting": MONTHLY_CAP_SETTING, "cap_hours": cap,
                                "converted_hours": done, "left_hours": left, "month": f"{month:%Y-%m}"})


def convert_hours(session: Session, principal: Principal, volunteer_id: uuid.UUID, hours: Any, *,
                  idempotency_key: Any = None, now: datetime | None = None) -> tuple[PointsEntry, bool]:
    """Turn whole hours of a volunteer's balance into points for their registry household, at
    JIAYUAN_POINTS_PER_HOUR: a debit of the hours and a `conversion` lot, in the caller's one transaction
    (a refused debit leaves nothing). At most the district rule's hours a month (`check_monthly_cap`). The
    household's account at its community's supermarket is opened if missing. Staff of the community (or
    above) do it, or the volunteer for themself. A retry with the same idempotency key returns the first lot
    (False)."""
    hours = whole(hours, "hours", high=MAX_HOURS)
    volunteer = volunteers.get_volunteer(session, principal, volunteer_id)
    own = volunteer.user_id is not None and volunteer.user_id == principal.user_id
    district = volunteer.district_code
    household = registry_households.household_of_person(session, district, volunteer.person_id)
    if household is None:
        raise Conflict("the volunteer belongs to no household in the registry", field="volunteer_id",
                       reason="no_household")
    supermarket = supermarket_of_community(session, district, household.grid_code[:12])
    if supermarket is None or not supermarket.active:
        raise Conflict("the volunteer's community has no charity supermarket open", field="volunteer_id",
                       reason="no_supermarket")
    if not policy.may_convert_hours(principal, own=own, community=supermarket.unit_code):
        raise Forbidden("only staff of the household's community, or the volunteer, convert hours", field="role")
    rate = get_settings().points_per_hour
    if rate <= 0:
        raise Conflict("converting hours into points is switched off", field="hours")
    key = clean_text(idempotency_key, "idempotency_key", 120, nfkc=True)
    lot_id = uuid.uuid5(_CONVERSION_KEYS, f"{district}:{key}") if key else uuid7()
    if key and (earlier := session.get(PointsEntry, (district, lot_id))) is not None:
        return earlier, False
    # The volunteer's row is locked before the month's conversions are read: a second conversion at the same
    # moment waits here and then counts the first.
    volunteers.lock_volunteer(session, district, volunteer.id)
    check_monthly_cap(session, district, volunteer.id, hours, now or utcnow())
    account = ensure_account(session, supermarket, household)
    # The debit refuses to overdraw (409, nothing written).
    volunteers.debit_hours(session, volunteer.id, district, hours * 60, "conversion", "charity_points", lot_id,
                           note=f"{hours} h → {hours * rate} points", actor=principal)
    lot = PointsEntry(district_code=district, id=lot_id, lot_id=lot_id, account_id=account.id,
                      at=now or utcnow(), points=hours * rate, kind="conversion", expires_on=None,
                      source_type="volunteer", source_id=volunteer.id, note=f"{hours} h")
    session.add(lot)
    session.flush()
    return lot, True


# --- A household's own view: a card printed on every receipt ------------------------------------------------


def _base32(value: int, length: int) -> str:
    return "".join(CARD_ALPHABET[(value >> (5 * k)) & 31] for k in reversed(range(length)))


def card_token(account: Account) -> str:
    """The household's points card: its district, its account and a keyed check (the blind-index key), 40
    characters in Crockford's base32 after the district's digits, so that only someone holding a receipt of the
    household can open its balance. Printed on every receipt; nothing personal is in it."""
    check = int(blind_index(f"{account.district_code}:{account.id}", context=CARD_CONTEXT)[:10], 16)
    return f"{account.district_code}{_base32(account.id.int, 26)}{_base32(check, 8)}"


def format_card(token: str) -> str:
    """In groups of four, as printed."""
    return " ".join(token[i:i + 4] for i in range(0, len(token), 4))


def account_by_card(session: Session, token: Any) -> Account:
    """The account a card names, typed in any case, with spaces or dashes, O read as 0 and I or L as 1; anything
    else, or a wrong check, is simply not found."""
    text = "".join(token.split()).replace("-", "").upper().translate(_LOOKALIKES) if isinstance(token, str) else ""
    if len(text) != 40 or not text[:6].isdigit() or any(c not in CARD_ALPHABET for c in text[6:]):
        raise NotFound("no such card", field="card")
    value = 0
    for c in text[6:32]:
        value = value << 5 | CARD_ALPHABET.index(c)
    if value >= 1 << 128:
        raise NotFound("no such card", field="card")
    account = session.scalar(select(Account).where(Account.district_code == text[:6],
                                                   Account.id == uuid.UUID(int=value)))
    if account is None or not hmac.compare_digest(card_token(account), text):
        raise NotFound("no such card", field="card")
    return account


# --- Reading an account at a desk ----------------------------------------------------------------------------


def get_account(session: Session, principal: Principal, supermarket_id: uuid.UUID, household_id: uuid.UUID, *,
                create: bool = False) -> tuple[Supermarket, HouseholdCard, Account | None]:
    """A household of the supermarket's community and its account (opened when `create`), for the desk."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    card = registry_households.household_cards(session, supermarket.district_code, [household_id]).get(household_id)
    if card is None or not card.grid_code.startswith(supermarket.unit_code):
        raise NotFound("no such household in this community", field="household_id")
    if create:  # also brings home the account of a household that moved here from another community
        return supermarket, card, ensure_account(session, supermarket, card)
    return supermarket, card, account_of_household(session, supermarket.district_code, household_id)
