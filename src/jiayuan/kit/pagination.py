"""Paging parameters of list endpoints, bounded so that no value reaches the database that it cannot hold.

An offset past 2**63 made SQLite raise OverflowError and PostgreSQL "bigint out of range": a 500 for a typo in a URL.
Nobody pages through ten million rows, so that is the bound, the same everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 10_000_000
MAX_PAGE = 1_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number of paginated result (from 1).")]
