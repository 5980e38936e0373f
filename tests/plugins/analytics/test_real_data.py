"""Real data: the CDNOW transaction log (../shared/data, see its README) imported as orders
through the orders plugin's import service, then forecast and segmented.

A third of the customers (ids divisible by 3: about 7,900 customers, 23,000 purchases) keep
the test near a minute on both stacks; every customer's purchases are kept whole, so the
daily revenue and each customer's RFM stay real. The backtest scores and the clustering
evaluation are printed (pytest -s)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.metrics import Period
from plugins.analytics import forecast, rfm, sales, segments
from plugins.analytics.models import CustomerSegment
from plugins.orders.importing import import_orders

CDNOW = Path(__file__).resolve().parents[4] / "shared" / "data" / "CDNOW_master.txt"
KEEP_EVERY = 3
FIRST_DAY, LAST_DAY = date(1997, 1, 1), date(1998, 6, 30)

pytestmark = pytest.mark.skipif(not CDNOW.exists(), reason=f"{CDNOW} is not there")


def cdnow_rows():
    """CSV rows for ``import_orders``: one order per purchase, the customer id as the name."""
    with CDNOW.open() as handle:
        next(handle)
        for line_number, line in enumerate(handle, start=2):
            customer, day, _cds, dollars = line.split()
            if int(customer) % KEEP_EVERY:
                continue
            yield (
                line_number,
                {
                    "external_id": f"cdnow-{line_number}",
                    "provider": "cdnow",
                    "order_date": f"{day[:4]}-{day[4:6]}-{day[6:]}T12:00:00+00:00",
                    "customer_name": f"CDNOW {customer}",
                    "product_name": "Compact discs",
                    "quantity": "1",
                    "unit_price": dollars,
                },
            )


def segment_with_kmeans(session, ctx) -> dict:
    return segments.run_summary(session, segments.run_segmentation(session, ctx, "kmeans"))


@pytest.fixture
def cdnow(shop):
    report = shop.call(import_orders, list(cdnow_rows()))
    assert report.errors == []
    return shop, report


def test_cdnow_forecast_beats_seasonal_naive_and_every_customer_gets_one_segment(cdnow):
    shop, report = cdnow
    revenue = shop.call(sales.daily_revenue, Period(FIRST_DAY, LAST_DAY, "CDNOW"))
    assert len(revenue) == (LAST_DAY - FIRST_DAY).days + 1
    scores = forecast.backtest(revenue, windows=4, horizon=14)
    print(f"\nCDNOW daily revenue, {len(revenue)} days; backtest MASE: {scores}")
    best = forecast.best_model(scores)
    assert best != "seasonal_naive"
    assert scores[best] < scores["seasonal_naive"]

    run = shop.call(segment_with_kmeans)
    customers = len({row["customer_name"] for _, row in cdnow_rows()})
    assert run["customers"] == customers
    print(
        f"CDNOW k-means on {customers} customers: k={run['parameters']['clusters']}, "
        f"evaluation {run['evaluation']}"
    )
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        rows = session.execute(
            select(
                CustomerSegment.segment,
                func.count(),
                func.count(func.distinct(CustomerSegment.customer_name)),
            )
            .where(CustomerSegment.project_id == shop.project_id)
            .group_by(CustomerSegment.segment)
        ).all()
    assert sum(count for _, count, _ in rows) == customers  # one row per customer
    assert sum(distinct for _, _, distinct in rows) == customers  # in exactly one segment
    assert {segment for segment, _, _ in rows} <= set(rfm.SEGMENTS)
    assert run["evaluation"]["silhouette_score"] > 0
    assert run["evaluation"]["davies_bouldin_index"] > 0
    assert report.orders == sum(1 for _ in cdnow_rows())
