"""Demo data: one project, its admin, and each plugin's share through ``load_demo``."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from core.auth.models import User
from core.auth.services import register_user
from core.projects.models import Project
from core.projects.services import create_project

DEMO_PROJECT = "Demo Store"


class DemoRefusedInProduction(RuntimeError):
    """The demo adds an admin whose password is published: not on a production server by
    accident."""


def load_demo_data(app: Flask, email: str, password: str, *, force: bool = False) -> bool:
    """Create the demo project once; False when it is already there (its data is kept).

    Production refuses unless ``force``: the demo admin's password is in the README.
    """
    state = app.extensions["nebulo"]
    if state.settings.is_production and not force:
        raise DemoRefusedInProduction(
            f"NEBULO_ENV=production: the demo would add the admin {email} with a published "
            "password and made-up orders to this database. Use --force to load it anyway."
        )
    with state.db.session_scope() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and session.scalar(select(Project).where(Project.name == DEMO_PROJECT)):
            return False
        if user is None:
            user = register_user(
                session, email=email, password=password, name="Demo Admin", username="admin"
            )
        project = create_project(
            session,
            user.id,
            {"name": DEMO_PROJECT, "description": "A store with a year of history"},
        )
        session.flush()
        for impl in state.plugins.in_order("load_demo"):
            state.plugins.call("load_demo", impl, project=project, session=session)
            session.flush()
    return True
