"""Seed 004's statistics and the persons metrics, in the project's time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.context import Context
from plugins.persons import statistics
from tests.conftest import ApiClient
from tests.plugins.persons.conftest import Camera, face, seen_again

# Asia/Tashkent is UTC+5 all year: 20:30 UTC on 2 March is 01:30 on 3 March there.
LATE_EVENING_UTC = "2026-03-02T20:30:00Z"


@pytest.fixture
def tashkent(client, project, owner) -> dict:
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"timezone": "Asia/Tashkent"}, headers=owner
    )
    assert response.status_code == 200
    return project


def _counts(app, project, kind: str, now: datetime) -> list[dict]:
    ctx = Context(project_id=uuid.UUID(project["id"]), permissions=frozenset({"view_persons"}))
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        return statistics.visit_counts(session, ctx, kind, now=now)


def test_visit_counts_per_day_are_local_days(app, camera, tashkent):
    camera.detected(face(1), entry_time=LATE_EVENING_UTC)
    camera.detected(face(2), entry_time="2026-02-20T10:00:00Z")
    week = _counts(app, tashkent, "week", datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert [point["date"] for point in week][0] == "2026-02-27" and len(week) == 7
    assert {point["date"]: point["value"] for point in week if point["value"]} == {"2026-03-03": 1}
    month = _counts(app, tashkent, "month", datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert len(month) == 30 and sum(point["value"] for point in month) == 2


def test_visit_counts_per_hour_are_local_hours(app, camera, tashkent):
    camera.detected(face(1), entry_time=LATE_EVENING_UTC)
    camera.detected(seen_again(face(1)), entry_time="2026-03-02T20:50:00Z")
    hours = _counts(app, tashkent, "last_6_hours", datetime(2026, 3, 2, 22, 10, tzinfo=UTC))
    assert [point["date"] for point in hours] == [
        "2026-03-02T22:00", "2026-03-02T23:00", "2026-03-03T00:00",
        "2026-03-03T01:00", "2026-03-03T02:00", "2026-03-03T03:00",
    ]  # fmt: skip
    assert [point["value"] for point in hours] == [0, 0, 0, 2, 0, 0]
    today = _counts(app, tashkent, "day", datetime(2026, 3, 2, 22, 10, tzinfo=UTC))
    assert len(today) == 4 and today[1] == {"date": "2026-03-03T01:00", "value": 2}


def visits_metric(client, project, owner, **body) -> list[dict]:
    """The rows of the ``visits`` metric as ``/api/v1/metrics`` gives them."""
    response = client.post(
        f"/api/v1/metrics/{project['id']}/query",
        json={"metrics": ["visits"], **body},
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]


@pytest.fixture
def recent_visits(camera, tashkent) -> dict:
    """Visits from now back to 40 days ago (some within the last hours), in a UTC+5 project."""
    now = datetime.now(UTC)
    for seed, hours_ago in enumerate((0, 0, 3, 5, 20, 30, 24 * 6, 24 * 20, 24 * 40)):
        moment = now - timedelta(hours=hours_ago)
        camera.detected(face(seed), entry_time=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return tashkent


@pytest.mark.parametrize("kind", ["week", "month"])
def test_daily_visit_counts_are_the_visits_metric_by_day(
    client, recent_visits, persons_url, owner, kind
):
    points = client.get(f"{persons_url}/statistics/visit-count?type={kind}", headers=owner)
    points = points.get_json()
    rows = visits_metric(
        client, recent_visits, owner,
        start=points[0]["date"], end=points[-1]["date"], group_by=["day"],
    )  # fmt: skip
    assert points == [{"date": row["day"], "value": row["visits"]} for row in rows]
    assert sum(point["value"] for point in points) >= 2


@pytest.mark.parametrize("kind", ["last_6_hours", "day"])
def test_hourly_visit_counts_are_the_visits_metric_by_day_and_hour(
    client, recent_visits, persons_url, owner, kind
):
    points = client.get(f"{persons_url}/statistics/visit-count?type={kind}", headers=owner)
    points = points.get_json()
    days = sorted({point["date"][:10] for point in points})
    rows = visits_metric(
        client, recent_visits, owner, start=days[0], end=days[-1], group_by=["day", "hour"]
    )
    by_hour = {f"{row['day']}T{row['hour']:02d}:00": row["visits"] for row in rows}
    assert [point["value"] for point in points] == [by_hour.get(p["date"], 0) for p in points]
    assert sum(point["value"] for point in points) >= 2


def test_the_visit_count_endpoint_checks_its_type(client, camera, persons_url, owner):
    camera.detected(face(1))
    url = f"{persons_url}/statistics/visit-count"
    today = client.get(f"{url}?type=last_6_hours", headers=owner).get_json()
    assert today[-1]["value"] == 1
    assert len(client.get(url, headers=owner).get_json()) == 7
    assert client.get(f"{url}?type=year", headers=owner).status_code == 422
    assert client.get(f"{url}?kind=week", headers=owner).status_code == 422


def test_shares_by_gender_body_type_age_band_and_emotion_counts(client, camera, persons_url, owner):
    camera.detected(face(1), gender="Female", age=25, emotion="Happy", body_type="Slim")
    camera.detected(face(2), gender="Female", age=40, emotion="Happy")
    camera.detected(face(3), gender="Male", age=60, emotion="Sad")
    camera.detected(face(4))

    def stats(kind: str) -> list[dict]:
        response = client.get(f"{persons_url}/statistics/{kind}", headers=owner)
        assert response.status_code == 200
        return response.get_json()

    assert stats("gender") == [
        {"type": "Female", "percentage": 66.7},
        {"type": "Male", "percentage": 33.3},
    ]
    assert stats("body-type") == [{"type": "Slim", "percentage": 100.0}]
    assert {point["type"] for point in stats("age")} == {"18-30", "31-50", "51+"}
    assert stats("emotion") == [{"type": "Happy", "value": 2}, {"type": "Sad", "value": 1}]
    assert client.get(f"{persons_url}/statistics/height", headers=owner).status_code == 404


@pytest.mark.parametrize("kind", sorted(statistics.SHARE_DIMENSIONS))
def test_shares_are_the_visits_metric_over_all_visits(
    client, camera, project, persons_url, owner, kind
):
    camera.detected(
        face(0),
        gender="Female",
        age=25,
        emotion="Happy",
        body_type="Slim",
        entry_time="2019-05-04T10:00:00Z",
    )  # an old visit counts too
    camera.detected(face(1), gender="Female", age=40, emotion="Happy", body_type="Slim")
    camera.detected(face(2), gender="Male", age=60, emotion="Sad", body_type="Large")
    camera.detected(face(3), gender="Male", age=16, emotion="Happy", body_type="Slim")
    camera.detected(face(4))  # fmt: skip
    dimension = statistics.SHARE_DIMENSIONS[kind]
    period = statistics.ALL_TIME
    rows = visits_metric(
        client, project, owner,
        start=period.start.isoformat(), end=period.end.isoformat(), group_by=[dimension],
    )  # fmt: skip
    reported = [row for row in rows if row[dimension] is not None]
    points = client.get(f"{persons_url}/statistics/{kind}", headers=owner).get_json()
    if kind == "emotion":
        assert points == [{"type": row[dimension], "value": row["visits"]} for row in reported]
    else:
        total = sum(row["visits"] for row in reported)
        assert points == [
            {"type": row[dimension], "percentage": round(100 * row["visits"] / total, 1)}
            for row in reported
        ]
    assert len(points) >= 2


def test_statistics_of_a_project_without_visits_are_empty(client, persons_url, owner):
    assert client.get(f"{persons_url}/statistics/gender", headers=owner).get_json() == []


def test_metrics_count_visits_unique_and_returning_visitors(client, camera, project, owner):
    camera.detected(face(1), gender="Female", entry_time="2026-03-02T10:00:00Z")
    camera.detected(seen_again(face(1)), entry_time="2026-03-03T10:00:00Z")
    camera.detected(face(2), gender="Male", entry_time="2026-03-03T11:00:00Z")
    response = client.post(
        f"/api/v1/metrics/{project['id']}/query",
        json={
            "metrics": ["visits", "unique_visitors", "returning_visitor_rate"],
            "start": "2026-03-01",
            "end": "2026-03-31",
        },
        headers=owner,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["totals"] == {
        "visits": 3,
        "unique_visitors": 2,
        "returning_visitor_rate": 50.0,
    }
    by_gender = client.post(
        f"/api/v1/metrics/{project['id']}/query",
        json={"metrics": ["visits"], "start": "2026-03-01", "end": "2026-03-31",
              "group_by": ["gender"]},
        headers=owner,
    )  # fmt: skip
    assert by_gender.status_code == 200, by_gender.get_json()


def test_statistics_have_their_own_rate_limit(make_app):
    app = make_app(plugin={"NEBULO_RATE_LIMIT_PERSONS_STATISTICS": "2/hour"})
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    url = f"/api/v1/persons/{api.project(owner)['id']}/statistics/gender"
    assert [client.get(url, headers=owner).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url.replace("gender", "visit-count"), headers=owner).status_code == 200
    persons = url.removesuffix("/statistics/gender")
    assert client.get(persons, headers=owner).status_code == 200


def test_detections_are_limited_per_camera_key(make_app):
    from tests.plugins.persons.conftest import api_key

    app = make_app(plugin={"NEBULO_RATE_LIMIT_PERSONS": "2/hour"})
    client = app.test_client()
    api = ApiClient(client)
    owner = api.user_headers()
    project = api.project(owner)
    door = Camera(client, project["id"], api_key(client, project["id"], owner, ["persons"]))
    till = Camera(client, project["id"], api_key(client, project["id"], owner, ["persons"]))
    assert [door.detect(face(seed)).status_code for seed in range(3)] == [201, 201, 429]
    assert till.detect(face(7)).status_code == 201
