"""Every domain's tables, imported once so that Base.metadata is complete (Alembic, tests)."""

from jiayuan.accounts import models as accounts  # noqa: F401
from jiayuan.activities import models as activities  # noqa: F401
from jiayuan.care import models as care  # noqa: F401
from jiayuan.cases import models as cases  # noqa: F401
from jiayuan.charity import models as charity  # noqa: F401
from jiayuan.kit import cache  # noqa: F401 - the cache versions table
from jiayuan.kit import throttle  # noqa: F401 - the attempt counters
from jiayuan.kit.db import Base
from jiayuan.notify import models as notify  # noqa: F401
from jiayuan.registry import models as registry  # noqa: F401
from jiayuan.services import models as services  # noqa: F401
from jiayuan.units import models as units  # noqa: F401
from jiayuan.volunteers import models as volunteers  # noqa: F401

__all__ = ["Base"]
