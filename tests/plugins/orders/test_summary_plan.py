"""SQLite's plan for the orders summary: one SELECT (the metrics engine answers its two
queries together) reading one range of the ``(project_id, order_date, ...)`` index, never a
walk of all the project's rows through ``(project_id, status, order_date)`` (seconds instead
of milliseconds at a million orders).

The statement checked is the one ``order_summary`` really sends, captured on the engine, and
it is explained with the very parameters it was sent with."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event

from core import migrate
from core.app import create_app
from core.config import load_settings
from core.context import Context
from core.projects.models import Project
from core.testing import TEST_SETTINGS
from plugins.orders import statistics

ORDERS = 20_000
FILL = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < :count)
INSERT INTO orders (id, project_id, number, provider, status, customer_name, currency, total,
                    refunded, is_test, order_date, created_at, updated_at)
SELECT lower(hex(randomblob(16))), :pid, n, 'pos',
       CASE n % 5 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'paid' ELSE 'fulfilled' END,
       'Customer ' || (n % 50), 'USD', n % 200, 0, false,
       strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (n * 1577) || ' seconds'),
       strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now')
FROM seq"""
GOOD_INDEX = "ix_orders_project_id_order_date"
WALKING_INDEX = "ix_orders_project_id_status_order_date"


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    """An app on its own SQLite file with a year of orders in one project."""
    path = tmp_path_factory.mktemp("plan") / "plan.db"
    app = create_app(load_settings({}, **{**TEST_SETTINGS, "database_url": f"sqlite:///{path}"}))
    migrate.upgrade(app)
    db = app.extensions["nebulo"].db
    project_id = uuid.uuid4()
    with db.session_scope() as session:
        session.add(Project(id=project_id, name="Plan"))
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            FILL.replace(":count", str(ORDERS)).replace(":pid", f"'{project_id.hex}'")
        )
    yield app, project_id
    app.extensions["nebulo"].jobs.stop()
    db.dispose()


def summary_plan(app, project_id: uuid.UUID) -> list[str]:
    """EXPLAIN QUERY PLAN of the one statement over orders ``order_summary`` sends, with its
    parameters."""
    db = app.extensions["nebulo"].db
    sent: list[tuple[str, tuple]] = []

    def capture(_connection, _cursor, statement, parameters, _context, _many):
        if "FROM orders" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with app.app_context(), db.session_scope() as session:
            ctx = Context(project_id=project_id, permissions=frozenset({"view_order"}))
            summary = statistics.order_summary(session, ctx, days=30)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert summary["total_orders"] > 0
    [(statement, parameters)] = sent
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [row[-1] for row in rows]


@pytest.mark.parametrize("statistics", ["without statistics", "after ANALYZE"])
def test_the_30_day_summary_reads_one_range_of_the_date_index(sqlite_store, statistics):
    app, project_id = sqlite_store
    if statistics == "after ANALYZE":
        with app.extensions["nebulo"].db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    plan = summary_plan(app, project_id)
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert searches == [
        f"SEARCH orders USING INDEX {GOOD_INDEX} (project_id=? AND order_date>? AND order_date<?)"
    ], plan
    assert not any(WALKING_INDEX in step for step in plan)
