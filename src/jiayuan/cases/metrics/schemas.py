"""Shapes of the case metrics in the API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from jiayuan.cases.metrics.service import ALL_KEY, MAX_POINTS, NONE_KEY


class MetricsRow(BaseModel):
    key: str = Field(description=f"unit code, department account or user id; {NONE_KEY} for the group "
                                 f"without one, {ALL_KEY} for the totals")
    name: str
    reported: int
    voided: int
    valid: int
    registered: int
    due_to_handle: int
    handled_on_time: int
    due_to_close: int
    closed: int
    closed_on_time: int
    handled: int
    rework: int
    rated: int
    satisfied: int
    fairly_satisfied: int
    dissatisfied: int
    responded: int
    handling_timed: int
    registration_rate: float | None = Field(description="registered / valid; null when valid is 0")
    handled_on_time_rate: float | None = Field(description="handled_on_time / due_to_handle")
    closure_rate: float | None = Field(description="closed / due_to_close")
    closed_on_time_rate: float | None = Field(description="closed_on_time / due_to_close")
    rework_rate: float | None = Field(description="rework / handled")
    satisfaction_rate: float | None = Field(description="(satisfied + fairly_satisfied) / rated")
    mean_response_hours: float | None = Field(description="mean working hours from report to acceptance")
    mean_handling_hours: float | None = Field(description="mean working hours from dispatch to handling")


class MetricsReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    by: str
    generated_at: datetime
    rows: list[MetricsRow]
    totals: MetricsRow


class CasesBehind(BaseModel):
    figure: str
    key: str
    total: int
    limit: int
    offset: int
    numbers: list[str]


class MapPoints(BaseModel):
    fields: list[str] = Field(description="the meaning of each point's items")
    points: list[tuple[str, float, float, str]]
    truncated: bool = Field(description=f"more than {MAX_POINTS} located cases; the newest are shown")
