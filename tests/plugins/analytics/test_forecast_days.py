"""GET forecast/days: the next days of the stored forecast as a plain list (what the console's
forecast chart reads), the same numbers predict-sales answers, and its bad inputs."""

from __future__ import annotations

from datetime import date, timedelta

from tests.plugins.analytics.conftest import sales_history


def days_of(shop, query: str = "", headers=None):
    return shop.client.get(f"{shop.url}/forecast/days{query}", headers=headers or shop.owner)


def test_the_next_days_are_listed_from_today_with_both_intervals(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    response = days_of(shop)
    assert response.status_code == 200, response.get_json()
    rows = response.get_json()
    today = date.today()
    assert [row["date"] for row in rows] == [
        (today + timedelta(days=n)).isoformat() for n in range(30)
    ]
    for row in rows:
        assert row["low_95"] <= row["low_80"] <= row["revenue"] <= row["high_80"] <= row["high_95"]
    week = days_of(shop, "?days=7", headers=shop.headers_of("viewer")).get_json()
    assert week == rows[:7]
    dates = "&".join(f"future_dates={row['date']}" for row in week)
    predicted = shop.client.get(f"{shop.url}/predict-sales?{dates}", headers=shop.owner)
    assert predicted.get_json()["days"] == week
    assert len(days_of(shop, "?days=90").get_json()) == 90


def test_bad_day_counts_get_a_422_naming_the_argument(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    for query in ("?days=0", "?days=91", "?days=many", "?days=-3", "?weeks=2"):
        response = days_of(shop, query)
        assert response.status_code == 422, query
        body = response.get_json()
        assert "days" in str(body.get("errors")) or "weeks" in str(body.get("errors")), body


def test_no_forecast_yet_is_the_same_conflict_as_predict_sales(shop):
    shop.add_orders(sales_history(150))
    response = days_of(shop)
    assert response.status_code == 409
    assert "/forecast/refit" in response.get_json()["detail"]


def test_another_projects_forecast_days_are_not_found(shop, api):
    shop.add_orders(sales_history(150))
    shop.fit()
    assert days_of(shop, headers=api.user_headers()).status_code == 404
