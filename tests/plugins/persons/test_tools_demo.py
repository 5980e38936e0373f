"""The assistant's tools over persons (figures through the metrics layer) and the demo data."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from assistant.tools import ToolContext
from core.context import Context
from plugins.orders.models import Order
from plugins.persons import tools
from plugins.persons.models import Person, Visit
from tests.plugins.persons.conftest import face, seen_again


@pytest.fixture
def tool_context(app, project):
    """Run tools as a viewer of ``project`` would through the assistant."""

    def run(tool, **arguments):
        permissions = app.extensions["nebulo"].registry.permissions_for_role("viewer")
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            context = Context(project_id=uuid.UUID(project["id"]), permissions=permissions)
            return tool.run(ToolContext(session, context), arguments)

    return run


def ask(client, project, owner, question: str) -> dict:
    body = {"project_id": project["id"], "message": question}
    response = client.post("/api/v1/assistant/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    [call] = response.get_json()["function_calls"]
    assert call["ok"] is True, call
    return call


def test_the_assistant_counts_todays_visitors_through_the_metrics(client, camera, project, owner):
    camera.detected(face(1))
    camera.detected(seen_again(face(1)))
    camera.detected(face(2))
    camera.detected(face(3), entry_time="2020-01-01T10:00:00Z")
    call = ask(client, project, owner, "how many visitors came in today?")
    assert call["name"] == "query_metrics"
    assert call["parameters"]["metrics"] == ["unique_visitors"]
    assert call["result"]["totals"] == {"unique_visitors": 2}


def test_the_assistant_gives_the_returning_share_through_the_metrics(
    client, camera, project, owner
):
    camera.detected(face(1))
    camera.detected(seen_again(face(1)))
    camera.detected(face(2))
    call = ask(client, project, owner, "which share came back during the past 30 days?")
    assert call["parameters"]["metrics"] == ["returning_visitor_rate"]
    assert call["result"]["totals"] == {"returning_visitor_rate": 50.0}


def test_the_regulars_tool_names_who_sits_at_a_table_most(
    client, camera, project, owner, tool_context
):
    ana, bo = camera.detected(face(1)), camera.detected(face(2))
    client.patch(f"{camera.url}/{ana['id']}", json={"full_name": "Ana"}, headers=owner)
    for person, table in ((ana, 5), (ana, 5), (bo, 5), (bo, 2), (ana, 2)):
        response = client.post(
            f"/api/v1/orders/{project['id']}/carts",
            json={
                "person_id": person["id"],
                "table_number": table,
                "items": [{"name": "Soup", "quantity": 1, "price": 6}],
            },
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
    answer = tool_context(tools.table_regulars, table_number=5)
    regulars = answer["regulars"]
    assert [(r["full_name"], r["carts_at_table"]) for r in regulars] == [("Ana", 2), (None, 1)]
    assert regulars[0]["favorite_dishes"] == [{"dish": "Soup", "count": 3}]
    assert regulars[0]["favorite_table"] == 5 and regulars[0]["total_visits"] == 1
    assert "vector" not in regulars[0]
    assert tool_context(tools.table_regulars, table_number=9)["regulars"] == []


def test_the_demo_has_returning_visitors_carts_at_tables_and_variety(app):
    from core.demo import load_demo_data
    from core.projects.models import Project

    with app.app_context():
        assert load_demo_data(app, "demo-persons@example.com", "a demo password")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project_id = session.scalar(select(Project.id).where(Project.name == "Demo Store"))
        persons = session.scalar(select(func.count()).where(Person.project_id == project_id))
        visits = session.execute(
            select(Visit.person_id, Visit.gender, Visit.age, Visit.is_returning).where(
                Visit.project_id == project_id
            )
        ).all()
        carts = session.execute(
            select(Order.person_id, Order.table_number).where(
                Order.project_id == project_id, Order.person_id.is_not(None)
            )
        ).all()
    assert 200 <= persons <= 500 and len(visits) > persons
    per_person = Counter(person_id for person_id, *_ in visits)
    assert sum(1 for count in per_person.values() if count > 1) >= persons // 5
    assert sum(1 for *_, returning in visits if returning) == len(visits) - persons
    assert len({gender for _, gender, _, _ in visits}) >= 3
    assert min(age for _, _, age, _ in visits) < 18 and max(age for _, _, age, _ in visits) > 50
    assert len(carts) > 100 and all(table is not None for _, table in carts)
