"""Seed 003 (retail backend) against Nebulo: register and log in by username, then every
endpoint's example body, each answer in ``{"status", "message", "data"}``."""

from __future__ import annotations

import uuid

import pytest

from core.jobs import wait_for_jobs
from tests.plugins.compat.shapes import check_shape

USER = {
    "id": "UUID4",
    "username": "string",
    "role": "RoleEnum",
    "created_at": "datetime",
    "updated_at": "datetime",
}
CATEGORY = {
    "id": "UUID4",
    "name": "string",
    "description": "string",
    "created_at": "datetime",
    "updated_at": "datetime",
}
PRODUCT = {
    "id": "UUID4",
    "category_id": "UUID4",
    "name": "string",
    "description": "string",
    "stock": "int",
    "price": "float",
    "deleted": "bool",
    "created_at": "datetime",
    "updated_at": "datetime",
}
TRANSACTION = {
    "id": "UUID4",
    "customer_id": "UUID4",
    "membership_id": "UUID4",
    "date": "datetime",
    "total_amount": "float",
    "created_at": "datetime",
    "updated_at": "datetime",
}
DETAIL = {
    "id": "UUID4",
    "transaction_id": "UUID4",
    "product_id": "UUID4",
    "quantity": "int",
    "price_per_unit": "float",
    "total_amount": "float",
    "created_at": "datetime",
    "updated_at": "datetime",
}
MEMBERSHIP = {
    "id": "UUID4",
    "customer_id": "UUID4",
    "start_period": "date",
    "end_period": "date",
    "tier": "TierEnum",
    "created_at": "datetime",
    "updated_at": "datetime",
}


def envelope(data, message: str) -> dict:
    return {"status": "success", "message": message, "data": data}


def check(response, status: int, data, message: str, nullable: tuple[str, ...] = ()) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    check_shape(body, {"status": "string", "message": "string", "data": data}, nullable)
    assert body["status"] == "success" and body["message"] == message
    return body["data"]


@pytest.fixture
def shop(app, api):
    """A seed-003 client: registered and logged in by username, with its cookie; the account
    gets a project through Nebulo (its only one, so its default)."""
    client = app.test_client()
    username = f"cashier{uuid.uuid4().hex[:6]}"
    credentials = {"username": username, "password": "string-password"}
    registered = client.post("/register", json=credentials)
    check(registered, 201, USER, "User registered successfully")
    logged_in = client.post("/login", json=credentials)
    user = check(logged_in, 200, USER, "User logged in successfully")
    assert user["username"] == username
    bearer = {"Authorization": f"Bearer {user['access_token']}"}
    project = client.post("/api/v1/projects", json={"name": "Retail"}, headers=bearer)
    assert project.status_code == 201
    client.project_id = project.get_json()["id"]
    client.bearer = bearer
    return client


def test_a_taken_username_and_a_wrong_password_answer_in_the_envelope(app, shop):
    client = app.test_client()
    taken = client.post("/register", json={"username": "dup-user", "password": "string-password"})
    assert taken.status_code == 201
    again = client.post("/register", json={"username": "dup-user", "password": "string-password"})
    assert again.status_code == 409
    check_shape(again.get_json(), {"status": "string", "message": "string", "data": None})
    assert again.get_json()["status"] == "error"
    wrong = client.post("/login", json={"username": "dup-user", "password": "wrong-password"})
    assert wrong.status_code == 401 and wrong.get_json()["status"] == "error"
    short = client.post("/register", json={"username": "x", "password": "string-password"})
    assert short.status_code == 422 and "username" in short.get_json()["data"]


def test_a_new_account_without_a_project_is_told_how_to_choose_one(app):
    client = app.test_client()
    credentials = {"username": "lonely-user", "password": "string-password"}
    client.post("/register", json=credentials)
    client.post("/login", json=credentials)
    response = client.get("/products/")
    assert response.status_code == 400
    assert "/api/v1/projects/{project_id}/default" in response.get_json()["message"]


def test_products_crud_in_the_envelope(shop):
    category = shop.post(
        f"/api/v1/catalog/{shop.project_id}/categories", json={"name": "Tea"}, headers=shop.bearer
    ).get_json()
    categories = check(
        shop.get("/product-categories/"),
        200,
        [CATEGORY],
        "Product categories retrieved successfully",
    )
    assert [row["id"] for row in categories] == [category["id"]]
    body = {
        "category_id": category["id"],
        "name": "Green tea",
        "description": "Loose leaf",
        "stock": 10,
        "price": 4.5,
    }
    created = check(
        shop.post("/products/", json=body), 201, PRODUCT, "Product created successfully"
    )
    url = f"/products/{created['id']}"
    check(shop.get(url), 200, PRODUCT, "Product found")
    listed = check(shop.get("/products/"), 200, [PRODUCT], "Products retrieved successfully")
    assert [row["name"] for row in listed] == ["Green tea"]
    change = {**body, "price": 5.0, "updated_at": created["updated_at"]}
    updated = check(shop.put(url, json=change), 200, PRODUCT, "Product updated successfully")
    assert updated["price"] == 5.0
    deleted = shop.delete(url)
    assert check(deleted, 200, "bool", "Product deleted successfully") is True
    gone = shop.put(url, json={**change, "price": 6.0})
    assert gone.status_code == 409 and gone.get_json()["status"] == "error"
    assert check(shop.get("/products/"), 200, [PRODUCT], "Products retrieved successfully") == []


def test_transactions_and_memberships_follow_the_document(shop):
    base = f"/api/v1/{{}}/{shop.project_id}"
    customer = shop.post(base.format("customers"), json={"name": "Ada"}, headers=shop.bearer)
    customer_id = customer.get_json()["id"]
    product = shop.post(
        base.format("catalog") + "/products",
        json={"name": "Mug", "price": 8, "stock": 5},
        headers=shop.bearer,
    ).get_json()
    membership_body = {
        "customer_id": customer_id,
        "start_period": "2025-01-01",
        "end_period": "2035-12-31",
        "tier": "gold",
    }
    membership = check(
        shop.post("/memberships/", json=membership_body),
        201,
        MEMBERSHIP,
        "Membership created successfully",
    )
    transaction = check(
        shop.post(
            "/transactions/",
            json={
                "customer_id": customer_id,
                "membership_id": membership["id"],
                "date": "2026-06-01T10:00:00Z",
                "transaction_details": [
                    {"product_id": product["id"], "quantity": 2, "price_per_unit": 8.0}
                ],
            },
        ),
        201,
        TRANSACTION,
        "Transaction created successfully",
    )
    assert transaction["total_amount"] == 16.0
    listed = check(
        shop.get("/transactions/"), 200, [TRANSACTION], "Transactions retrieved successfully"
    )
    assert [row["id"] for row in listed] == [transaction["id"]]
    details = check(
        shop.get(f"/transactions/{transaction['id']}"),
        200,
        [DETAIL],
        "Transaction details retrieved successfully",
    )
    assert details[0]["transaction_id"] == transaction["id"] and details[0]["quantity"] == 2

    url = f"/memberships/{membership['id']}"
    check(shop.get(url), 200, MEMBERSHIP, "Membership found")
    check(shop.get("/memberships/"), 200, [MEMBERSHIP], "Memberships retrieved successfully")
    changed = check(
        shop.put(
            url, json={"start_period": "2025-01-01", "end_period": "2030-12-31", "tier": "silver"}
        ),
        200,
        MEMBERSHIP,
        "Membership updated successfully",
    )
    assert changed["tier"] == "silver"
    unknown_tier = shop.put(
        url, json={"start_period": "2025-01-01", "end_period": "2030-12-31", "tier": "diamond"}
    )
    assert unknown_tier.status_code == 422 and unknown_tier.get_json()["status"] == "error"


def test_a_membership_of_an_overlapping_period_and_unknown_ids_are_errors(shop):
    missing = shop.get(f"/memberships/{uuid.uuid4()}")
    assert missing.status_code == 404
    check_shape(missing.get_json(), {"status": "string", "message": "string", "data": None})
    assert shop.get(f"/transactions/{uuid.uuid4()}").status_code == 404
    assert shop.get("/products/not-an-id").status_code == 400


def test_the_dashboard_answers_the_documented_figures(shop):
    response = shop.get("/dashboard/?start_date=2025-01-01&end_date=2025-12-31&model=kmeans")
    data = check(
        response,
        200,
        {
            "total_sales": "float",
            "total_transactions": "int",
            "products_sold": "int",
            "new_memberships": "int",
            "customer_segments": {},
        },
        "Dashboard data retrieved successfully",
        nullable=("$.data.customer_segments",),
    )
    assert data["total_transactions"] == 0 and data["customer_segments"] is None
    wrong = shop.get("/dashboard/?model=spectral")
    assert wrong.status_code == 422 and "model" in wrong.get_json()["data"]


def test_the_dashboard_shows_the_newest_segmentation(app, shop):
    base = f"/api/v1/{{}}/{shop.project_id}"
    product = shop.post(
        base.format("catalog") + "/products",
        json={"name": "Mug", "price": 8, "stock": 1000},
        headers=shop.bearer,
    ).get_json()
    for number in range(12):
        customer = shop.post(
            base.format("customers"), json={"name": f"Customer {number}"}, headers=shop.bearer
        ).get_json()
        line = {"product_id": product["id"], "quantity": 1 + number, "price_per_unit": 8.0}
        created = shop.post(
            "/transactions/",
            json={"customer_id": customer["id"], "transaction_details": [line]},
        )
        assert created.status_code == 201, created.get_json()
    started = shop.post(
        base.format("analytics") + "/segments/runs",
        json={"algorithm": "kmeans"},
        headers=shop.bearer,
    )
    assert started.status_code == 202, started.get_json()
    wait_for_jobs(app, timeout=120)
    data = check(
        shop.get("/dashboard/?model=kmeans"),
        200,
        {
            "total_sales": "float",
            "total_transactions": "int",
            "products_sold": "int",
            "new_memberships": "int",
            "customer_segments": {
                "algorithm": "string",
                "segmentation": [
                    {"RFMCategory": "string", "count": "int", "total_revenue": "float"}
                ],
                "evaluation": {"silhouette_score": "float", "davies_bouldin_index": "float"},
            },
        },
        "Dashboard data retrieved successfully",
    )
    assert data["total_transactions"] == 12 and data["products_sold"] == sum(range(1, 13))
    assert sum(row["count"] for row in data["customer_segments"]["segmentation"]) == 12
