"""orders: each project's order count is kept beside its order numbers, by triggers on the
orders table, so that the busiest list reads its total instead of counting every order

SQLite drops a table's triggers when a batch migration recreates the table: a later migration
that does so on ``orders`` must create these triggers again.

Revision ID: 0004_orders_kept_count
Revises: 0003_orders_figures_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_orders_kept_count"
down_revision = "0003_orders_figures_index"
branch_labels = None
depends_on = None

POSTGRESQL_TRIGGERS = [
    # once per statement, over its transition table: an import of 10,000 orders updates the
    # counter row once, not 10,000 times
    """
    CREATE FUNCTION orders_keep_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO order_counters AS kept (project_id, last_number, order_count)
            SELECT project_id, 0, count(*) FROM changed_orders GROUP BY project_id
            ON CONFLICT (project_id) DO UPDATE SET order_count = kept.order_count + excluded.order_count;
        ELSE
            UPDATE order_counters AS kept SET order_count = kept.order_count - gone.orders
            FROM (SELECT project_id, count(*) AS orders FROM changed_orders GROUP BY project_id) AS gone
            WHERE kept.project_id = gone.project_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders
    REFERENCING NEW TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION orders_keep_count()
    """,
    """
    CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders
    REFERENCING OLD TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION orders_keep_count()
    """,
]
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER orders_counted_on_insert AFTER INSERT ON orders BEGIN
        INSERT OR IGNORE INTO order_counters (project_id, last_number, order_count)
        VALUES (NEW.project_id, 0, 0);
        UPDATE order_counters SET order_count = order_count + 1 WHERE project_id = NEW.project_id;
    END
    """,
    """
    CREATE TRIGGER orders_counted_on_delete AFTER DELETE ON orders BEGIN
        UPDATE order_counters SET order_count = order_count - 1 WHERE project_id = OLD.project_id;
    END
    """,
]
BACKFILL = [
    """
    INSERT INTO order_counters (project_id, last_number, order_count)
    SELECT project_id, max(number), 0 FROM orders
    WHERE project_id NOT IN (SELECT project_id FROM order_counters) GROUP BY project_id
    """,
    """
    UPDATE order_counters SET order_count =
        (SELECT count(*) FROM orders WHERE orders.project_id = order_counters.project_id)
    """,
]


def upgrade() -> None:
    with op.batch_alter_table("order_counters", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    triggers = POSTGRESQL_TRIGGERS if _on_postgresql() else SQLITE_TRIGGERS
    for statement in triggers + BACKFILL:  # the backfill last: it recounts what came meanwhile
        op.execute(statement)


def downgrade() -> None:
    for trigger in ("orders_counted_on_insert", "orders_counted_on_delete"):
        op.execute(f"DROP TRIGGER {trigger} ON orders" if _on_postgresql() else f"DROP TRIGGER {trigger}")
    if _on_postgresql():
        op.execute("DROP FUNCTION orders_keep_count()")
    with op.batch_alter_table("order_counters", schema=None) as batch_op:
        batch_op.drop_column("order_count")


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"
