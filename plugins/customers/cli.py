"""``nebulo customers import FILE.csv --project ID``: customers from a CSV file.

The plugin's modules are imported when a command runs: listing the commands imports none of
them."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

BANK_CHURN_NAMES = {
    "CreditScore": "credit_score",
    "Geography": "geography",
    "Gender": "gender",
    "Age": "age",
    "Tenure": "tenure",
    "Balance": "balance",
    "NumOfProducts": "products",
    "HasCrCard": "credit_card",
    "IsActiveMember": "active",
    "EstimatedSalary": "salary",
    "Exited": "churned",
}
NAME_SOURCES = ("Surname", "CustomerId", "RowNumber")
"""Bank-churn columns that only help to name a customer when the file has no ``name``."""
INTEGER_FIELDS = ("age", "tenure", "products", "credit_score")
INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")


def customer_values(raw: dict[str, str], line: int, known: frozenset[str]) -> dict[str, Any]:
    """One CSV row in Nebulo's field names: bank-churn names mapped, empty cells left out,
    columns not ``known`` ignored, whole numbers as integers (anything else is left for the
    schema to reject)."""
    values: dict[str, Any] = {}
    for column, cell in raw.items():
        column = (column or "").strip()
        if column in NAME_SOURCES or column not in known:
            continue
        name = BANK_CHURN_NAMES.get(column, column)
        text = (cell or "").strip()
        if text == "":
            continue
        if name in INTEGER_FIELDS and INTEGER.match(text):
            values[name] = int(float(text))
        else:
            values[name] = text
    if "name" not in values:
        surname = (raw.get("Surname") or "").strip()
        number = (raw.get("CustomerId") or "").strip()
        values["name"] = " ".join(part for part in (surname, number) if part) or f"Customer {line}"
    return values


def _rows(
    reader: csv.DictReader, bar: Any, known: frozenset[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    for raw in reader:
        line = reader.line_num
        bar.update(1)
        yield line, customer_values(raw, line, known)


@click.group("customers")
def customers() -> None:
    """Customers and their churn risk."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", required=True, type=click.UUID, help="Project id")
@with_appcontext
def import_customers(file: Path, project_id: uuid.UUID) -> None:
    """Import customers from FILE.csv: the bank-churn layout (CreditScore, Geography, Gender,
    Age, Tenure, Balance, NumOfProducts, HasCrCard, IsActiveMember, EstimatedSalary, Exited)
    or Nebulo's own column names. Bad rows are reported by line; good rows are kept."""
    from core.context import Context
    from core.projects.models import Project
    from plugins.customers import services
    from plugins.customers.schemas import CustomerInputSchema

    schema = CustomerInputSchema()
    known = frozenset(schema.fields) | frozenset(BANK_CHURN_NAMES) | frozenset(NAME_SOURCES)
    with file.open(newline="", encoding="utf-8-sig") as handle:
        total = max(0, sum(1 for _ in handle) - 1)
        handle.seek(0)
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise click.ClickException(f"{file} is empty: expected a header row")
        ignored = [name for name in reader.fieldnames if name.strip() not in known]
        if ignored:
            click.echo(f"Ignoring unknown columns: {', '.join(ignored)}")
        with current_app.extensions["nebulo"].db.session_scope() as session:
            if session.get(Project, project_id) is None:
                raise click.ClickException(f"Project {project_id} not found")
            ctx = Context(project_id=project_id, permissions=frozenset({"manage_customers"}))
            with click.progressbar(length=total, label="Importing customers") as bar:
                report = services.import_customers(
                    session, ctx, _rows(reader, bar, known), schema.load
                )
    for line, errors in report.errors:
        problems = "; ".join(
            f"{name}: {' '.join(map(str, messages))}" for name, messages in errors.items()
        )
        click.echo(f"line {line}: {problems}", err=True)
    click.echo(f"Imported {report.created} customer(s); {len(report.errors)} row(s) rejected.")
