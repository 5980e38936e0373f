"""Assistant tools: memberships of customers, answered through the services."""

from __future__ import annotations

from typing import Any

from assistant.tools import ToolContext, tool
from core.errors import Invalid
from plugins.memberships import services


@tool(
    permission="view_memberships",
    examples=(
        "which tier is Ana in?",
        "what membership does Carlos have?",
        "is Maria a member, and until when?",
    ),
)
def customer_membership_tier(ctx: ToolContext, customer_name: str) -> dict[str, Any]:
    """The membership tier today of the customer with this name (and when it ends). When
    several customers match, returns ``candidates`` to ask which one is meant."""
    return services.customer_tier(ctx.session, ctx.context, customer_name)


@tool(
    permission="view_memberships",
    examples=("how many gold members?", "count of active members in each tier"),
)
def members_by_tier(ctx: ToolContext, tier: str | None = None) -> dict[str, Any]:
    """How many customers hold an active membership today, per tier; with ``tier`` (e.g.
    gold) also that tier's count."""
    by_tier = services.active_members_by_tier(ctx.session, ctx.context)
    answer: dict[str, Any] = {"by_tier": by_tier, "total": sum(by_tier.values())}
    if tier is not None:
        wanted = tier.strip().lower()
        if wanted not in by_tier:
            raise Invalid(errors={"tier": [f"Unknown tier {tier!r}; one of: {', '.join(by_tier)}"]})
        answer |= {"tier": wanted, "members": by_tier[wanted]}
    return answer
