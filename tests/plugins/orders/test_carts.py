"""Seed 004's carts at tables: orders with a person of the persons plugin and a table number,
bulk cart products in the seed's shape, and what the person's detail, history and summary
read from them."""

from __future__ import annotations

import uuid

from tests.core.helpers import assert_error

VECTOR = [1.0] + [0.0] * 127
OTHER_VECTOR = [0.0, 1.0] + [0.0] * 126


def detected(store, vector=VECTOR, project=None) -> dict:
    project_id = (project or store.project)["id"]
    response = store.client.post(
        f"/api/v1/persons/{project_id}", json={"vector": vector}, headers=store.owner
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def open_cart(store, person_id, table=5, status=201, **extra) -> dict:
    response = store.client.post(
        f"{store.orders}/carts",
        json={"person_id": person_id, "table_number": table, **extra},
        headers=store.owner,
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def bulk(store, lines, status=201) -> dict:
    response = store.client.post(
        f"{store.orders}/cart-products/bulk", json={"cart_products": lines}, headers=store.owner
    )
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_bulk_cart_products_answer_the_seeds_shape(store):
    pizza = store.product("Pizza Margherita", price=11, stock=5)
    cola = store.product("Coca-Cola", price=2.5, stock=5)
    person = detected(store)
    first, second = open_cart(store, person["id"], 5), open_cart(store, person["id"], 2)
    assert first["person_id"] == person["id"] and first["table_number"] == 5
    assert first["items"] == [] and first["status"] == "pending"
    project_id = store.project["id"]
    lines = [
        {"organization": project_id, "cart": first["id"], "product": pizza["id"]},
        {"cart": second["id"], "product": cola["id"]},
        {"organization": project_id, "cart": first["id"], "product": cola["id"]},
    ]
    body = bulk(store, lines)
    assert body["message"] == "Successfully created 3 cart products"
    assert body["created_count"] == 3
    assert [(p["cart"], p["product"]) for p in body["cart_products"]] == [
        (line["cart"], line["product"]) for line in lines
    ]
    assert all(p["organization"] == project_id and p["created_at"] for p in body["cart_products"])
    assert len({p["id"] for p in body["cart_products"]}) == 3
    cart = store.client.get(f"{store.orders}/{first['id']}", headers=store.owner).get_json()
    assert cart["total"] == 13.5 and [i["name"] for i in cart["items"]] == [
        "Pizza Margherita",
        "Coca-Cola",
    ]
    assert store.stock(pizza["id"]) == 4 and store.stock(cola["id"]) == 3


def test_the_person_detail_history_and_summary_read_the_carts(store):
    pizza = store.product("Pizza Margherita", price=11, stock=50)
    cola = store.product("Coca-Cola", price=2.5, stock=50)
    person = detected(store)
    detected(store)  # a second visit
    carts = [open_cart(store, person["id"], table) for table in (5, 2, 5)]
    bulk(
        store,
        [{"cart": cart["id"], "product": pizza["id"]} for cart in carts]
        + [{"cart": carts[0]["id"], "product": cola["id"]}],
    )
    open_cart(store, person["id"], 2, items=[{"product_id": cola["id"], "quantity": 3}])
    url = f"/api/v1/persons/{store.project['id']}/{person['id']}"
    detail = store.client.get(url, headers=store.owner).get_json()
    assert [cart["table_number"] for cart in detail["carts"]] == [5, 2, 5, 2]
    assert [p["name"] for p in detail["carts"][0]["products"]] == ["Pizza Margherita", "Coca-Cola"]
    assert "vector" not in detail
    history = store.client.get(f"{url}/orders", headers=store.owner).get_json()
    assert history["total_orders"] == 4
    assert [o["total_products"] for o in history["orders"]] == [2, 1, 1, 3]
    summary = store.client.get(f"{url}/summary", headers=store.owner).get_json()
    assert summary["total_visits"] == 2
    assert summary["favorite_table"] == 2  # two carts at 5 and two at 2: the lower number wins
    assert summary["favorite_dishes"] == [
        {"dish": "Coca-Cola", "count": 4},
        {"dish": "Pizza Margherita", "count": 3},
    ]
    assert summary["total_spent_items"] == 7 and summary["total_carts"] == 4


def test_a_cart_needs_a_person_of_this_project(store, api):
    other_project = api.project(store.owner, name="Other restaurant")
    stranger = detected(store, project=other_project)
    for person_id in (stranger["id"], str(uuid.uuid4())):
        error = assert_error(
            store.client.post(
                f"{store.orders}/carts", json={"person_id": person_id}, headers=store.owner
            ),
            422,
        )
        assert "person_id" in error["errors"]
        # the orders endpoint goes through the same check
        body = {"person_id": person_id, "items": [{"name": "Tea", "quantity": 1, "price": 2}]}
        assert_error(store.client.post(store.orders, json=body, headers=store.owner), 422)
    assert store.client.get(store.orders, headers=store.owner).get_json() == []
    assert_error(store.client.post(f"{store.orders}/carts", json={}, headers=store.owner), 422)
    assert_error(
        store.client.post(
            f"{store.orders}/carts",
            json={"person_id": stranger["id"], "table_number": -1},
            headers=store.owner,
        ),
        422,
    )


def test_bad_cart_products_are_refused_with_nothing_written(store, api):
    pizza = store.product("Pizza Margherita", price=11, stock=5)
    person = detected(store)
    cart = open_cart(store, person["id"])
    other_project = api.project(store.owner, name="Other restaurant")
    other_cart = open_cart(
        type(store)(store.client, store.api, store.owner, other_project),
        detected(store, project=other_project)["id"],
    )
    good = {"cart": cart["id"], "product": pizza["id"]}
    error = assert_error(
        store.client.post(
            f"{store.orders}/cart-products/bulk",
            json={
                "cart_products": [
                    good,
                    {"cart": str(uuid.uuid4()), "product": pizza["id"]},
                    {"cart": cart["id"], "product": str(uuid.uuid4())},
                    {"cart": other_cart["id"], "product": pizza["id"]},
                    {**good, "organization": other_project["id"]},
                ]
            },
            headers=store.owner,
        ),
        422,
    )
    lines = error["errors"]["cart_products"]
    assert sorted(lines) == ["1", "2", "3", "4"]
    assert "cart" in lines["1"] and "product" in lines["2"] and "cart" in lines["3"]
    assert "organization" in lines["4"]
    for body in ({"cart_products": []}, {"cart_products": [{"cart": cart["id"]}]}, {}):
        assert_error(
            store.client.post(f"{store.orders}/cart-products/bulk", json=body, headers=store.owner),
            422,
        )
    assert store.stock(pizza["id"]) == 5
    assert (
        store.client.get(f"{store.orders}/{cart['id']}", headers=store.owner).get_json()["items"]
        == []
    )


def test_a_closed_cart_takes_no_products_and_the_whole_call_is_undone(store):
    pizza = store.product("Pizza Margherita", price=11, stock=5)
    person = detected(store)
    open_, closed = open_cart(store, person["id"]), open_cart(store, person["id"], 3)
    store.client.patch(
        f"{store.orders}/{closed['id']}", json={"status": "paid"}, headers=store.owner
    )
    assert_error(
        store.client.post(
            f"{store.orders}/cart-products/bulk",
            json={
                "cart_products": [
                    {"cart": open_["id"], "product": pizza["id"]},
                    {"cart": closed["id"], "product": pizza["id"]},
                ]
            },
            headers=store.owner,
        ),
        409,
    )
    assert store.stock(pizza["id"]) == 5
    assert (
        store.client.get(f"{store.orders}/{open_['id']}", headers=store.owner).get_json()["items"]
        == []
    )


def test_erasing_a_person_keeps_their_carts_as_orders_of_nobody(store):
    pizza = store.product("Pizza Margherita", price=11, stock=5)
    person = detected(store)
    cart = open_cart(store, person["id"], items=[{"product_id": pizza["id"], "quantity": 1}])
    url = f"/api/v1/persons/{store.project['id']}/{person['id']}"
    assert store.client.delete(url, headers=store.owner).status_code == 204
    kept = store.client.get(f"{store.orders}/{cart['id']}", headers=store.owner).get_json()
    assert kept["person_id"] is None and kept["total"] == 11
    assert_error(store.client.get(f"{url}/orders", headers=store.owner), 404)
