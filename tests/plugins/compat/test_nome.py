"""Seed 004 (Nome.ai) against Nebulo: its Python SDK example replayed with a cookie session,
its JavaScript example's JSON login and statistics, and every endpoint's body and shape."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from tests.plugins.compat.conftest import PASSWORD
from tests.plugins.compat.shapes import check_shape

PERSON = {
    "id": "uuid",
    "full_name": "John Doe",
    "phone_number": "+998901234567",
    "age": 30,
    "gender": "Male",
    "emotion": "Happy",
    "body_type": "Athletic",
    "entry_time": "2024-12-01T10:00:00Z",
    "exit_time": "2024-12-01T11:00:00Z",
    "created_at": "2024-12-01T10:00:00Z",
    "updated_at": "2024-12-01T11:00:00Z",
}
UNNAMED = ("$.full_name", "$.phone_number", "$.exit_time", "$.results[].full_name")
CREATED = {
    "id": "uuid",
    "vector": [0.1],
    "image": "people/person.jpg",
    "age": 25,
    "gender": "Female",
    "emotion": "Happy",
    "body_type": "Normal",
    "entry_time": "2024-12-01T10:00:00Z",
    "exit_time": "2024-12-01T11:00:00Z",
}
PAGE = {
    "count": 100,
    "total_pages": 10,
    "current_page": 1,
    "page_size": 10,
    "has_next": True,
    "has_previous": False,
    "next_page": 2,
    "previous_page": None,
    "results": [PERSON],
}
ORDERS = {
    "person_id": "uuid",
    "person_name": "John Doe",
    "total_orders": 2,
    "orders": [
        {
            "cart_id": "uuid",
            "cart_created_at": "2024-12-01T10:00:00Z",
            "cart_updated_at": "2024-12-01T10:30:00Z",
            "products": [
                {
                    "product_id": "uuid",
                    "product_name": "Product 1",
                    "added_at": "2024-12-01T10:00:00Z",
                }
            ],
            "total_products": 1,
        }
    ],
}
DETAIL = {
    **PERSON,
    "carts": [
        {
            "id": "uuid",
            "table_number": 5,
            "created_at": "2024-12-01T10:00:00Z",
            "updated_at": "2024-12-01T10:30:00Z",
            "products": [
                {"id": "uuid", "name": "Pizza Margherita", "created_at": "2024-12-01T10:05:00Z"}
            ],
        }
    ],
}
SUMMARY = {
    "person_id": "uuid",
    "person_name": "John Doe",
    "total_visits": 15,
    "favorite_table": 5,
    "favorite_dishes": [{"dish": "Pizza Margherita", "count": 8}],
    "ai_summary": "John Doe is a regular customer",
    "last_visit": "2024-12-15T19:30:00Z",
    "total_spent_items": 45,
}
BULK = {
    "message": "Successfully created 2 cart products",
    "created_count": 2,
    "cart_products": [
        {
            "id": "uuid",
            "organization": "uuid",
            "cart": "uuid",
            "product": "uuid",
            "created_at": "2024-12-01T10:00:00Z",
            "updated_at": "2024-12-01T10:00:00Z",
        }
    ],
}
LOGIN = {
    "message": "Login successful",
    "user": {
        "id": "uuid",
        "email": "user@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "is_verified": True,
    },
}


@pytest.fixture
def session(app, store):
    """``requests.Session()`` of the SDK example: logs in with a form, keeps the cookie."""
    client = app.test_client()
    response = client.post("/api/auth/login/", data={"email": store.email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    check_shape(response.get_json(), LOGIN)
    return client


def test_the_python_sdk_example_runs_unchanged(session, store):
    person_data = {
        "vector": json.dumps([0.1] * 128),
        "age": 25,
        "gender": "Female",
        "emotion": "Happy",
        "body_type": "Normal",
    }
    response = session.post("/api/client/person/", data=person_data)
    assert response.status_code == 201, response.get_json()
    check_shape(response.get_json(), CREATED, nullable=("$.image", "$.exit_time"))
    assert len(response.get_json()["vector"]) == 128
    person_id = response.json["id"]

    cart = store.nebulo(
        "POST",
        "orders/carts",
        json={
            "person_id": person_id,
            "table_number": 5,
            "items": [{"name": "Pizza Margherita", "quantity": 1, "price": 9.5}],
        },
    )
    summary = session.get(f"/api/client/person/{person_id}/summary/")
    assert summary.status_code == 200, summary.get_json()
    summary_data = summary.get_json()
    check_shape(summary_data, SUMMARY, nullable=("$.person_name",))
    assert summary_data["favorite_table"] == 5
    assert summary_data["favorite_dishes"] == [{"dish": "Pizza Margherita", "count": 1}]
    assert isinstance(summary_data["ai_summary"], str)

    details = session.get(f"/api/client/person/{person_id}/detail/")
    assert details.status_code == 200
    details_data = details.get_json()
    check_shape(details_data, DETAIL, nullable=UNNAMED)
    assert [c["id"] for c in details_data["carts"]] == [cart["id"]]
    assert [p["name"] for p in details_data["carts"][0]["products"]] == ["Pizza Margherita"]


def test_the_javascript_example_logs_in_with_json_and_reads_statistics(app, store):
    client = app.test_client()
    login = client.post("/api/auth/login/", json={"email": store.email, "password": PASSWORD})
    assert login.status_code == 200
    check_shape(login.get_json(), LOGIN)
    client.post(
        "/api/client/person/",
        json={
            "vector": [0.1] * 128,
            "gender": "Female",
            "emotion": "Happy",
            "body_type": "Normal",
            "age": 25,
        },
    )
    week = client.get("/api/client/statistics/visit-count/?type=week")
    assert week.status_code == 200
    check_shape(week.get_json(), [{"date": "2024-12-01", "value": 15}])
    assert len(week.get_json()) == 7 and week.get_json()[-1]["value"] == 1
    for kind, shape in (
        ("body-type", [{"type": "Normal", "percentage": 45.5}]),
        ("gender", [{"type": "Female", "percentage": 55.0}]),
        ("age", [{"type": "18-30", "percentage": 40.0}]),
        ("emotion", [{"type": "Happy", "value": 25}]),
    ):
        response = client.get(f"/api/client/statistics/{kind}/")
        assert response.status_code == 200
        check_shape(response.get_json(), shape)
        assert len(response.get_json()) == 1


def test_multipart_with_an_image_and_the_put_of_the_document(session):
    created = session.post(
        "/api/client/person/",
        data={
            "vector": json.dumps([0.2] * 128),
            "age": "25",
            "entry_time": "2024-12-01T10:00:00Z",
            "exit_time": "2024-12-01T11:00:00Z",
            "image": (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 64), "person.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.get_json()
    check_shape(created.get_json(), CREATED, nullable=("$.gender", "$.emotion", "$.body_type"))
    person_id = created.get_json()["id"]
    changed = session.put(
        f"/api/client/person/{person_id}/",
        json={
            "full_name": "John Doe",
            "phone_number": "+998901234567",
            "age": 30,
            "gender": "Male",
            "emotion": "Neutral",
            "body_type": "Athletic",
        },
    )
    assert changed.status_code == 200
    check_shape(changed.get_json(), PERSON)
    orders = session.get(f"/api/client/person/{person_id}/orders/")
    assert orders.status_code == 200
    check_shape(orders.get_json(), ORDERS)
    assert orders.get_json()["total_orders"] == 0


def test_the_persons_list_pages_as_documented(session):
    for seed in range(3):
        vector = [0.0] * 128
        vector[seed] = 1.0
        assert session.post("/api/client/person/", json={"vector": vector}).status_code == 201
    first = session.get("/api/client/persons/?page=1&page_size=2").get_json()
    check_shape(
        first,
        PAGE,
        nullable=(
            *UNNAMED,
            "$.results[].phone_number",
            "$.results[].age",
            "$.results[].gender",
            "$.results[].emotion",
            "$.results[].body_type",
            "$.results[].exit_time",
        ),
    )
    assert (first["count"], first["total_pages"], first["has_next"], first["next_page"]) == (
        3,
        2,
        True,
        2,
    )
    second = session.get("/api/client/persons/?page=2&page_size=2").get_json()
    assert len(second["results"]) == 1 and second["previous_page"] == 1


def test_bulk_cart_products_adds_the_documented_lines(session, store):
    person = session.post("/api/client/person/", json={"vector": [0.3] * 128}).get_json()
    cart = store.nebulo("POST", "orders/carts", json={"person_id": person["id"], "table_number": 2})
    product = store.nebulo(
        "POST", "catalog/products", json={"name": "Cola", "price": 2, "stock": 9}
    )
    line = {"organization": store.project["id"], "cart": cart["id"], "product": product["id"]}
    response = session.post("/api/client/cart-products/bulk/", json={"cart_products": [line, line]})
    assert response.status_code == 201, response.get_json()
    check_shape(response.get_json(), BULK)
    assert response.get_json()["created_count"] == 2
    bad = session.post(
        "/api/client/cart-products/bulk/",
        json={"cart_products": [{**line, "product": str(uuid.uuid4())}]},
    )
    assert bad.status_code == 400
    check_shape(bad.get_json(), {"error": "Invalid data provided", "details": {}})
    assert "cart_products" in bad.get_json()["details"]


def test_a_camera_with_an_api_key_posts_into_its_project(app, store):
    camera = app.test_client()
    key = store.api_key("persons")
    response = camera.post("/api/client/person/", json={"vector": [0.4] * 128}, headers=key)
    assert response.status_code == 201
    assert response.get_json()["vector"] is None  # the key has no view_biometrics scope
    listing = camera.get("/api/client/persons/", headers=key)
    assert listing.status_code == 403 and "error" in listing.get_json()


def test_errors_use_the_documented_bodies(app, session, other_store):
    anonymous = app.test_client().get("/api/client/persons/")
    assert anonymous.status_code == 401 and set(anonymous.get_json()) == {"error"}
    theirs = other_store.nebulo("POST", "persons", json={"vector": [0.5] * 128})
    missing = session.get(f"/api/client/person/{theirs['id']}/detail/")
    assert missing.status_code == 404
    check_shape(missing.get_json(), {"error": "Person not found"})
    invalid = session.post("/api/client/person/", json={"vector": [0.1] * 3})
    assert invalid.status_code == 400
    check_shape(invalid.get_json(), {"error": "Invalid data provided", "details": {}})
    check_shape(invalid.get_json()["details"], {"vector": ["Error message"]})
