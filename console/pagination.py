"""One way to page every console list: a total count, numbered pages, and links that keep the filters."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50
#: Six digits is far past any last page; longer numbers would overflow an OFFSET.
MAX_PAGE_DIGITS = 6


@dataclass(frozen=True)
class Page:
    """One page of a filtered list, and where it sits in the whole."""

    rows: list[Any]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the whole list takes (at least one, even when empty)."""
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_row(self) -> int:
        """The position of this page's first row in the whole list (0 when it is empty)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)

    def with_rows(self, rows: list[Any]) -> Page:
        """The same page holding other rows (e.g. each row with figures worked out)."""
        return replace(self, rows=rows)


def page_number(raw: str | None) -> int:
    """The page asked for in a query string; 1 for anything that is not a sane page number."""
    raw = (raw or "").strip()
    return max(1, int(raw)) if raw.isdigit() and len(raw) <= MAX_PAGE_DIGITS else 1


def paginate(session: Session, stmt: Select[Any], number: int, size: int = PAGE_SIZE) -> Page:
    """The ``number``-th page of ``stmt`` (which must be ordered) and the count of all its rows.

    A page past the end shows the last page rather than nothing.
    """
    total = int(
        session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    )
    number = min(max(1, number), max(1, math.ceil(total / size)))
    rows = list(session.scalars(stmt.offset((number - 1) * size).limit(size)))
    return Page(rows=rows, number=number, size=size, total=total)
