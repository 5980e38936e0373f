"""Persons: the list, a person, changing them, their orders and summary."""

from __future__ import annotations

import uuid

from tests.plugins.persons.conftest import face


def test_the_list_has_the_seeds_pagination_fields_and_no_biometric_data(
    client, camera, persons_url, owner
):
    for seed in range(3):
        camera.detected(face(seed))
    page = client.get(f"{persons_url}?page=2&page_size=2", headers=owner).get_json()
    assert {key: page[key] for key in page if key != "results"} == {
        "count": 3,
        "total_pages": 2,
        "current_page": 2,
        "page_size": 2,
        "has_next": False,
        "has_previous": True,
        "next_page": None,
        "previous_page": 1,
    }
    assert len(page["results"]) == 1
    assert not {"vector", "image", "image_key"} & set(page["results"][0])
    assert page["results"][0]["has_biometrics"] is True


def test_list_arguments_are_checked(client, persons_url, owner):
    assert client.get(f"{persons_url}?page=0", headers=owner).status_code == 422
    assert client.get(f"{persons_url}?size=3", headers=owner).status_code == 422


def test_put_and_patch_change_the_person(client, camera, persons_url, owner):
    person = camera.detected(face(1), age=20)
    url = f"{persons_url}/{person['id']}"
    changes = {"full_name": "John Doe", "phone_number": "+998901234567", "body_type": "Athletic"}
    put = client.put(url, json=changes, headers=owner)
    assert put.status_code == 200
    assert put.get_json()["full_name"] == "John Doe" and put.get_json()["age"] == 20
    patch = client.patch(url, json={"age": 30, "gender": "Male"}, headers=owner)
    assert patch.get_json()["age"] == 30 and patch.get_json()["full_name"] == "John Doe"
    detail = client.get(url, headers=owner).get_json()
    assert detail["gender"] == "Male" and detail["phone_number"] == "+998901234567"
    assert "vector" not in detail


def test_bad_changes_are_refused(client, camera, persons_url, owner):
    url = f"{persons_url}/{camera.detected(face(1))['id']}"
    assert client.patch(url, json={"age": 500}, headers=owner).status_code == 422
    assert client.patch(url, json={"vector": face(2)}, headers=owner).status_code == 422
    assert client.put(url, json={"full_name": "x" * 201}, headers=owner).status_code == 422


def test_another_projects_person_does_not_exist(client, api, owner, camera):
    person = camera.detected(face(1))
    other = api.project(owner, name="Other")
    other_url = f"/api/v1/persons/{other['id']}/{person['id']}"
    for suffix in ("", "/orders", "/summary", "/biometrics", "/image"):
        assert client.get(other_url + suffix, headers=owner).status_code == 404
    assert client.patch(other_url, json={"age": 3}, headers=owner).status_code == 404
    assert client.delete(other_url, headers=owner).status_code == 404


def test_an_unknown_or_malformed_person_id(client, persons_url, owner):
    assert client.get(f"{persons_url}/{uuid.uuid4()}", headers=owner).status_code == 404
    assert client.get(f"{persons_url}/not-an-id", headers=owner).status_code == 400


def test_order_history_and_summary_come_from_the_orders_plugin(client, camera, project, owner):
    person = camera.detected(face(1))
    camera.detected(face(1))
    orders_url = f"/api/v1/orders/{project['id']}"
    for table, items in ((5, [("Pizza", 2)]), (5, [("Cola", 1)]), (2, [("Salad", 1)])):
        response = client.post(
            orders_url,
            json={
                "customer_name": "Walk-in",
                "person_id": person["id"],
                "table_number": table,
                "items": [{"product_name": n, "quantity": q, "price": 3} for n, q in items],
            },
            headers=owner,
        )
        assert response.status_code == 201, response.get_json()
    url = f"/api/v1/persons/{project['id']}/{person['id']}"
    history = client.get(f"{url}/orders", headers=owner).get_json()
    assert history["total_orders"] == 3
    assert sorted(o["table_number"] for o in history["orders"]) == [2, 5, 5]
    assert {p["product_name"] for o in history["orders"] for p in o["products"]} == {
        "Pizza",
        "Cola",
        "Salad",
    }
    summary = client.get(f"{url}/summary", headers=owner).get_json()
    assert summary["total_visits"] == 2
    assert summary["favorite_table"] == 5
    assert summary["total_spent_items"] == 4
    assert summary["last_visit"] is not None
    assert "table 5 (2 of 3 orders)" in summary["ai_summary"]


def test_a_person_without_orders_has_an_empty_history(client, camera, persons_url, owner):
    url = f"{persons_url}/{camera.detected(face(1))['id']}"
    assert client.get(f"{url}/orders", headers=owner).get_json()["total_orders"] == 0
    summary = client.get(f"{url}/summary", headers=owner).get_json()
    assert summary["total_visits"] == 1 and summary["favorite_table"] is None
