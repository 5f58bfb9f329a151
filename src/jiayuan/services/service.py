"""The services domain as other domains and the entry points call it: each sub-domain's use cases (the 8+X centres,
the catalogue, member providers, 12343 service orders, special projects and the HSDS feed), one module each, and
the domain's part of erasing a person (erasure.py)."""

from __future__ import annotations

from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.centres import service as centres
from jiayuan.services.erasure import erase_person
from jiayuan.services.hsds import service as hsds
from jiayuan.services.orders import service as orders
from jiayuan.services.projects import service as projects
from jiayuan.services.providers import service as providers

__all__ = ["catalogue", "centres", "erase_person", "hsds", "orders", "projects", "providers"]
