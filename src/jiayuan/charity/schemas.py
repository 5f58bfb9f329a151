"""Pydantic shapes of the charity supermarket's API. Input is typed (whole numbers strictly: "5" or true is not a
quantity); the rules on the values (ranges, lengths, NUL) stay in the services, which name the field and the
reason."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt


class _Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Supermarkets, items, rules.


class SupermarketCreate(BaseModel):
    unit_code: str = Field(description="the community (12 digits)")
    name: str
    address: str | None = None


class SupermarketUpdate(BaseModel):
    name: str | None = None
    address: str | None = None
    active: StrictBool | None = None


class SupermarketRead(_Orm):
    id: uuid.UUID
    unit_code: str
    name: str
    address: str | None
    active: bool


class ItemCreate(BaseModel):
    name: str
    unit: str = Field(description="袋, 瓶, 件 …")
    points: StrictInt = Field(description="its price in points, a whole number ≥ 1")
    category: str | None = None


class ItemUpdate(BaseModel):
    name: str | None = None
    unit: str | None = None
    points: StrictInt | None = None
    category: str | None = None
    active: StrictBool | None = None


class ItemRead(_Orm):
    id: uuid.UUID
    name: str
    unit: str
    points: int
    category: str | None
    active: bool


class RulePut(BaseModel):
    points: StrictInt = Field(description="points a month for a household with a member holding the tag")
    valid_months: StrictInt = Field(3, description="months the points stay valid, counting the month issued")
    active: StrictBool = True


class RuleRead(_Orm):
    tag: str
    points: int
    valid_months: int
    active: bool


# Stock.


class LevelRead(BaseModel):
    item: ItemRead
    on_hand: int


class StockEntryRead(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    item_name: str
    item_unit: str
    at: datetime
    quantity: int
    kind: str
    source_id: uuid.UUID | None


class LedgerPage(BaseModel):
    total: int
    entries: list[StockEntryRead]


class DonationCreate(BaseModel):
    kind: str = Field(description="goods or money")
    donor_name: str | None = Field(None, description="blank: 爱心人士 (anonymous)")
    item_id: uuid.UUID | None = None
    quantity: StrictInt | None = None
    value_fen: StrictInt = Field(0, description="the goods' value, or the money given, in fen")
    note: str | None = None
    received_at: datetime | None = None
    idempotency_key: str | None = Field(None, description="the same key again records the donation once "
                                                          "(also accepted as the Idempotency-Key header)")


class DonationRead(_Orm):
    id: uuid.UUID
    supermarket_id: uuid.UUID
    kind: str
    donor_name: str
    item_id: uuid.UUID | None
    quantity: int | None
    value_fen: int
    received_at: datetime
    note: str | None
    idempotency_key: str | None


class PurchaseCreate(BaseModel):
    item_id: uuid.UUID
    quantity: StrictInt


class CountLine(BaseModel):
    item_id: uuid.UUID
    counted: StrictInt


class StocktakeCreate(BaseModel):
    lines: list[CountLine]
    note: str | None = None


class StocktakeLineRead(_Orm):
    item_id: uuid.UUID
    expected: int
    counted: int


class StocktakeRead(BaseModel):
    id: uuid.UUID
    taken_at: datetime
    note: str | None
    lines: list[StocktakeLineRead]


# Households, points, redemptions.


class HouseholdRead(BaseModel):
    id: uuid.UUID
    number: str | None
    head_name: str | None
    address: str
    members: int
    grid_code: str
    balance: int = Field(description="points the household may spend today")


class IdNumberSearch(BaseModel):
    id_number: str = Field(description="a member's citizen ID number; sent in the body, never in a URL")


class LotRead(BaseModel):
    id: uuid.UUID
    kind: str
    points: int
    remaining: int
    at: datetime
    expires_on: date | None
    note: str | None
    valid: bool


class PointsEntryRead(_Orm):
    id: uuid.UUID
    at: datetime
    points: int
    kind: str
    lot_id: uuid.UUID
    expires_on: date | None
    source_type: str | None
    source_id: uuid.UUID | None
    note: str | None


class ReceiptLineRead(BaseModel):
    item_id: uuid.UUID
    name: str
    unit: str
    quantity: int
    points: int


class RedemptionSummary(BaseModel):
    id: uuid.UUID
    at: datetime
    points: int
    lines: list[ReceiptLineRead]


class AccountRead(BaseModel):
    household: HouseholdRead
    account_id: uuid.UUID | None
    balance: int
    ledger_balance: int = Field(description="the sum of every entry, lots past their last day included until "
                                            "the expiry writes them off")
    lots: list[LotRead]
    history: list[PointsEntryRead]
    redemptions: list[RedemptionSummary]


class RedeemLine(BaseModel):
    item_id: uuid.UUID
    quantity: StrictInt


class RedemptionCreate(BaseModel):
    household_id: uuid.UUID
    lines: list[RedeemLine]
    idempotency_key: str | None = Field(None, description="the same key again redeems once "
                                                          "(also accepted as the Idempotency-Key header)")


class ReceiptRead(BaseModel):
    id: uuid.UUID
    supermarket_id: uuid.UUID
    supermarket_name: str
    household: HouseholdRead
    at: datetime
    points: int
    lines: list[ReceiptLineRead]
    balance: int
    card: str = Field(description="the household's points card: with it a resident sees the balance")


class IssueCreate(BaseModel):
    month: date | None = Field(None, description="any day of the month; this month when left out")


class IssueRead(_Orm):
    id: uuid.UUID
    supermarket_id: uuid.UUID
    month: date
    ran_at: datetime
    households: int
    points: int


class ConversionCreate(BaseModel):
    volunteer_id: uuid.UUID
    hours: StrictInt = Field(description="whole hours of the volunteer's balance")
    idempotency_key: str | None = None


class ConversionRead(BaseModel):
    lot_id: uuid.UUID
    account_id: uuid.UUID
    household_id: uuid.UUID
    hours: int
    points: int


class CardRequest(BaseModel):
    card: str = Field(description="the points card printed on the household's receipts")


# Reports.


class StockLineRead(BaseModel):
    item_id: uuid.UUID
    name: str
    unit: str
    opening: int
    donated: int
    purchased: int
    received: int
    given: int
    adjusted: int
    closing: int
    donations_received: int
    redemptions_given: int
    balanced: bool


class PointsSummaryRead(BaseModel):
    opening: int
    issued: int
    converted: int
    spent: int
    expired: int
    adjusted: int
    closing: int
    balances: int
    accounts: int
    redemptions: int
    redemptions_points: int
    balanced: bool


class ReportRead(BaseModel):
    supermarket_id: uuid.UUID
    name: str
    start: date
    end: date
    stock: list[StockLineRead]
    points: PointsSummaryRead
    goods_donations: int
    goods_value_fen: int
    money_donations: int
    money_fen: int
    balanced: bool
