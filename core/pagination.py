"""Paging a select: a list of rows plus the ``X-Pagination`` header of API-MAP."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import g
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def paginate(session: Session, statement: Select, args: dict[str, Any]) -> list[Any]:
    """Rows of one page of ``statement``; ``limit``/``offset`` win over ``page``/``page_size``.

    The total is counted in SQL and the header is set on the response by ``core.app``.
    """
    if "limit" in args or "offset" in args:
        page_size = args.get("limit", args.get("page_size", 50))
        offset = args.get("offset", 0)
        page = offset // page_size + 1
    else:
        page_size = args.get("page_size", 50)
        page = args.get("page", 1)
        offset = (page - 1) * page_size
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = list(session.scalars(statement.limit(page_size).offset(offset)))
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
    return rows


def add_pagination_header(response: Any) -> Any:
    pagination = g.pop("pagination", None)
    if pagination is not None:
        response.headers["X-Pagination"] = json.dumps(pagination)
    return response
