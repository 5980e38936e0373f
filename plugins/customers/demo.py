"""The customers plugin's part of the demo project."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from plugins.customers.models import Customer
from plugins.customers.predictions import predict_customers
from plugins.customers.training import train_churn_model

DEMO_CUSTOMERS = 600


def load_demo_customers(session: Session, project_id: uuid.UUID) -> None:
    """A few hundred labelled customers, a first trained model and their current risk."""
    from plugins.customers.synthetic import generate_customers

    session.add_all(
        Customer(project_id=project_id, **values) for values in generate_customers(DEMO_CUSTOMERS)
    )
    session.flush()
    train_churn_model(session, project_id)
    predict_customers(session, project_id)
