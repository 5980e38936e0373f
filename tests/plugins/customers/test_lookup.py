"""The customer lookup: what a person types (any case, typos, numbers in names, emails,
phones, ids) finds the customer, an ambiguous name gives candidates, and only the caller's
project is searched. Through the ``lookup_customer`` tool, as the assistant calls it."""

from __future__ import annotations

import uuid

import pytest

from assistant.tools import ToolContext
from core.context import Context
from core.errors import Invalid
from plugins.customers.tools import lookup_customer
from tests.plugins.customers.conftest import customers_url

PEOPLE = (
    {"name": "Anna Hargrave", "email": "anna.h@example.com", "phone": "+14155550100"},
    {"name": "Hanna Hargreaves", "email": "hanna@example.com", "phone": "+14155550199"},
    {"name": "Bob Okafor", "email": "bob@example.com", "phone": "+442071234567"},
    {"name": "Table 12", "email": None, "phone": None},
    {"name": "Table 2", "email": None, "phone": None},
)


@pytest.fixture
def people(client, owner, project) -> dict[str, str]:
    """The customers above in ``project``; name -> id."""
    ids = {}
    for person in PEOPLE:
        body = {key: value for key, value in person.items() if value is not None}
        response = client.post(customers_url(project), json=body, headers=owner)
        assert response.status_code == 201, response.get_json()
        ids[person["name"]] = response.get_json()["id"]
    return ids


@pytest.fixture
def look_up(app, project):
    def run(text: str, project_id: str | None = None) -> dict:
        permissions = app.extensions["nebulo"].permissions_for_role("viewer")
        context = Context(
            project_id=uuid.UUID(project_id or project["id"]), permissions=permissions
        )
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            return lookup_customer.run(ToolContext(session, context), {"query": text})

    return run


def matched(result: dict) -> str | None:
    return result["match"]["name"] if result["match"] else None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("anna hargrave", "Anna Hargrave"),
        ("ANNA HARGRAVE", "Anna Hargrave"),
        ("okafr", "Bob Okafor"),
        ("hargrve", "Anna Hargrave"),
        ("bob okafor", "Bob Okafor"),
        ("table 12", "Table 12"),
        ("tabel 12", "Table 12"),
        ("Table 2", "Table 2"),
        ("ANNA.H@EXAMPLE.COM", "Anna Hargrave"),
        ("(415) 555-0100", "Anna Hargrave"),
        ("+44 20 7123 4567", "Bob Okafor"),
    ],
)
def test_typed_references_find_the_one_customer(people, look_up, typed, expected):
    assert matched(look_up(typed)) == expected


def test_an_id_is_matched_exactly(people, look_up):
    result = look_up(f"customer {people['Bob Okafor']}")
    assert result["match"]["id"] == people["Bob Okafor"]
    unknown = look_up(str(uuid.uuid4()))
    assert unknown["match"] is None and unknown["candidates"] == []


def test_an_ambiguous_name_gives_the_candidates_instead_of_a_guess(people, look_up):
    result = look_up("hargreave")
    assert result["match"] is None and result["ambiguous"]
    assert {c["name"] for c in result["candidates"]} == {"Anna Hargrave", "Hanna Hargreaves"}


def test_nothing_like_the_name_finds_nothing(people, look_up):
    result = look_up("Zebulon Quarterbridge")
    assert result == {
        "query": "Zebulon Quarterbridge",
        "match": None,
        "candidates": [],
        "ambiguous": False,
    }


def test_another_projects_customers_are_never_found(people, look_up, api, owner):
    other = api.project(owner)
    assert look_up("Anna Hargrave", other["id"])["candidates"] == []
    assert look_up(people["Anna Hargrave"], other["id"])["match"] is None
    assert look_up("anna.h@example.com", other["id"])["match"] is None


@pytest.mark.parametrize("typed", ["", "   ", "x" * 201])
def test_an_empty_or_overlong_reference_is_refused(people, look_up, typed):
    with pytest.raises(Invalid):
        look_up(typed)
