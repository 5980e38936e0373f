"""The product and order lookups: names in any case, with typos or numbers, SKUs, order
numbers, exact UUIDs (never read as an order number), customers' emails, phones and names;
ambiguous names give candidates; another project's rows are never found. Through the
``lookup_product`` and ``lookup_order`` tools, as the assistant calls them."""

from __future__ import annotations

import uuid

import pytest

from assistant.tools import ToolContext
from core.context import Context
from core.errors import Invalid
from plugins.orders.tools import lookup_order, lookup_product


@pytest.fixture
def run_tool(app, project):
    def run(tool, text: str, project_id: str | None = None) -> dict:
        permissions = app.extensions["nebulo"].permissions_for_role("viewer")
        context = Context(
            project_id=uuid.UUID(project_id or project["id"]), permissions=permissions
        )
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            return tool.run(ToolContext(session, context), {"query": text})

    return run


@pytest.fixture
def catalog(store) -> dict[str, str]:
    """Products with look-alike names; name -> id."""
    names = {
        "Espresso Beans": "CAF-001",
        "Butter Croissant": "BAK-001",
        "Almond Croissant": "BAK-002",
        "7UP Can": "DRK-007",
        "Table 12 Set": "SET-012",
        "Table 2 Set": "SET-002",
    }
    return {name: store.product(name=name, sku=sku)["id"] for name, sku in names.items()}


def product_name(result: dict) -> str | None:
    return result["match"]["name"] if result["match"] else None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("espresso beans", "Espresso Beans"),
        ("ESPRESO BEANS", "Espresso Beans"),
        ("caf-001", "Espresso Beans"),
        ("butter crossant", "Butter Croissant"),
        ("7up can", "7UP Can"),
        ("table 12 set", "Table 12 Set"),
        ("tabel 2 set", "Table 2 Set"),
    ],
)
def test_typed_names_and_skus_find_the_product(catalog, run_tool, typed, expected):
    assert product_name(run_tool(lookup_product, typed)) == expected


def test_a_product_id_is_matched_exactly(catalog, run_tool):
    assert product_name(run_tool(lookup_product, catalog["7UP Can"])) == "7UP Can"
    assert run_tool(lookup_product, str(uuid.uuid4()))["candidates"] == []


def test_an_ambiguous_product_name_gives_candidates(catalog, run_tool):
    result = run_tool(lookup_product, "croissant")
    assert result["match"] is None and result["ambiguous"]
    assert {c["name"] for c in result["candidates"]} == {"Butter Croissant", "Almond Croissant"}


@pytest.fixture
def orders(store) -> list[dict]:
    """Orders of three customers, the first two with look-alike names."""
    people = (
        ("Anna Hargrave", "anna@example.com", "+14155550100"),
        ("Hanna Hargreaves", "hanna@example.com", "+14155550199"),
        ("Bob Okafor", "bob@example.com", "+442071234567"),
    )
    created = []
    for name, email, phone in people:
        body = {
            "customer_name": name,
            "customer_email": email,
            "customer_phone": phone,
            "items": [{"product_name": "Tea", "quantity": 1, "price": 3}],
        }
        created.append(store.order(body))
    return created


def test_order_numbers_and_ids_find_the_order(orders, run_tool):
    first = orders[0]
    for typed in (str(first["number"]), f"#{first['number']}", f"order {first['number']}"):
        assert run_tool(lookup_order, typed)["match"]["id"] == first["id"]
    assert run_tool(lookup_order, first["id"])["match"]["number"] == first["number"]


def test_a_uuid_is_never_read_as_an_order_number(orders, run_tool):
    number = orders[1]["number"]
    lookalike = f"{number:08d}-0000-4000-8000-000000000000"
    result = run_tool(lookup_order, lookalike)
    assert result["match"] is None and result["candidates"] == []


def test_a_customers_email_phone_or_name_finds_their_orders(orders, run_tool):
    bob = orders[2]
    for typed in ("BOB@EXAMPLE.COM", "+44 20 7123 4567", "bob okafr"):
        assert run_tool(lookup_order, typed)["match"]["id"] == bob["id"], typed


def test_an_ambiguous_customer_name_gives_their_orders_as_candidates(orders, run_tool):
    result = run_tool(lookup_order, "hargreave")
    assert result["match"] is None and result["ambiguous"]
    assert {c["customer_name"] for c in result["candidates"]} == {
        "Anna Hargrave",
        "Hanna Hargreaves",
    }


def test_another_projects_products_and_orders_are_never_found(
    catalog, orders, run_tool, api, owner
):
    other = api.project(owner)["id"]
    assert run_tool(lookup_product, "espresso beans", other)["candidates"] == []
    assert run_tool(lookup_product, catalog["7UP Can"], other)["match"] is None
    assert run_tool(lookup_order, str(orders[0]["number"]), other)["match"] is None
    assert run_tool(lookup_order, orders[0]["id"], other)["match"] is None
    assert run_tool(lookup_order, "bob@example.com", other)["candidates"] == []


@pytest.mark.parametrize("typed", ["", "  ", "y" * 201])
def test_an_empty_or_overlong_reference_is_refused(run_tool, typed):
    with pytest.raises(Invalid):
        run_tool(lookup_product, typed)
    with pytest.raises(Invalid):
        run_tool(lookup_order, typed)
