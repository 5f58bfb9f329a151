"""Every domain's tables, imported once so that Base.metadata is complete (Alembic, tests)."""

from jiayuan.accounts.models import AuditEntry, User
from jiayuan.cases.models import (
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    Open311Client,
    WorkCalendarDay,
    WorkCalendarYear,
)
from jiayuan.kit.cache import CacheVersion
from jiayuan.kit.db import Base
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.models import (
    Building,
    Compound,
    Household,
    Organization,
    Person,
    PersonMove,
    PersonTag,
    Room,
    Thing,
)
from jiayuan.services.models import (
    CentreException,
    CentreKind,
    CentreOpening,
    CentreSubsidy,
    OrderEvent,
    OrderOffer,
    ProducePoint,
    ProjectActivity,
    ProjectBeneficiary,
    Provider,
    ProviderArea,
    ProviderEvent,
    ProviderItem,
    ProviderStaff,
    ServiceCentre,
    ServiceItem,
    ServiceOrder,
    ServiceProject,
)
from jiayuan.units.models import GridMember, Unit

__all__ = [
    "AuditEntry", "Base", "Building", "Compound", "Household", "Organization", "Person", "PersonMove", "PersonTag",
    "Room", "Thing", "CacheVersion", "Case", "CaseEvent", "CasePhoto", "Category", "GridMember",
    "Open311Client", "OutboxMessage", "Unit", "User", "WorkCalendarDay", "WorkCalendarYear",
    "CentreException", "CentreKind", "CentreOpening", "CentreSubsidy", "OrderEvent", "OrderOffer", "ProducePoint",
    "ProjectActivity", "ProjectBeneficiary", "Provider", "ProviderArea", "ProviderEvent", "ProviderItem",
    "ProviderStaff", "ServiceCentre", "ServiceItem", "ServiceOrder", "ServiceProject",
]
