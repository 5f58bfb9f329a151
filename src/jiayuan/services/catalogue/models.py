"""Tables of the service catalogue: centre kinds (8+X) and service items, reference data shared by every district."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, Reference, Timestamped


class CentreKind(Reference, Base):
    """A kind of service centre: the 8 standard kinds every street runs, and local "X" kinds."""

    __tablename__ = "service_centre_kinds"

    code: Mapped[str] = mapped_column(String(24), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    standard: Mapped[bool] = mapped_column(Boolean, default=False)  # one of the 8; False for an X kind
    sort: Mapped[int] = mapped_column(Integer, default=0)


class ServiceItem(Reference, Timestamped, Base):
    """An entry of the two-level service catalogue (服务项目): 2-digit groups, 4-digit items."""

    __tablename__ = "service_items"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(100))
    unit_zh: Mapped[str | None] = mapped_column(String(10))  # 次, 小时, 份, 平方米 …
    unit_en: Mapped[str | None] = mapped_column(String(20))
    price_min_fen: Mapped[int | None] = mapped_column(Integer)
    price_max_fen: Mapped[int | None] = mapped_column(Integer)
    # Free or low-cost public-welfare service (公益服务), priced at most price_max_fen.
    public_welfare: Mapped[bool] = mapped_column(Boolean, default=False)
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    hours: Mapped[str | None] = mapped_column(String(40))  # when not round the clock, e.g. "08:00-20:00"
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
