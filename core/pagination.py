"""Paging a select: a list of rows plus the ``X-Pagination`` header of API-MAP."""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from flask import g
from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.orm import Session


class CountedPage(NamedTuple):
    """A select made ready for paging by :func:`counted_page`."""

    page: Select
    """One page of the rows (parameters ``page_limit`` and ``page_offset``), each row with
    the total as its last column."""
    count: Select
    """The total alone, for a page past the end, which has no row to carry it."""


def counted_page(
    statement: Select, counted: Select | None = None, *, total: Select | None = None
) -> CountedPage:
    """The page and count selects of ``statement``; ``counted``: the same rows without
    ``statement``'s costly columns, to count instead (a shorter statement to plan); ``total``:
    a select of the number of rows itself, where it is kept rather than counted.

    The total comes in the same statement as the page, as an uncorrelated scalar subquery
    (the database counts once, with the cheapest plan for a count): one round trip instead of
    two. Built with named parameters, a counted page can be built once and run for any page.
    """
    if total is not None:
        count = total
    else:
        counted = statement if counted is None else counted
        count = select(func.count()).select_from(counted.order_by(None).subquery())
    page = statement.add_columns(count.scalar_subquery().label("_page_total"))
    return CountedPage(page.limit(bindparam("page_limit")).offset(bindparam("page_offset")), count)


def paginate(session: Session, statement: Select, args: dict[str, Any]) -> list[Any]:
    """Entities (first column) of one page of ``statement``; see :func:`paginate_rows`."""
    return [row[0] for row in paginate_rows(session, statement, args)]


def paginate_rows(
    session: Session, statement: Select, args: dict[str, Any], *, counted: Select | None = None
) -> list[Row]:
    """Rows of one page of ``statement``; ``limit``/``offset`` win over ``page``/``page_size``.
    See :func:`counted_page` and :func:`page_rows`."""
    return page_rows(session, counted_page(statement, counted), args)


def page_rows(
    session: Session,
    counted: CountedPage,
    args: dict[str, Any],
    parameters: dict[str, Any] | None = None,
) -> list[Row]:
    """Rows of the page of ``counted`` that ``args`` ask for, run with ``parameters``; sets
    the ``X-Pagination`` header, which ``core.app`` puts on the response."""
    if "limit" in args or "offset" in args:
        page_size = args.get("limit", args.get("page_size", 50))
        offset = args.get("offset", 0)
        page = offset // page_size + 1
    else:
        page_size = args.get("page_size", 50)
        page = args.get("page", 1)
        offset = (page - 1) * page_size
    parameters = parameters or {}
    window = {**parameters, "page_limit": page_size, "page_offset": offset}
    rows = session.execute(counted.page, window).all()
    if rows:
        total = rows[0][-1]
    elif offset:
        total = session.scalar(counted.count, parameters)
    else:
        total = 0
    total_pages = max(1, math.ceil(total / page_size))
    g.pagination = {
        "total": total,
        "total_pages": total_pages,
        "page": page,
        "page_size": page_size,
        "offset": offset,
        "next_page": page + 1 if page < total_pages else None,
        "previous_page": page - 1 if page > 1 else None,
    }
    return [row[:-1] for row in rows]


def add_pagination_header(response: Any) -> Any:
    pagination = g.pop("pagination", None)
    if pagination is not None:
        response.headers["X-Pagination"] = json.dumps(pagination)
    return response
