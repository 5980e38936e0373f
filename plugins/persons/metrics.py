"""The persons plugin's metrics over ``person_visits``: visits, unique visitors, returning
visitors and their rate, by gender, age band, emotion and body type (hour and weekday are
the engine's own time grains), all in the project's time zone."""

from __future__ import annotations

from sqlalchemy import case

from core.metrics import Dimension, Metric
from plugins.persons.models import Visit

visits = Visit.__table__

AGE_BANDS = ("0-17", "18-30", "31-50", "51+")
AGE_BAND = case(
    (visits.c.age.is_(None), None),
    (visits.c.age < 18, "0-17"),
    (visits.c.age <= 30, "18-30"),
    (visits.c.age <= 50, "31-50"),
    else_="51+",
)

VISIT_SOURCE = {
    "permission": "view_persons",
    "source": visits,
    "project_column": visits.c.project_id,
    "time_column": visits.c.entry_time,
    "dimensions": (
        Dimension("gender", "Gender", visits.c.gender, words=("sex",)),
        Dimension("age_band", "Age band", AGE_BAND, values=AGE_BANDS, words=("age group",)),
        Dimension("emotion", "Emotion", visits.c.emotion, words=("mood",)),
        Dimension("body_type", "Body type", visits.c.body_type, words=("build",)),
    ),
}

METRICS = (
    Metric(
        name="visits",
        label="Visits",
        unit="count",
        measure="count",
        description="Detections of visitors by the cameras, new and returning",
        words=("visits", "footfall", "detections"),
        examples=("How many visits did the cameras count last week?",),
        **VISIT_SOURCE,
    ),
    Metric(
        name="unique_visitors",
        label="Unique visitors",
        unit="count",
        measure="count_distinct",
        expression=visits.c.person_id,
        description="Different persons seen",
        words=("visitors", "unique visitors", "people seen", "guests"),
        examples=("How many different people came in on Saturday?", "how many visitors today?"),
        **VISIT_SOURCE,
    ),
    Metric(
        name="returning_visitors",
        label="Returning visitors",
        unit="count",
        measure="count_distinct",
        expression=visits.c.person_id,
        condition=visits.c.is_returning.is_(True),
        description="Different persons seen who had been seen before",
        words=("returning visitors", "regulars", "came back"),
        examples=("How many regulars showed up this week?",),
        **VISIT_SOURCE,
    ),
    Metric(
        name="returning_visitor_rate",
        label="Returning-visitor rate",
        unit="percent",
        measure="ratio",
        numerator="returning_visitors",
        denominator="unique_visitors",
        description="Share of the visitors seen who had been seen before",
        words=(
            "returning rate",
            "return rate",
            "share of regulars",
            "share came back",
            "share of visitors who came back",
        ),
        examples=(
            "What part of our guests were repeat visitors in May?",
            "what share came back this month?",
        ),
        **VISIT_SOURCE,
    ),
)
