"""Paging a select: a list of rows plus the ``X-Pagination`` header of API-MAP."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import g
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session


def paginate(session: Session, statement: Select, args: dict[str, Any]) -> list[Any]:
    """Entities (first column) of one page of ``statement``; see :func:`paginate_rows`."""
    return [row[0] for row in paginate_rows(session, statement, args)]


def paginate_rows(session: Session, statement: Select, args: dict[str, Any]) -> list[Row]:
    """Rows of one page of ``statement``; ``limit``/``offset`` win over ``page``/``page_size``.

    The total comes in the same statement as the page, as an uncorrelated scalar subquery
    (the database counts once, with the cheapest plan for a count): one round trip instead of
    two. Only a page past the end, which has no row to carry it, counts apart. The header is
    set on the response by ``core.app``.
    """
    if "limit" in args or "offset" in args:
        page_size = args.get("limit", args.get("page_size", 50))
        offset = args.get("offset", 0)
        page = offset // page_size + 1
    else:
        page_size = args.get("page_size", 50)
        page = args.get("page", 1)
        offset = (page - 1) * page_size
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    counted_page = statement.add_columns(count.scalar_subquery().label("_page_total"))
    rows = session.execute(counted_page.limit(page_size).offset(offset)).all()
    if rows:
        total = rows[0][-1]
    elif offset:
        total = session.scalar(count)
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
