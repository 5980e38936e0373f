"""The sales forecast: predict-sales from the stored model, its refit job, staleness after
orders, and the bad inputs (past, too far, unreadable dates, too little history)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from core.db import utcnow
from core.jobs import enqueue, wait_for_jobs
from plugins.analytics import forecast, jobs, sales
from plugins.analytics.models import SalesForecast
from tests.plugins.analytics.conftest import sales_history

TODAY = date.today()


def ahead(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def predict(shop, *dates: str, headers=None):
    query = "&".join(f"future_dates={d}" for d in dates)
    return shop.client.get(f"{shop.url}/predict-sales?{query}", headers=headers or shop.owner)


def test_predict_sales_answers_each_day_with_intervals_model_and_backtest(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    response = predict(shop, ahead(1), ahead(2), ahead(30))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert len(answer["predictions"]) == 3
    assert [day["date"] for day in answer["days"]] == [ahead(1), ahead(2), ahead(30)]
    for day in answer["days"]:
        assert day["low_95"] <= day["low_80"] <= day["revenue"] <= day["high_80"] <= day["high_95"]
        assert day["revenue"] > 0
    assert answer["predictions"] == [day["revenue"] for day in answer["days"]]
    candidates = answer["backtest"]["candidates"]
    assert set(candidates) == set(forecast.CANDIDATES)
    assert answer["model"] in forecast.CANDIDATES
    assert answer["backtest"]["mase"] == min(v for v in candidates.values() if v is not None)
    assert answer["backtest"]["mase"] <= answer["backtest"]["seasonal_naive_mase"]
    assert answer["history"]["end"] == (TODAY - timedelta(days=1)).isoformat()
    assert answer["stale"] is False


def test_the_forecast_follows_the_weekly_rhythm(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    week = [ahead(n) for n in range(1, 8)]
    answer = predict(shop, *week).get_json()
    by_weekday = {
        date.fromisoformat(d).weekday(): v for d, v in zip(week, answer["predictions"], strict=True)
    }
    weekend = (by_weekday[4] + by_weekday[5] + by_weekday[6]) / 3
    early_week = (by_weekday[0] + by_weekday[1]) / 2
    assert weekend > early_week * 1.1  # Friday to Sunday sell more than Monday and Tuesday


def test_bad_dates_get_a_422_naming_each(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    cases = {
        (ahead(-1),): "in the past",
        (ahead(366),): "more than 365 days ahead",
        ("2026-13-01",): "is not a date",
        ("next tuesday", ahead(1)): "is not a date",
    }
    for dates, message in cases.items():
        response = predict(shop, *dates)
        assert response.status_code == 422, dates
        body = response.get_json()
        assert body["code"] == "VALIDATION_ERROR" or "errors" in body
        assert any(message in problem for problem in body["errors"]["future_dates"]), body
    missing = shop.client.get(f"{shop.url}/predict-sales", headers=shop.owner)
    assert missing.status_code == 422
    assert "future_dates" in missing.get_json()["errors"]


def test_too_little_history_says_how_many_days_are_needed(shop):
    shop.add_orders(sales_history(20))
    needed = forecast.minimum_days(3, 14)
    # asking for a forecast that cannot exist yet is the project's state (409); asking to fit
    # one is a request that cannot work (422)
    for response, status in (
        (predict(shop, ahead(1)), 409),
        (shop.client.post(f"{shop.url}/forecast/refit", headers=shop.owner), 422),
    ):
        assert response.status_code == status
        body = response.get_json()
        assert f"at least {needed} days" in body["detail"]
        assert body["errors"]["history"] == [f"needs {needed} days, has 19"]


def test_enough_history_but_no_model_yet_is_a_conflict_naming_the_refit(shop):
    shop.add_orders(sales_history(150))
    response = predict(shop, ahead(1))
    assert response.status_code == 409
    assert "/forecast/refit" in response.get_json()["detail"]
    assert shop.client.get(f"{shop.url}/forecast", headers=shop.owner).status_code == 404


def test_the_refit_route_fits_in_a_job_with_progress(shop):
    shop.add_orders(sales_history(150))
    response = shop.client.post(f"{shop.url}/forecast/refit", headers=shop.owner)
    assert response.status_code == 202
    job = shop.job(response.get_json()["job_id"])
    assert (job.status, job.progress) == ("finished", 100), job.error
    assert job.result["model"] in forecast.CANDIDATES
    info = shop.client.get(f"{shop.url}/forecast", headers=shop.owner).get_json()
    assert info["model"] == job.result["model"]
    assert info["history"]["days"] == 149
    assert predict(shop, ahead(3)).status_code == 200


def test_a_new_order_marks_the_forecast_stale_until_the_refit_job(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    created = shop.client.post(
        f"/api/v1/orders/{shop.project['id']}",
        json={
            "customer_name": "Ana",
            "items": [{"product_name": "Tea", "quantity": 1, "price": 4}],
        },
        headers=shop.owner,
    )
    assert created.status_code == 201
    assert predict(shop, ahead(1)).get_json()["stale"] is True

    result = shop.app.test_cli_runner().invoke(args=["analytics", "refit"])
    assert result.exit_code == 0, result.output
    assert "1 stale forecast(s) refitted" in result.output
    assert predict(shop, ahead(1)).get_json()["stale"] is False


def test_the_refit_command_fits_one_project(shop):
    shop.add_orders(sales_history(150))
    result = shop.app.test_cli_runner().invoke(
        args=["analytics", "refit", "--project", shop.project["id"]]
    )
    assert result.exit_code == 0, result.output
    assert "fitted on 149 days, backtest MASE" in result.output


def test_a_model_stored_by_another_format_version_is_refitted_not_unpickled(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        session.execute(
            update(SalesForecast)
            .where(SalesForecast.project_id == shop.project_id)
            .values(format_version=forecast.FORMAT_VERSION + 1, model=b"not a pickle")
        )
    response = predict(shop, ahead(1))
    assert response.status_code == 409
    assert "refit" in response.get_json()["detail"]


def test_predict_sales_is_limited_to_five_a_minute(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    statuses = [predict(shop, ahead(1)).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_viewers_predict_but_only_admins_refit(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    viewer = shop.headers_of("viewer")
    assert predict(shop, ahead(1), headers=viewer).status_code == 200
    refused = shop.client.post(f"{shop.url}/forecast/refit", headers=viewer)
    assert refused.status_code == 403
    assert "train_models" in refused.get_json()["detail"]


def test_another_projects_forecast_is_not_found(shop, api):
    shop.add_orders(sales_history(150))
    shop.fit()
    stranger = api.user_headers()
    assert predict(shop, ahead(1), headers=stranger).status_code == 404


def test_the_stale_refit_job_refits_only_stale_forecasts(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    with shop.app.app_context():
        fresh = shop.job(str(enqueue(jobs.refit_stale_forecasts)))
    assert fresh.result == {"refitted": [], "failed": {}}
    with shop.app.app_context(), shop.app.extensions["nebulo"].db.session_scope() as session:
        sales.mark_stale(session, shop.project_id)
    with shop.app.app_context():
        job = shop.job(str(enqueue(jobs.refit_stale_forecasts)))
    assert (job.status, job.result) == (
        "finished",
        {"refitted": [shop.project["id"]], "failed": {}},
    )
    assert predict(shop, ahead(1)).get_json()["stale"] is False


def test_the_periodic_tick_queues_a_due_stale_forecast_once(shop):
    shop.add_orders(sales_history(150))
    shop.fit()
    state = shop.app.extensions["nebulo"]
    with shop.app.app_context(), state.db.session_scope() as session:
        sales.mark_stale(session, shop.project_id)
        assert jobs.queue_stale_refits(session, utcnow()) == 0  # fitted too recently
        session.execute(
            update(SalesForecast)
            .where(SalesForecast.project_id == shop.project_id)
            .values(fitted_at=utcnow() - timedelta(hours=2))
        )
    with shop.app.app_context():
        state.plugins.call_each("run_periodic", now=utcnow())
        with state.db.session_scope() as session:
            assert jobs.queue_stale_refits(session, utcnow()) == 0  # claimed by the tick
    wait_for_jobs(shop.app, timeout=120)
    answer = predict(shop, ahead(1)).get_json()
    assert answer["stale"] is False
    with shop.app.app_context(), state.db.session_scope() as session:
        stored = session.scalar(
            select(SalesForecast).where(SalesForecast.project_id == shop.project_id)
        )
        assert stored.refit_queued_at is None
        assert stored.fitted_at > utcnow() - timedelta(minutes=5)
