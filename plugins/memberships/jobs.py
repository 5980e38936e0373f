"""Background jobs of the memberships plugin."""

from __future__ import annotations

from core.jobs import JobRun
from plugins.memberships import services


def expire_memberships(run: JobRun) -> dict[str, int]:
    """Daily: mark the memberships whose end has passed as expired (``membership.expired``).
    Idempotent, so running it twice a day or after a missed day is harmless."""
    with run.session() as session:
        return {"expired": services.expire_memberships(session)}
