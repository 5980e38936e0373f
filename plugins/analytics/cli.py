"""``nebulo analytics ...``: refit forecasts (for cron) and segment customers.

The plugin's modules are imported when a command runs: listing the commands imports none of
them (``rfm`` imports no library until its functions run)."""

from __future__ import annotations

import uuid

import click
from flask import current_app
from flask.cli import with_appcontext

from plugins.analytics import rfm


@click.group()
def analytics() -> None:
    """Sales forecasts and customer segments."""


def _project_session():
    return current_app.extensions["nebulo"].db.session_scope()


@analytics.command("refit")
@click.option("--project", "project_id", type=click.UUID, help="Refit this project's forecast.")
@click.option("--queue", "queued", is_flag=True, help="Hand the work to the job workers.")
@with_appcontext
def refit(project_id: uuid.UUID | None, queued: bool) -> None:
    """Refit one project's forecast, or (without --project) every stale one: run it from cron."""
    from core.jobs import enqueue
    from plugins.analytics import jobs, sales

    if project_id is None:
        if queued:
            click.echo(f"job {enqueue(jobs.refit_stale_forecasts)}")
            return
        with _project_session() as session:
            stale = sales.stale_projects(session)
        for stale_id in stale:
            _fit(stale_id)
        click.echo(f"{len(stale)} stale forecast(s) refitted")
        return
    if queued:
        click.echo(
            f"job {enqueue(jobs.fit_sales_forecast, str(project_id), project_id=project_id)}"
        )
        return
    fitted = _fit(project_id)
    days, mase = fitted["history"]["days"], fitted["backtest"]["mase"]
    click.echo(f"{fitted['model']} fitted on {days} days, backtest MASE {mase:.3f}")


def _fit(project_id: uuid.UUID) -> dict:
    from plugins.analytics import sales

    with _project_session() as session:
        row = sales.fit_sales_forecast(session, sales.system_context(project_id))
        return sales.describe(session, row)


@analytics.command("segment")
@click.option("--project", "project_id", type=click.UUID, required=True)
@click.option("--algorithm", type=click.Choice(rfm.ALGORITHMS), default="kmeans", show_default=True)
@click.option("--clusters", type=click.IntRange(rfm.K_RANGE.start, rfm.K_RANGE.stop - 1))
@with_appcontext
def segment(project_id: uuid.UUID, algorithm: str, clusters: int | None) -> None:
    """Segment the project's customers now and print the segments and scores."""
    from plugins.analytics import sales, segments

    with _project_session() as session:
        run = segments.run_segmentation(
            session, sales.system_context(project_id), algorithm, clusters
        )
        summary = segments.run_summary(session, run)
    for row in summary["segmentation"]:
        click.echo(f"{row['RFMCategory']:<28} {row['count']:>7} {row['total_revenue']:>14.2f}")
    evaluation = summary["evaluation"]
    click.echo(
        f"{algorithm}: {run.clusters} clusters, silhouette {evaluation['silhouette_score']}, "
        f"Davies-Bouldin {evaluation['davies_bouldin_index']}"
    )
