"""Pydantic pieces every sub-domain of services shares: read models built from rows, a week of opening hours and a
coordinate as request types."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from jiayuan.kit.numbers import StrictFinite

# A week of opening hours: ISO weekday → [start, end] pairs of local times.
Week = dict[str, list[list[str]]]
# A coordinate: a finite number (WGS-84 degrees), never a flag, text, NaN or an infinity.
Coordinate = StrictFinite
HOURS_DESCRIPTION = ('ISO weekday "1" (Monday) to "7" → [["08:30", "12:00"], ["14:00", "17:30"]]; '
                     "a missing or empty weekday is closed")


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)
