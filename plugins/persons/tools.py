"""Assistant tools of the persons plugin. Figures (visitors today, the returning share) are
metrics, answered by the metrics tool; what is not a figure, such as who the regulars of a
table are, is a tool here."""

from __future__ import annotations

from typing import Any

from assistant.tools import ToolContext, tool
from plugins.persons import history


@tool(
    permission="view_persons",
    examples=("who is this regular at table 5?", "who usually sits at table 3?"),
)
def table_regulars(ctx: ToolContext, table_number: int) -> dict[str, Any]:
    """The persons who sat at this table most often (by carts there): name, visits, last
    visit, favorite table and dishes."""
    ctx.context.require("view_order")
    return {
        "table_number": table_number,
        "regulars": history.table_regulars(ctx.session, ctx.context, table_number),
    }


TOOLS = (table_regulars,)
