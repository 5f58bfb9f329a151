"""Who keeps the service catalogue's reference data: the district adds local "X" kinds of centre; anyone may read
the catalogue and the kinds."""

from __future__ import annotations

from jiayuan.accounts.roles import DISTRICT_ADMINS

# Add kinds of centre: the district administrator (who also grants the centres' subsidies).
KIND_KEEPERS = DISTRICT_ADMINS
