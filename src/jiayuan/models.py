"""Every domain's tables, imported once so that Base.metadata is complete (Alembic, tests)."""

from jiayuan.accounts.models import AuditEntry, User
from jiayuan.kit.db import Base
from jiayuan.units.models import CacheVersion, GridMember, Unit

__all__ = ["AuditEntry", "Base", "CacheVersion", "GridMember", "Unit", "User"]
