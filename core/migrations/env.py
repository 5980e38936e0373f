"""Alembic environment: one history, with a version branch per plugin.

Run through ``nebulo db upgrade`` (it passes the app's engine); the core tables live in
``migrations/versions`` and each plugin keeps its branch in its own package.
"""

from alembic import context

from core.db import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # `nebulo db revision --plugin` limits autogenerate to that plugin's tables.
    include_object=config.attributes.get("include_object"),
)
with context.begin_transaction():
    context.run_migrations()
