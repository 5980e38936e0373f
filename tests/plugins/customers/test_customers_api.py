"""Customers CRUD through /api/v1/customers/<project_id>."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.core.helpers import assert_error
from tests.plugins.customers.conftest import customers_url

ANNA = {
    "name": "Anna Svensson",
    "email": "Anna@Example.com",
    "phone": "+46 70 123 45 67",
    "age": 42,
    "tenure": 3,
    "balance": 1234.5,
    "products": 2,
    "credit_card": True,
    "active": False,
    "salary": "52000.00",
}


def create(client, headers, project, **fields) -> dict:
    response = client.post(customers_url(project), json={**ANNA, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_normalizes_email_and_phone_and_keeps_money_exact(client, owner, project):
    customer = create(client, owner, project)
    assert customer["email"] == "anna@example.com"
    assert customer["phone"] == "+46701234567"
    assert customer["balance"] == 1234.5 and customer["salary"] == 52000.0
    assert customer["risk_score"] is None and customer["risk_tier"] is None
    detail = client.get(customers_url(project, f"/{customer['id']}"), headers=owner).get_json()
    assert detail["risk_history"] == [] and detail["name"] == "Anna Svensson"


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"name": None}, "name"),
        ({"phone": "0701234567"}, "phone"),
        ({"phone": "+12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"age": "forty"}, "age"),
        ({"age": -1}, "age"),
        ({"balance": "lots"}, "balance"),
        ({"credit_card": "maybe"}, "credit_card"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_bad_fields_are_rejected_with_the_field_named(client, owner, project, fields, bad):
    body = assert_error(
        client.post(customers_url(project), json={**ANNA, **fields}, headers=owner), 422
    )
    assert bad in body["errors"]
    assert client.get(customers_url(project), headers=owner).get_json() == []


def test_name_is_required(client, owner, project):
    body = assert_error(client.post(customers_url(project), json={}, headers=owner), 422)
    assert "name" in body["errors"]


def test_duplicate_email_or_channel_id_is_a_conflict(client, owner, project, api):
    create(client, owner, project, telegram_chat_id="777")
    assert_error(
        client.post(
            customers_url(project), json={**ANNA, "email": "ANNA@example.com"}, headers=owner
        ),
        409,
        "CONFLICT",
    )
    assert_error(
        client.post(
            customers_url(project),
            json={"name": "Other", "telegram_chat_id": "777"},
            headers=owner,
        ),
        409,
    )
    other_project = api.project(owner, name="Other store")
    create(client, owner, other_project)


def test_update_and_delete(client, owner, project):
    customer = create(client, owner, project)
    url = customers_url(project, f"/{customer['id']}")
    response = client.patch(url, json={"active": True, "churned": True}, headers=owner)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is True and response.get_json()["churned"] is True
    response = client.put(url, json={"name": "Anna S.", "tenure": 4}, headers=owner)
    assert response.get_json()["name"] == "Anna S." and response.get_json()["tenure"] == 4
    assert response.get_json()["email"] == "anna@example.com"
    assert_error(client.put(url, json={"tenure": 5}, headers=owner), 422)
    assert_error(client.patch(url, json={"age": "old"}, headers=owner), 422)
    assert client.delete(url, headers=owner).status_code == 204
    assert_error(client.get(url, headers=owner), 404, "NOT_FOUND")


def test_changing_to_a_taken_email_is_a_conflict(client, owner, project):
    create(client, owner, project)
    bob = create(client, owner, project, name="Bob", email="bob@example.com")
    assert_error(
        client.patch(
            customers_url(project, f"/{bob['id']}"),
            json={"email": "anna@example.com"},
            headers=owner,
        ),
        409,
    )


def test_unknown_malformed_and_foreign_ids(api, client, owner, project):
    customer = create(client, owner, project)
    assert_error(client.get(customers_url(project, f"/{uuid.uuid4()}"), headers=owner), 404)
    assert_error(client.get(customers_url(project, "/not-a-uuid"), headers=owner), 400)
    stranger = api.user_headers()
    stranger_project = api.project(stranger)
    url = customers_url(stranger_project, f"/{customer['id']}")
    assert_error(client.get(url, headers=stranger), 404)
    assert_error(client.patch(url, json={"name": "x"}, headers=stranger), 404)
    assert_error(client.delete(url, headers=stranger), 404)
    assert_error(client.get(customers_url(project, f"/{customer['id']}"), headers=stranger), 404)


def test_list_pages_searches_and_sorts(client, owner, project):
    for name, email in [("Carla", "carla@x.io"), ("Adam", "adam@y.io"), ("Bea", "bea@x.io")]:
        create(client, owner, project, name=name, email=email, phone=None)
    response = client.get(
        customers_url(project), query_string={"sort_by": "name", "page_size": 2}, headers=owner
    )
    assert [c["name"] for c in response.get_json()] == ["Adam", "Bea"]
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3 and pagination["total_pages"] == 2
    assert pagination["next_page"] == 2
    page_two = client.get(
        customers_url(project),
        query_string={"sort_by": "name", "page_size": 2, "page": 2},
        headers=owner,
    ).get_json()
    assert [c["name"] for c in page_two] == ["Carla"]
    descending = client.get(
        customers_url(project), query_string={"sort_by": "name", "order": "desc"}, headers=owner
    ).get_json()
    assert [c["name"] for c in descending] == ["Carla", "Bea", "Adam"]
    found = client.get(
        customers_url(project), query_string={"search": "X.IO", "sort_by": "name"}, headers=owner
    ).get_json()
    assert [c["name"] for c in found] == ["Bea", "Carla"]


@pytest.mark.parametrize(
    "query", [{"sort_by": "email"}, {"order": "up"}, {"page": 0}, {"page_size": 501}]
)
def test_bad_list_arguments_are_422(client, owner, project, query):
    assert_error(client.get(customers_url(project), query_string=query, headers=owner), 422)


def test_viewers_read_but_only_operators_write(client, owner, project, member_headers):
    customer = create(client, owner, project)
    viewer = member_headers("viewer")
    assert client.get(customers_url(project), headers=viewer).status_code == 200
    assert_error(client.post(customers_url(project), json=ANNA, headers=viewer), 403, "FORBIDDEN")
    url = customers_url(project, f"/{customer['id']}")
    assert_error(client.delete(url, headers=viewer), 403)
    operator = member_headers("operator")
    assert client.patch(url, json={"tenure": 9}, headers=operator).status_code == 200
    assert_error(client.get(customers_url(project)), 401)


def test_find_or_create_by_channel_identity_email_or_phone(app, project):
    from plugins.customers.services import find_or_create_customer

    project_id = uuid.UUID(project["id"])
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        first = find_or_create_customer(
            session, project_id, channel="whatsapp", identity="+4915112345678", name="Jan"
        )
        again = find_or_create_customer(
            session, project_id, channel="whatsapp", identity="+4915112345678"
        )
        assert again.id == first.id
        by_email = find_or_create_customer(session, project_id, email="JAN@example.com")
        assert by_email.id != first.id and by_email.email == "jan@example.com"
        linked = find_or_create_customer(
            session, project_id, email="jan@example.com", channel="telegram", identity="42"
        )
        assert linked.id == by_email.id and linked.telegram_chat_id == "42"
        by_phone = find_or_create_customer(session, project_id, phone="+49 151 1234 5678")
        assert by_phone.phone == "+4915112345678"
        same = find_or_create_customer(session, project_id, phone="+4915112345678")
        assert same.id == by_phone.id
    from core.errors import Invalid

    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        for channel, identity in (("Fax!", "1"), ("fax", "x" * 256)):
            with pytest.raises(Invalid):
                find_or_create_customer(session, project_id, channel=channel, identity=identity)
        with pytest.raises(Invalid):
            find_or_create_customer(session, project_id, phone="12")
        with pytest.raises(Invalid):
            find_or_create_customer(session, project_id)


def test_a_third_party_channel_identity_finds_its_customer_and_goes_with_them(app, project):
    """A connector without a column on customers (here "signal") still has its senders found
    again, linked to a customer known by email, and erased with that customer."""
    from sqlalchemy import select

    from core.context import Context
    from plugins.customers.models import ChannelIdentity
    from plugins.customers.services import delete_customer, find_or_create_customer

    project_id = uuid.UUID(project["id"])
    db = app.extensions["nebulo"].db
    with app.app_context(), db.session_scope() as session:
        first = find_or_create_customer(session, project_id, channel="signal", identity="u-7")
        assert first.name == "signal u-7"
        again = find_or_create_customer(session, project_id, channel="signal", identity="u-7")
        other = find_or_create_customer(session, project_id, channel="matrix", identity="u-7")
        assert again.id == first.id and other.id != first.id
        known = find_or_create_customer(session, project_id, email="ana@example.com")
        linked = find_or_create_customer(
            session, project_id, email="ana@example.com", channel="signal", identity="u-8"
        )
        assert linked.id == known.id
        found = find_or_create_customer(session, project_id, channel="signal", identity="u-8")
        assert found.id == known.id
        rows = session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.project_id == project_id)
        ).all()
        assert sorted((row.channel, row.identity) for row in rows) == [
            ("matrix", "u-7"),
            ("signal", "u-7"),
            ("signal", "u-8"),
        ]
        delete_customer(session, Context(project_id, frozenset()), known.id)
        left = session.scalars(
            select(ChannelIdentity.identity).where(
                ChannelIdentity.project_id == project_id, ChannelIdentity.channel == "signal"
            )
        ).all()
        assert left == ["u-7"]
