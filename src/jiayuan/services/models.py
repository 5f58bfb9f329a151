"""Tables of services (新服务), each kept by its sub-domain: catalogue (centre kinds, service items), centres
(8+X service centres), providers (member providers, 加盟企业), orders (12343 service orders and their offers) and
projects (special service projects, produce points). Importing this module registers them all on Base.metadata.
"""

from __future__ import annotations

from jiayuan.services.catalogue.models import CentreKind, ServiceItem
from jiayuan.services.centres.models import CentreException, CentreOpening, CentreSubsidy, ServiceCentre
from jiayuan.services.orders.models import (
    OFFER_STATUSES,
    ORDER_CHANNELS,
    ORDER_STATUSES,
    OrderEvent,
    OrderOffer,
    ServiceOrder,
)
from jiayuan.services.projects.models import ProducePoint, ProjectActivity, ProjectBeneficiary, ServiceProject
from jiayuan.services.providers.models import (
    PROVIDER_STATUSES,
    Provider,
    ProviderArea,
    ProviderEvent,
    ProviderItem,
    ProviderStaff,
)

__all__ = [
    "OFFER_STATUSES", "ORDER_CHANNELS", "ORDER_STATUSES", "PROVIDER_STATUSES", "CentreException", "CentreKind",
    "CentreOpening", "CentreSubsidy", "OrderEvent", "OrderOffer", "ProducePoint", "Provider", "ProviderArea",
    "ProviderEvent", "ProviderItem", "ProviderStaff", "ProjectActivity", "ProjectBeneficiary", "ServiceCentre",
    "ServiceItem", "ServiceOrder", "ServiceProject",
]
