"""Background jobs of the persons plugin."""

from __future__ import annotations

from typing import Any

from core.jobs import JobRun
from plugins.persons import services


def purge_expired_biometrics(run: JobRun) -> dict[str, Any]:
    """The daily retention job: erase face vectors and images older than the retention period
    and prune the gallery's old change log (``nebulo persons purge-biometrics`` enqueues it;
    run it daily from cron)."""
    with run.session() as session:
        erased = services.purge_expired_biometrics(session)
        pruned = services.prune_gallery_changes(session)
        session.commit()
        return {"erased": erased, "pruned_changes": pruned}
