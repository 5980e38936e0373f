"""Migrations: every plugin's branch upgrades, matches the models and downgrades cleanly,
driven through the ``nebulo db`` commands."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from core import migrate
from core.app import create_app
from core.cli import cli
from core.db import Base
from core.testing import ApiClient
from tests.conftest import POSTGRES_URL


@pytest.fixture
def fresh_app(stack, tmp_path):
    """An app on an empty database of the stack's kind."""
    if stack.name == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'fresh.db'}", None
    else:
        schema = f"fresh_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

        def cleanup():
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    app = create_app(stack.settings(database_url=url))
    yield app
    app.extensions["nebulo"].db.dispose()
    if cleanup:
        cleanup()


def nebulo(app, *args: str):
    """Run a ``nebulo`` command against ``app``."""
    result = app.test_cli_runner().invoke(cli=cli, args=list(args))
    assert result.exit_code == 0, result.output
    return result


def table_names(app) -> set[str]:
    return set(sa.inspect(app.extensions["nebulo"].db.engine).get_table_names())


def test_upgrade_creates_every_models_table_and_matches_the_models(fresh_app):
    nebulo(fresh_app, "db", "upgrade")
    assert {table.name for table in Base.metadata.sorted_tables} <= table_names(fresh_app)
    with fresh_app.extensions["nebulo"].db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == [], "models and migrations disagree; add a migration"


def test_every_branch_reaches_its_head(fresh_app):
    nebulo(fresh_app, "db", "upgrade")
    with fresh_app.extensions["nebulo"].db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory.from_config(migrate.alembic_config(fresh_app))
    applied = {revision.revision for revision in script.iterate_revisions(current, "base")}
    assert set(migrate.heads(fresh_app)) <= applied
    branches = {label for revision in script.walk_revisions() for label in revision.branch_labels}
    assert {"core", "customers", "orders", "assistant", "messages"} <= branches


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(fresh_app):
    nebulo(fresh_app, "db", "upgrade")
    nebulo(fresh_app, "db", "downgrade", "base")
    assert table_names(fresh_app) <= {"alembic_version"}
    nebulo(fresh_app, "db", "upgrade")
    assert {table.name for table in Base.metadata.sorted_tables} <= table_names(fresh_app)


def test_upgrade_twice_changes_nothing(fresh_app):
    nebulo(fresh_app, "db", "upgrade")
    before = table_names(fresh_app)
    nebulo(fresh_app, "db", "upgrade")
    assert table_names(fresh_app) == before


def test_the_kept_order_count_is_backfilled_from_the_orders_already_stored(fresh_app):
    """Orders stored before migration 0004 (some inserted without any counter row) are
    counted when it runs; then its triggers keep the count."""
    nebulo(fresh_app, "db", "upgrade")
    api = ApiClient(fresh_app.test_client())
    client, headers = api.client, api.user_headers()
    orders = f"/api/v1/orders/{api.project(headers)['id']}"
    order = {"items": [{"name": "Tea", "quantity": 1, "price": 2}]}
    for _ in range(2):
        assert client.post(orders, json=order, headers=headers).status_code == 201
    nebulo(fresh_app, "db", "downgrade", "0003_orders_figures_index")
    engine = fresh_app.extensions["nebulo"].db.engine
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM order_counters"))
        connection.execute(
            sa.text(
                "INSERT INTO orders (id, project_id, number, provider, status, currency, total,"
                " refunded, is_test, order_date, created_at, updated_at)"
                " SELECT :id, project_id, 3, 'pos', 'paid', 'USD', 0, 0, false, order_date,"
                " created_at, updated_at FROM orders LIMIT 1"
            ),
            {"id": uuid.uuid4().hex if engine.dialect.name == "sqlite" else uuid.uuid4()},
        )
    nebulo(fresh_app, "db", "upgrade")

    def total() -> int:
        return json.loads(client.get(orders, headers=headers).headers["X-Pagination"])["total"]

    assert total() == 3
    assert client.post(orders, json=order, headers=headers).get_json()["number"] == 4
    assert total() == 4
