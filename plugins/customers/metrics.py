"""The customers plugin's metrics: customers, new customers and churn risk by tier, and the
churn-risk predictions made (the risk dashboard's trend)."""

from __future__ import annotations

from core.metrics import Dimension, Metric
from plugins.customers.models import RISK_TIERS, Customer, RiskHistory

customers = Customer.__table__
risk_history = RiskHistory.__table__

CUSTOMER_DIMENSIONS = (
    Dimension(
        "risk_tier", "Churn risk tier", customers.c.risk_tier, values=RISK_TIERS, words=("risk",)
    ),
    Dimension("geography", "Geography", customers.c.geography, words=("country", "region")),
    Dimension("gender", "Gender", customers.c.gender),
)
CUSTOMER_SOURCE = {
    "permission": "view_customers",
    "source": customers,
    "project_column": customers.c.project_id,
    "dimensions": CUSTOMER_DIMENSIONS,
}

PREDICTION_SOURCE = {
    "permission": "view_predictions",
    "source": risk_history,
    "project_column": risk_history.c.project_id,
    "time_column": risk_history.c.timestamp,
}

METRICS = (
    Metric(
        name="customers",
        label="Customers",
        unit="count",
        measure="count",
        description="Customers on file now; by risk_tier for the churn-risk tiers",
        words=("customers", "clients", "customer base", "how many customers"),
        examples=("How many customers do we have?", "Customers by churn risk tier"),
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="new_customers",
        label="New customers",
        unit="count",
        measure="count",
        time_column=customers.c.created_at,
        description="Customers added in the period",
        words=("new customers", "sign-ups", "acquired customers", "first-time customers"),
        examples=("How many new customers did we get this month?",),
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="at_risk_customers",
        label="Customers at high churn risk",
        unit="count",
        measure="count",
        condition=customers.c.risk_tier == "high",
        description="Customers now in the high churn-risk tier",
        words=("at risk", "likely to churn", "about to leave", "high risk customers"),
        examples=("How many customers are at risk of churning?",),
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="average_churn_risk",
        label="Average churn risk",
        unit="percent",
        measure="ratio",
        numerator="churn_risk_points",
        denominator="scored_customers",
        description="Mean churn-risk score of the customers that have one, in percent",
        words=("average churn risk", "mean risk", "churn risk"),
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="churn_risk_points",
        label="Sum of churn-risk scores",
        unit="number",
        measure="sum",
        expression=customers.c.risk_score,
        description="The scores added up; the numerator of average_churn_risk",
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="scored_customers",
        label="Customers with a churn-risk score",
        unit="count",
        measure="count",
        expression=customers.c.risk_score,
        condition=customers.c.risk_score.is_not(None),
        words=("scored customers",),
        **CUSTOMER_SOURCE,
    ),
    Metric(
        name="risk_predictions",
        label="Churn-risk predictions",
        unit="count",
        measure="count",
        description="Churn-risk scores the model gave in the period, one per customer scored",
        words=("risk predictions", "churn predictions", "predictions made"),
        examples=("How many churn predictions were made this week?",),
        **PREDICTION_SOURCE,
    ),
    Metric(
        name="average_predicted_risk",
        label="Average predicted churn risk",
        unit="percent",
        measure="avg",
        expression=risk_history.c.score,
        description="Mean of the churn-risk scores predicted in the period, in percent",
        words=("risk trend", "average predicted risk", "predicted churn risk"),
        examples=("How did the predicted churn risk move by day this month?",),
        **PREDICTION_SOURCE,
    ),
)
