"""Sign-in throttling (OWASP ASVS 2.4.1, 6.3.x), counted atomically by kit.throttle on both databases.

Every attempt — a password, or the code of two-factor sign-in — is counted before it is checked, and the count is
committed at once, so that parallel guesses cannot all read a count under the limit and pass together; an attempt
that turns out right is taken back (`forgive`), so only failures stay counted. The limits (settings, config.py):

- one account from one address: `signin_failures_per_address` failures per `signin_lock_minutes`, and
  `signin_failures_per_address_day` a day; a full sign-in from that address starts its count again. This is the
  lock a guesser meets, and it is only theirs: the owner on another address is not locked out by it.
- one address, every account (password spraying): `signin_failures_per_source_hour` failures an hour.
- one account, every address (a guess spread over many machines): `signin_failures_per_account_hour` an hour.
  Past it the account only admits addresses it signed in from within `signin_known_address_days` (read from the
  audit log): a guesser's machines wait for the hour to end, the owner at their usual place does not; on a new
  address the owner is slowed for the rest of the hour at most, never locked out for good.

Unknown user names are counted alike, so that a lock says nothing about whether a name exists. Refusals are audited
(`sign_in_locked`), and so is the failure that reaches a limit (`account_locked`, with the limit in its detail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import NO_DISTRICT, AuditEntry, User
from jiayuan.accounts.service import record
from jiayuan.config import Settings
from jiayuan.kit import throttle
from jiayuan.kit.db import utcnow
from jiayuan.kit.throttle import Limit, Throttled


class TooManyAttempts(Throttled):
    """The account is locked for a while at this address after repeated failures."""

    code = "locked"
    default_reason = "locked"


@dataclass(frozen=True)
class SignInLimits:
    pair: Limit  # one account from one address
    pair_day: Limit
    source: Limit  # one address, every account
    account: Limit  # one account, every address; past it only known addresses
    known_days: int

    @classmethod
    def of(cls, settings: Settings) -> SignInLimits:
        return _limits(settings.signin_failures_per_address, settings.signin_lock_minutes,
                       settings.signin_failures_per_address_day, settings.signin_failures_per_source_hour,
                       settings.signin_failures_per_account_hour, settings.signin_known_address_days)


@cache
def _limits(pair: int, minutes: int, pair_day: int, source: int, account: int, known_days: int) -> SignInLimits:
    return SignInLimits(Limit("signin.pair", pair, timedelta(minutes=minutes)),
                        Limit("signin.pair_day", pair_day, timedelta(days=1)),
                        Limit("signin.source", source, timedelta(hours=1)),
                        Limit("signin.account", account, timedelta(hours=1)), known_days)


DEFAULT = SignInLimits.of(Settings.model_construct())  # the defaults, without reading the environment
# What each limit is called in the audit log's detail.
LIMIT_NAMES = {"signin.pair": "account_and_address", "signin.pair_day": "account_and_address_day",
               "signin.source": "address", "signin.account": "account"}


def district_of(user: User | None) -> str:
    return user.scope_code[:6] if user is not None and user.scope_code else NO_DISTRICT


@dataclass
class Attempt:
    """One counted attempt: what it was counted against, to take it back if it proves right."""

    username: str
    user: User | None
    ip: str | None
    limits: SignInLimits
    now: datetime
    counts: list[tuple[Limit, str, throttle.Count]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return self.ip or "unknown"

    @property
    def pair_subject(self) -> str:
        return f"{self.username}\n{self.source}"


def admit(session: Session, username: str, user: User | None, ip: str | None,
          limits: SignInLimits = DEFAULT) -> Attempt:
    """Count an attempt against every limit and commit the counts (in the request's own session: on SQLite it
    holds the write lock from its first statement, a second connection would wait for it); refuse it, audited,
    when a limit is reached. The limits are counted in one order, so that parallel requests never wait on each
    other in a circle; a refused attempt is not counted against the limits after the one that refused it."""
    attempt = Attempt(username, user, ip, limits, utcnow())
    refused: tuple[Limit, throttle.Count] | None = None
    for limit, subject in ((limits.pair, attempt.pair_subject), (limits.pair_day, attempt.pair_subject),
                           (limits.source, attempt.source), (limits.account, username)):
        count = throttle.hit(session, limit, subject, now=attempt.now)
        attempt.counts.append((limit, subject, count))
        if count.over and not (limit is limits.account and _known_address(session, attempt)):
            refused = (limit, count)
            break
    session.commit()
    if refused is not None:
        limit, count = refused
        wait = count.retry_after(attempt.now)
        record(session, district_of(user), actor=username, actor_id=user.id if user else None,
               action="sign_in_locked", ip=ip, detail={"limit": LIMIT_NAMES[limit.name], "retry_after": wait})
        raise TooManyAttempts(f"too many failed sign-ins; try again in {-(-wait // 60)} minutes",
                              field="password", details={"retry_after": wait})
    return attempt


def _known_address(session: Session, attempt: Attempt) -> bool:
    """Whether the account signed in from this address lately (its owner, most likely)."""
    if attempt.user is None or not attempt.ip:
        return False
    since = attempt.now - timedelta(days=attempt.limits.known_days)
    return session.scalar(select(AuditEntry.id).where(
        AuditEntry.district_code == district_of(attempt.user), AuditEntry.actor == attempt.username,
        AuditEntry.at >= since, AuditEntry.action == "sign_in", AuditEntry.ip == attempt.ip).limit(1)) is not None


def forgive(session: Session, attempt: Attempt) -> None:
    """The attempt was right: it does not count (committed at once, whatever the request does next)."""
    for limit, subject, _count in attempt.counts:
        throttle.forgive(session, limit, subject, now=attempt.now)
    session.commit()


def failed(session: Session, attempt: Attempt, step: str = "password") -> None:
    """Audit a failed attempt, and the lock it starts when it is the one that reaches a limit."""
    user, district = attempt.user, district_of(attempt.user)
    record(session, district, actor=attempt.username, action="sign_in_failed", ip=attempt.ip,
           actor_id=user.id if user else None, detail={"step": step} if step != "password" else None)
    for limit, _subject, count in attempt.counts:
        if count.count == limit.attempts:
            record(session, district, actor=attempt.username, action="account_locked", ip=attempt.ip,
                   actor_id=user.id if user else None,
                   detail={"limit": LIMIT_NAMES[limit.name], "failures": count.count,
                           "seconds": count.retry_after(attempt.now)})


def signed_in(session: Session, username: str, ip: str | None, limits: SignInLimits = DEFAULT) -> None:
    """A whole sign-in from this address: its count for the account starts again."""
    subject = f"{username}\n{ip or 'unknown'}"
    throttle.reset(session, limits.pair, subject)
    throttle.reset(session, limits.pair_day, subject)
