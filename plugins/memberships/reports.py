"""The memberships plugin's part of the performance report: members and their revenue."""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def report_sections(register):
    register(
        "performance",
        "memberships",
        "Memberships",
        figures=("new_memberships", "active_members", "member_revenue", "non_member_revenue"),
        tables=(
            {
                "name": "active_members_by_tier",
                "title": "Active members by tier",
                "metrics": ("active_members",),
                "group_by": ("tier",),
                "order": "-active_members",
                "chart": "arc",
            },
        ),
    )
