"""The customers plugin's part of the demo project."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session

from core.db import utcnow
from plugins.customers.models import Customer
from plugins.customers.predictions import predict_customers
from plugins.customers.training import train_churn_model

DEMO_CUSTOMERS = 600


def load_demo_customers(session: Session, project_id: uuid.UUID) -> None:
    """A few hundred labelled customers, a first trained model and their current risk."""
    from plugins.customers.synthetic import generate_customers

    now, days = utcnow(), random.Random(7)
    session.add_all(
        # joined as long ago as their tenure (whole years) says, so "new customers" has a history
        Customer(
            project_id=project_id,
            created_at=now - timedelta(days=365 * values["tenure"] + days.randrange(365)),
            **values,
        )
        for values in generate_customers(DEMO_CUSTOMERS)
    )
    session.flush()
    train_churn_model(session, project_id)
    predict_customers(session, project_id)
