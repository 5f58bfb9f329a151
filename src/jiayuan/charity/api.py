"""JSON routes of the charity supermarket under /api/v1/charity. Staff of the community (and of the street and
district above) run a supermarket; volunteers whose scope covers the community may serve at its counter; a
resident sees their own household's balance and history with the points card printed on its receipts."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from jiayuan.charity import points, redeem, reports, service, stock
from jiayuan.charity.models import Account, Supermarket
from jiayuan.charity.policy import DistrictEditor
from jiayuan.charity.schemas import (
    AccountRead,
    CardRequest,
    ConversionCreate,
    ConversionRead,
    DonationCreate,
    DonationRead,
    HouseholdRead,
    IdNumberSearch,
    IssueCreate,
    IssueRead,
    ItemCreate,
    ItemRead,
    ItemUpdate,
    LedgerPage,
    LevelRead,
    LotRead,
    PointsEntryRead,
    PointsSummaryRead,
    PurchaseCreate,
    ReceiptLineRead,
    ReceiptRead,
    RedemptionCreate,
    RedemptionSummary,
    ReportRead,
    RulePut,
    RuleRead,
    StockEntryRead,
    StockLineRead,
    StocktakeCreate,
    StocktakeLineRead,
    StocktakeRead,
    SupermarketCreate,
    SupermarketRead,
    SupermarketUpdate,
)
from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Invalid
from jiayuan.kit.excel import XLSX_TYPE
from jiayuan.kit.pagination import Offset, search_query
from jiayuan.registry.service import HouseholdCard
from jiayuan.registry.service import households as registry_households

router = APIRouter(prefix="/api/v1/charity", tags=["charity supermarket"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=120)]
NO_STORE = {"Cache-Control": "no-store"}


def household_out(card: HouseholdCard, balance: int) -> HouseholdRead:
    return HouseholdRead(id=card.id, number=card.number, head_name=card.head_name, address=card.address,
                         members=card.members, grid_code=card.grid_code, balance=balance)


def households_out(session: Session, supermarket: Supermarket, cards: list[HouseholdCard]) -> list[HouseholdRead]:
    """The households found, each with what it may spend today (two queries for all of them)."""
    district = supermarket.district_code
    accounts = points.accounts_of_households(session, district, [c.id for c in cards])
    balances = points.spendable(session, district, [a.id for a in accounts.values()], local_today())
    return [household_out(c, balances[accounts[c.id].id] if c.id in accounts else 0) for c in cards]


def account_out(session: Session, card: HouseholdCard, account: Account | None) -> AccountRead:
    today = local_today()
    if account is None:
        return AccountRead(household=household_out(card, 0), account_id=None, balance=0, ledger_balance=0, lots=[],
                           history=[], redemptions=[])
    lots = points.lots_of(session, account)
    balance = sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.valid_on(today))
    return AccountRead(
        household=household_out(card, balance), account_id=account.id, balance=balance,
        ledger_balance=points.ledger_balance(session, account),
        lots=[LotRead(id=lot.id, kind=lot.kind, points=lot.points, remaining=lot.remaining, at=lot.at,
                      expires_on=lot.expires_on, note=lot.note, valid=lot.valid_on(today)) for lot in lots],
        history=[PointsEntryRead.model_validate(e) for e in points.history(session, account)],
        redemptions=[RedemptionSummary(id=r.id, at=r.at, points=r.points,
                                       lines=[ReceiptLineRead(**vars(ln)) for ln in lines])
                     for r, lines in redeem.redemptions_of(session, account)])


def receipt_out(receipt: redeem.Receipt) -> ReceiptRead:
    r = receipt.redemption
    return ReceiptRead(id=r.id, supermarket_id=r.supermarket_id, supermarket_name=receipt.supermarket.name,
                       household=household_out(receipt.household, receipt.balance), at=r.at, points=r.points,
                       lines=[ReceiptLineRead(**vars(ln)) for ln in receipt.lines], balance=receipt.balance,
                       card=receipt.card)


# Supermarkets.


@router.get("/supermarkets", response_model=list[SupermarketRead])
def list_supermarkets(principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.list_supermarkets(session, principal)


@router.post("/supermarkets", response_model=SupermarketRead, status_code=201)
def create_supermarket(body: SupermarketCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.create_supermarket(session, principal, unit_code=body.unit_code, name=body.name,
                                      address=body.address)


@router.get("/supermarkets/{supermarket_id}", response_model=SupermarketRead)
def get_supermarket(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.get_supermarket(session, principal, supermarket_id, desk=True)


@router.patch("/supermarkets/{supermarket_id}", response_model=SupermarketRead)
def update_supermarket(supermarket_id: uuid.UUID, body: SupermarketUpdate, principal: CurrentPrincipal,
                       session: DbSession) -> Any:
    return service.update_supermarket(session, principal, supermarket_id, body.model_dump(exclude_unset=True))


# Items and rules (the district's).


@router.get("/items", response_model=list[ItemRead])
def list_items(principal: CurrentPrincipal, session: DbSession, active: bool = False) -> Any:
    return service.list_items(session, principal, active_only=active)


@router.post("/items", response_model=ItemRead, status_code=201)
def create_item(body: ItemCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.create_item(session, principal, name=body.name, unit=body.unit, points=body.points,
                               category=body.category)


@router.patch("/items/{item_id}", response_model=ItemRead)
def update_item(item_id: uuid.UUID, body: ItemUpdate, principal: DistrictEditor, session: DbSession) -> Any:
    return service.update_item(session, principal, item_id, body.model_dump(exclude_unset=True))


@router.get("/rules", response_model=list[RuleRead])
def list_rules(principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.list_rules(session, principal)


@router.put("/rules/{tag}", response_model=RuleRead)
def put_rule(tag: str, body: RulePut, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.put_rule(session, principal, tag=tag, points=body.points, valid_months=body.valid_months,
                            active=body.active)


# Stock.


@router.get("/supermarkets/{supermarket_id}/stock", response_model=list[LevelRead])
def stock_levels(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return [LevelRead(item=ItemRead.model_validate(lv.item), on_hand=lv.on_hand)
            for lv in stock.stock_levels(session, principal, supermarket_id)]


@router.get("/supermarkets/{supermarket_id}/stock/ledger", response_model=LedgerPage)
def stock_ledger(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
                 item_id: uuid.UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Offset = 0) -> Any:
    rows, total = stock.stock_ledger(session, principal, supermarket_id, item_id=item_id, limit=limit,
                                     offset=offset)
    return LedgerPage(total=total, entries=[
        StockEntryRead(id=r.entry.id, item_id=r.entry.item_id, item_name=r.item_name, item_unit=r.item_unit,
                       at=r.entry.at, quantity=r.entry.quantity, kind=r.entry.kind, source_id=r.entry.source_id)
        for r in rows])


@router.post("/supermarkets/{supermarket_id}/donations", response_model=DonationRead, status_code=201)
def record_donation(supermarket_id: uuid.UUID, body: DonationCreate, principal: CurrentPrincipal,
                    session: DbSession, response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """A retried donation (the same idempotency key) answers 200 with the first one, recorded once."""
    donation, created = stock.record_donation(
        session, principal, supermarket_id, kind=body.kind, donor_name=body.donor_name, item_id=body.item_id,
        quantity=body.quantity, value_fen=body.value_fen, note=body.note, received_at=body.received_at,
        idempotency_key=body.idempotency_key or idempotency_key)
    if not created:
        response.status_code = 200
    return donation


@router.get("/supermarkets/{supermarket_id}/donations", response_model=list[DonationRead])
def list_donations(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0) -> Any:
    return [d for d, _ in stock.list_donations(session, principal, supermarket_id, limit=limit, offset=offset)]


@router.post("/supermarkets/{supermarket_id}/purchases", response_model=StockEntryRead, status_code=201)
def record_purchase(supermarket_id: uuid.UUID, body: PurchaseCreate, principal: CurrentPrincipal,
                    session: DbSession) -> Any:
    entry = stock.record_purchase(session, principal, supermarket_id, item_id=body.item_id, quantity=body.quantity)
    item = service.get_item(session, entry.district_code, entry.item_id)
    return StockEntryRead(id=entry.id, item_id=entry.item_id, item_name=item.name, item_unit=item.unit, at=entry.at,
                          quantity=entry.quantity, kind=entry.kind, source_id=entry.source_id)


@router.post("/supermarkets/{supermarket_id}/stocktakes", response_model=StocktakeRead, status_code=201)
def take_stock(supermarket_id: uuid.UUID, body: StocktakeCreate, principal: CurrentPrincipal,
               session: DbSession) -> Any:
    take, lines = stock.take_stock(session, principal, supermarket_id,
                                   [{"item_id": ln.item_id, "counted": ln.counted} for ln in body.lines],
                                   note=body.note)
    return StocktakeRead(id=take.id, taken_at=take.taken_at, note=take.note,
                         lines=[StocktakeLineRead.model_validate(ln) for ln in lines])


# Households and points at the counter.


@router.get("/supermarkets/{supermarket_id}/households", response_model=list[HouseholdRead])
def find_households(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
                    q: Annotated[str, search_query("the head's name or the household number")]) -> Any:
    supermarket = service.get_supermarket(session, principal, supermarket_id, desk=True)
    if registry_households.looks_personal(q):
        raise Invalid("ID numbers and phones are searched by POST …/households/search, never in a URL", field="q")
    cards = registry_households.find_households(session, supermarket.unit_code, q)
    return households_out(session, supermarket, cards)


@router.post("/supermarkets/{supermarket_id}/households/search", response_model=list[HouseholdRead])
def find_household_by_id_number(supermarket_id: uuid.UUID, body: IdNumberSearch, principal: CurrentPrincipal,
                                session: DbSession, response: Response) -> Any:
    response.headers.update(NO_STORE)
    supermarket = service.get_supermarket(session, principal, supermarket_id, desk=True)
    card = registry_households.look_up_household(session, principal, supermarket.unit_code, body.id_number,
                                                 purpose=service.COUNTER_PURPOSE)
    return households_out(session, supermarket, [card] if card else [])


@router.get("/supermarkets/{supermarket_id}/households/{household_id}", response_model=AccountRead)
def household_account(supermarket_id: uuid.UUID, household_id: uuid.UUID, principal: CurrentPrincipal,
                      session: DbSession) -> Any:
    _supermarket, card, account = points.get_account(session, principal, supermarket_id, household_id)
    return account_out(session, card, account)


@router.post("/supermarkets/{supermarket_id}/redemptions", response_model=ReceiptRead, status_code=201)
def redeem_points(supermarket_id: uuid.UUID, body: RedemptionCreate, principal: CurrentPrincipal,
                  session: DbSession, response: Response, idempotency_key: IdempotencyKey = None) -> Any:
    """Items for points, all or nothing: beyond stock (field "items") or points (field "points") is 409 and
    writes nothing. A resubmission with the same idempotency key answers 200 with the first receipt."""
    redemption, created = redeem.redeem(session, principal, supermarket_id, body.household_id,
                                        [{"item_id": ln.item_id, "quantity": ln.quantity} for ln in body.lines],
                                        idempotency_key=body.idempotency_key or idempotency_key)
    if not created:
        response.status_code = 200
    return receipt_out(redeem.get_receipt(session, principal, supermarket_id, redemption.id))


@router.get("/supermarkets/{supermarket_id}/redemptions/{redemption_id}", response_model=ReceiptRead)
def get_receipt(supermarket_id: uuid.UUID, redemption_id: uuid.UUID, principal: CurrentPrincipal,
                session: DbSession) -> Any:
    return receipt_out(redeem.get_receipt(session, principal, supermarket_id, redemption_id))


@router.get("/supermarkets/{supermarket_id}/issues", response_model=list[IssueRead])
def list_issues(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return points.list_runs(session, principal, supermarket_id)


@router.post("/supermarkets/{supermarket_id}/issues", response_model=IssueRead, status_code=201)
def issue_points(supermarket_id: uuid.UUID, body: IssueCreate, principal: CurrentPrincipal, session: DbSession,
                 response: Response) -> Any:
    """The month's points (the worker gives them on the 1st). Once per month: again answers 200 with the run."""
    run, created = points.issue_by_hand(session, principal, supermarket_id, body.month)
    if not created:
        response.status_code = 200
    return run


@router.post("/conversions", response_model=ConversionRead, status_code=201)
def convert_hours(body: ConversionCreate, principal: CurrentPrincipal, session: DbSession,
                  response: Response) -> Any:
    lot, created = points.convert_hours(session, principal, body.volunteer_id, body.hours,
                                        idempotency_key=body.idempotency_key)
    if not created:
        response.status_code = 200
    account = session.get(Account, (lot.district_code, lot.account_id))
    return ConversionRead(lot_id=lot.id, account_id=lot.account_id, household_id=account.household_id,
                          hours=points.converted_hours(lot), points=lot.points)


@router.post("/card", response_model=AccountRead)
def my_household(body: CardRequest, principal: CurrentPrincipal, session: DbSession, response: Response) -> Any:
    """A household's own balance, lots and history, for whoever holds its points card (printed on its receipts).
    The card is sent in the body, never in a URL."""
    response.headers.update(NO_STORE)
    account = points.account_by_card(session, body.card)
    card = registry_households.household_cards(session, account.district_code, [account.household_id])
    return account_out(session, card[account.household_id], account)


# Reports.


@router.get("/supermarkets/{supermarket_id}/report", response_model=ReportRead)
def report(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, start: date,
           end: date) -> Any:
    r = reports.reconcile(session, principal, supermarket_id, start, end)
    return ReportRead(
        supermarket_id=r.supermarket_id, name=r.name, start=r.start, end=r.end,
        stock=[StockLineRead(item_id=s.item_id, name=s.name, unit=s.unit, opening=s.opening, donated=s.donated,
                             purchased=s.purchased, received=s.received, given=s.given, adjusted=s.adjusted,
                             closing=s.closing, donations_received=s.donations_received,
                             redemptions_given=s.redemptions_given, balanced=s.balanced) for s in r.stock],
        points=PointsSummaryRead(**{k: getattr(r.points, k) for k in PointsSummaryRead.model_fields}),
        goods_donations=r.goods_donations, goods_value_fen=r.goods_value_fen, money_donations=r.money_donations,
        money_fen=r.money_fen, balanced=r.balanced)


@router.get("/supermarkets/{supermarket_id}/report.xlsx", response_class=Response)
def report_xlsx(supermarket_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, start: date,
                end: date) -> Response:
    r = reports.reconcile(session, principal, supermarket_id, start, end)
    name = f"慈善超市对账_{r.name}_{start.isoformat()}_{end.isoformat()}.xlsx"
    return Response(reports.export_report(r), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=charity-report.xlsx; filename*=UTF-8''{quote(name)}"})
