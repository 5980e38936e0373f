"""The analytics plugin's metrics: customers and revenue by RFM segment (of the project's
current segmentation run) and the stored forecast's revenue by day."""

from __future__ import annotations

from sqlalchemy import and_

from core.metrics import Dimension, Metric
from plugins.analytics.models import CustomerSegment, ForecastDay, SegmentRun
from plugins.analytics.rfm import SEGMENTS

runs = SegmentRun.__table__
members = CustomerSegment.__table__
days = ForecastDay.__table__
current_members = members.join(
    runs, and_(runs.c.id == members.c.run_id, runs.c.project_id == members.c.project_id)
)
SEGMENT_SOURCE = {
    "permission": "view_segments",
    "source": current_members,
    "project_column": members.c.project_id,
    "condition": runs.c.is_current.is_(True),
    "dimensions": (
        Dimension(
            "segment", "RFM segment", members.c.segment, values=SEGMENTS, words=("rfm", "group")
        ),
        Dimension("cluster", "Cluster", members.c.cluster),
    ),
}

METRICS = (
    Metric(
        name="segment_customers",
        label="Customers in segment",
        unit="count",
        measure="count",
        description="Customers of the latest segmentation; by RFM segment or cluster",
        words=("customers by segment", "champions", "at risk", "loyal customers", "segments"),
        examples=("Customers by segment",),
        **SEGMENT_SOURCE,
    ),
    Metric(
        name="segment_revenue",
        label="Revenue by segment",
        unit="money",
        measure="sum",
        expression=members.c.monetary,
        description="Revenue of the segmented customers in the segment window; by segment",
        words=("segment revenue", "revenue of champions", "value of segments"),
        **SEGMENT_SOURCE,
    ),
    Metric(
        name="forecast_revenue",
        label="Forecast revenue",
        unit="money",
        measure="sum",
        expression=days.c.revenue,
        time_column=days.c.starts_at,
        permission="view_predictions",
        source=days,
        project_column=days.c.project_id,
        description="Revenue the stored sales forecast predicts, for the days after its history",
        words=("forecast", "predicted sales", "expected revenue", "projection"),
        examples=("Forecast revenue by week",),
    ),
)
