"""Paging and search parameters of list endpoints, bounded so that no value reaches the database that it cannot
hold, and no search term longer than kit.text.MAX_SEARCH_TERM.

An offset past 2**63 made SQLite raise OverflowError and PostgreSQL "bigint out of range": a 500 for a typo in a URL.
Nobody pages through ten million rows, so that is the bound, the same everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from jiayuan.kit.text import MAX_SEARCH_TERM

MAX_OFFSET = 10_000_000
MAX_PAGE = 1_000_000

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number of paginated result (from 1).")]


def search_query(description: str = "words to search for") -> Any:
    """A search term in the query string: at most MAX_SEARCH_TERM characters, else a 422 naming the parameter.
    The services check it again (kit.text.search_term) for the pages and the command line."""
    return Query(max_length=MAX_SEARCH_TERM, description=f"{description} (at most {MAX_SEARCH_TERM} characters)")


Search = Annotated[str | None, search_query()]
