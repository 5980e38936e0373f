"""``nebulo orders ...``: import orders from CSV.

The plugin's modules are imported when a command runs: listing the commands imports none of
them."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

IMPORT_COLUMNS = (
    "external_id, provider, order_date, status, customer_name, customer_email, customer_phone, "
    "currency, product_name, sku, quantity, unit_price"
)


@click.group(cls=AppGroup)
def orders() -> None:
    """Orders: import from CSV."""


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, row


@orders.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--project", "project_id", required=True, type=click.UUID, help="project to import into"
)
def import_command(csv_file: Path, project_id: uuid.UUID) -> None:
    """Import orders from CSV_FILE, one item per line; lines sharing external_id form one order.

    Columns: external_id, provider, order_date, status, customer_name, customer_email,
    customer_phone, currency, product_name, sku, quantity, unit_price. Bad lines are reported
    by line number; every good order is kept.
    """
    from core.context import Context
    from core.projects.models import Project
    from plugins.orders import importing

    state = current_app.extensions["nebulo"]

    with state.db.session_scope() as session:
        if session.get(Project, project_id) is None:
            raise click.ClickException(f"project {project_id} does not exist")
        ctx = Context(
            project_id=project_id, permissions=frozenset(state.registry.permissions), role="owner"
        )
        rows = list(_rows(csv_file))
        with click.progressbar(length=len(rows), label=f"Importing {csv_file.name}") as bar:
            report = importing.import_orders(session, ctx, rows, progress=bar.update)
    for line, problem in report.errors:
        click.echo(f"line {line}: {problem}", err=True)
    click.echo(
        f"imported {report.orders} orders ({report.items} items); "
        f"{len(report.errors)} lines rejected"
    )
