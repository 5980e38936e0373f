"""Memberships CRUD (seed 003's shape), its rules and the per-project tier list."""

from __future__ import annotations

import uuid

from tests.core.helpers import assert_error
from tests.plugins.memberships.conftest import day


def test_the_plugin_is_loaded_with_its_tools_and_requirements(client, owner):
    plugins = {p["name"]: p for p in client.get("/api/v1/plugins", headers=owner).get_json()}
    memberships = plugins["memberships"]
    assert memberships["status"] == "loaded", memberships["error"]
    assert set(memberships["tools"]) == {"customer_membership_tier", "members_by_tier"}


def test_a_membership_is_created_read_listed_changed_and_deleted(club):
    ana = club.customer("Ana Ruiz")
    created = club.member(ana, start=-5, end=30)
    assert created["customer_id"] == ana
    assert (created["start_period"], created["end_period"]) == (day(-5), day(30))
    assert created["tier"] == "gold" and created["expired_at"] is None

    url = f"{club.url}/{created['id']}"
    assert club.client.get(url, headers=club.owner).get_json() == created
    listed = club.client.get(club.url, headers=club.owner).get_json()
    assert [m["id"] for m in listed] == [created["id"]]

    changed = club.client.put(
        url,
        json={"start_period": day(-5), "end_period": day(60), "tier": "Platinum"},
        headers=club.owner,
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["tier"] == "platinum"
    assert changed.get_json()["end_period"] == day(60)

    assert club.client.delete(url, headers=club.owner).status_code == 204
    assert_error(club.client.get(url, headers=club.owner), 404)


def test_the_list_filters_by_customer_tier_and_status(club):
    ana, bea = club.customer("Ana"), club.customer("Bea")
    ended = club.member(ana, start=-100, end=-50, tier="silver")
    active = club.member(ana, start=-10, end=10, tier="gold")
    upcoming = club.member(bea, start=20, end=40, tier="gold")

    def ids(query: str) -> list[str]:
        response = club.client.get(f"{club.url}?{query}", headers=club.owner)
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()]

    assert ids(f"customer_id={ana}") == [active["id"], ended["id"]]
    assert ids("tier=GOLD") == [upcoming["id"], active["id"]]
    assert ids("status=active") == [active["id"]]
    assert ids("status=ended") == [ended["id"]]
    assert ids("status=upcoming") == [upcoming["id"]]
    for bad in ("status=lapsed", "customer_id=nope", "colour=red", "page=0"):
        assert_error(club.client.get(f"{club.url}?{bad}", headers=club.owner), 422)


def test_the_end_must_come_after_the_start(club):
    ana = club.customer("Ana")
    for start, end in ((10, 5), (3, 3)):
        body = assert_error(club.add(ana, start=start, end=end), 422, "VALIDATION_ERROR")
        assert "end_period" in body["errors"]
    created = club.member(ana, start=0, end=30)
    body = assert_error(
        club.client.put(
            f"{club.url}/{created['id']}",
            json={"start_period": day(40), "end_period": day(30), "tier": "gold"},
            headers=club.owner,
        ),
        422,
    )
    assert "end_period" in body["errors"]
    assert club.client.get(f"{club.url}/{created['id']}", headers=club.owner).get_json() == created


def test_an_overlapping_membership_of_the_same_customer_is_a_conflict_naming_it(club):
    ana, bea = club.customer("Ana"), club.customer("Bea")
    first = club.member(ana, start=0, end=30)
    for start, end in ((30, 60), (-10, 0), (5, 10), (-10, 90)):
        body = assert_error(club.add(ana, start=start, end=end), 409, "CONFLICT")
        assert first["id"] in body["detail"]
    club.member(ana, start=31, end=60)  # the day after the first ends
    club.member(bea, start=0, end=30)  # another customer, the same period
    second = club.member(ana, start=-60, end=-1)
    moved = club.client.put(
        f"{club.url}/{second['id']}",
        json={"start_period": day(-60), "end_period": day(5), "tier": "gold"},
        headers=club.owner,
    )
    assert first["id"] in assert_error(moved, 409)["detail"]
    unchanged = club.client.get(f"{club.url}/{second['id']}", headers=club.owner).get_json()
    assert unchanged == second
    assert len(club.client.get(f"{club.url}?customer_id={ana}", headers=club.owner).json) == 3


def test_the_customer_must_be_one_of_the_project(club, api):
    other_project = api.project(club.owner, name="Other store")
    stranger = club.customer("Ana elsewhere", project=other_project)
    for customer_id in (stranger, str(uuid.uuid4())):
        body = assert_error(club.add(customer_id), 422)
        assert customer_id in body["errors"]["customer_id"][0]
    assert club.client.get(club.url, headers=club.owner).get_json() == []


def test_the_tier_must_be_one_of_the_projects_list(club):
    ana = club.customer("Ana")
    body = assert_error(club.add(ana, tier="diamond"), 422)
    assert "diamond" in body["errors"]["tier"][0] and "platinum" in body["errors"]["tier"][0]
    assert club.add(ana, tier=" Bronze ").get_json()["tier"] == "bronze"


def test_bad_bodies_are_422(club):
    ana = club.customer("Ana")
    good = {"customer_id": ana, "start_period": day(0), "end_period": day(9), "tier": "gold"}
    bad_bodies = (
        {},
        {**good, "start_period": "yesterday"},
        {**good, "end_period": "2025-02-30"},
        {**good, "tier": ""},
        {**good, "tier": "x" * 41},
        {**good, "customer_id": "nope"},
        {**good, "colour": "red"},
    )
    for body in bad_bodies:
        assert_error(club.client.post(club.url, json=body, headers=club.owner), 422)
    created = club.member(ana)
    url = f"{club.url}/{created['id']}"
    assert_error(club.client.put(url, json={"tier": "gold"}, headers=club.owner), 422)
    changed_customer = {**good, "customer_id": club.customer("Bea")}
    assert_error(club.client.put(url, json=changed_customer, headers=club.owner), 422)


def test_another_projects_membership_is_not_found_and_roles_are_enforced(club, api, client):
    created = club.member(club.customer("Ana"))
    url = f"{club.url}/{created['id']}"
    other_project = api.project(club.owner, name="Other store")
    assert_error(
        client.get(
            f"/api/v1/memberships/{other_project['id']}/{created['id']}", headers=club.owner
        ),
        404,
    )
    assert_error(client.get(url, headers=api.user_headers()), 404)
    assert_error(client.get(url), 401)
    viewer = club.headers_of("viewer")
    assert client.get(url, headers=viewer).status_code == 200
    assert_error(client.delete(url, headers=viewer), 403)
    body = {
        "customer_id": created["customer_id"],
        "start_period": day(200),
        "end_period": day(300),
        "tier": "gold",
    }
    assert_error(client.post(club.url, json=body, headers=viewer), 403)
    operator = club.headers_of("operator")
    assert client.delete(url, headers=operator).status_code == 204


def test_deleting_a_customer_deletes_their_memberships(club):
    ana = club.customer("Ana")
    created = club.member(ana)
    response = club.client.delete(
        f"/api/v1/customers/{club.project['id']}/{ana}", headers=club.owner
    )
    assert response.status_code == 204
    assert_error(club.client.get(f"{club.url}/{created['id']}", headers=club.owner), 404)


def test_the_tier_list_starts_with_the_defaults_and_admins_change_it(club, client):
    tiers_url = f"{club.url}/tiers"
    assert client.get(tiers_url, headers=club.owner).get_json() == {
        "tiers": ["bronze", "silver", "gold", "platinum"]
    }
    changed = client.put(tiers_url, json={"tiers": ["Basic", "gold", "VIP"]}, headers=club.owner)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {"tiers": ["basic", "gold", "vip"]}
    assert client.get(tiers_url, headers=club.owner).get_json()["tiers"] == ["basic", "gold", "vip"]
    ana = club.customer("Ana")
    assert club.add(ana, tier="vip").status_code == 201
    assert_error(club.add(club.customer("Bea"), tier="silver"), 422)

    operator = club.headers_of("operator")
    assert client.get(tiers_url, headers=operator).status_code == 200
    assert_error(client.put(tiers_url, json={"tiers": ["gold"]}, headers=operator), 403)
    admin = club.headers_of("admin")
    assert client.put(tiers_url, json={"tiers": ["vip", "gold"]}, headers=admin).status_code == 200


def test_removing_a_tier_in_use_is_a_conflict_naming_the_memberships(club, client):
    tiers_url = f"{club.url}/tiers"
    first = club.member(club.customer("Ana"), tier="silver")
    second = club.member(club.customer("Bea"), tier="silver")
    body = assert_error(
        client.put(tiers_url, json={"tiers": ["bronze", "gold"]}, headers=club.owner), 409
    )
    assert "silver" in body["detail"]
    assert first["id"] in body["detail"] and second["id"] in body["detail"]
    assert client.get(tiers_url, headers=club.owner).get_json()["tiers"] == [
        "bronze",
        "silver",
        "gold",
        "platinum",
    ]
    kept = client.put(tiers_url, json={"tiers": ["silver", "gold"]}, headers=club.owner)
    assert kept.status_code == 200


def test_bad_tier_lists_are_422(club, client):
    tiers_url = f"{club.url}/tiers"
    for body in (
        {},
        {"tiers": []},
        {"tiers": ["gold", "GOLD"]},
        {"tiers": ["gold", "  "]},
        {"tiers": ["x" * 41]},
        {"tiers": [f"t{n}" for n in range(21)]},
        {"tiers": "gold"},
        {"tiers": ["gold"], "extra": 1},
    ):
        assert_error(client.put(tiers_url, json=body, headers=club.owner), 422)
    assert len(client.get(tiers_url, headers=club.owner).get_json()["tiers"]) == 4
