"""Membership events, the daily expiry job, the assistant tools, the metrics and demo data."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from assistant.tools import ToolContext
from core.context import Context
from core.errors import Invalid, NotFound
from core.hookspecs import hookimpl
from core.jobs import Job, enqueue, wait_for_jobs
from plugins.memberships import jobs, services, tools
from plugins.memberships.models import Membership
from tests.plugins.memberships.conftest import TODAY, day


class MembershipProbe:
    def __init__(self):
        self.events = []

    @hookimpl
    def on_event(self, event):
        if event.name.startswith("membership."):
            self.events.append(event)


@pytest.fixture
def tool_context(app, project):
    """Run tools as a viewer of ``project`` would through the assistant."""

    def run(tool, **arguments):
        permissions = app.extensions["nebulo"].registry.permissions_for_role("viewer")
        with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
            context = Context(project_id=uuid.UUID(project["id"]), permissions=permissions)
            return tool.run(ToolContext(session, context), arguments)

    return run


def expire(app) -> int:
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        return services.expire_memberships(session)


def test_creating_a_membership_publishes_membership_created(club, make_app):
    probe = MembershipProbe()
    client = make_app(extra_plugins=[("membership_probe", probe)]).test_client()
    ana = club.customer("Ana")
    body = {"customer_id": ana, "start_period": day(0), "end_period": day(9), "tier": "gold"}
    created = client.post(club.url, json=body, headers=club.owner).get_json()
    client.post(club.url, json=body, headers=club.owner)  # the overlap is refused: no event
    assert [e.name for e in probe.events] == ["membership.created"]
    assert probe.events[0].payload == {
        "membership_id": created["id"],
        "customer_id": ana,
        "tier": "gold",
        "start_period": day(0),
        "end_period": day(9),
    }


def test_the_daily_job_expires_ended_memberships_once(app, club, make_app):
    probe = MembershipProbe()
    other = make_app(extra_plugins=[("membership_probe", probe)])
    ana, bea, cy = club.customer("Ana"), club.customer("Bea"), club.customer("Cy")
    ended = club.member(ana, start=-30, end=-1)
    club.member(bea, start=-30, end=0)  # ends today: still active
    club.member(cy, start=5, end=30)
    assert expire(other) == 1
    assert [(e.name, e.payload["membership_id"]) for e in probe.events] == [
        ("membership.expired", ended["id"])
    ]
    assert expire(other) == 0  # idempotent: nothing twice
    assert len(probe.events) == 1
    shown = club.client.get(f"{club.url}/{ended['id']}", headers=club.owner).get_json()
    assert shown["expired_at"].endswith("Z")

    with app.app_context():
        job_id = enqueue(jobs.expire_memberships)
    wait_for_jobs(app, timeout=60)
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.result) == ("finished", {"expired": 0})


def test_moving_an_expired_membership_past_today_reopens_it(app, club):
    ended = club.member(club.customer("Ana"), start=-30, end=-1)
    expire(app)
    reopened = club.client.put(
        f"{club.url}/{ended['id']}",
        json={"start_period": day(-30), "end_period": day(30), "tier": "gold"},
        headers=club.owner,
    ).get_json()
    assert reopened["expired_at"] is None


def test_the_expire_command_runs_the_expiry(app, club):
    club.member(club.customer("Ana"), start=-30, end=-1)
    result = app.test_cli_runner().invoke(args=["memberships", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 membership(s) expired" in result.output


def test_the_tier_tool_finds_the_customer_by_name(club, tool_context):
    ana = club.customer("Ana Ruiz")
    club.customer("Anabel Soto")
    club.customer("Bruno Diaz")
    membership = club.member(ana, start=-3, end=40, tier="silver")

    answer = tool_context(tools.customer_membership_tier, customer_name="ana ruiz")
    assert answer == {
        "customer_id": ana,
        "name": "Ana Ruiz",
        "member": True,
        "tier": "silver",
        "membership_id": membership["id"],
        "end_period": day(40),
    }
    ambiguous = tool_context(tools.customer_membership_tier, customer_name="Ana")
    assert ambiguous["ambiguous"] is True
    assert {c["name"] for c in ambiguous["candidates"]} == {"Ana Ruiz", "Anabel Soto"}
    not_member = tool_context(tools.customer_membership_tier, customer_name="Bruno Diaz")
    assert not_member["member"] is False and not_member["tier"] is None
    with pytest.raises(NotFound):
        tool_context(tools.customer_membership_tier, customer_name="Zoe")


def test_the_members_tool_counts_active_members_per_tier(club, tool_context):
    for name, tier, start, end in (
        ("Ana", "gold", -5, 5),
        ("Bea", "gold", -50, 50),
        ("Cy", "silver", -5, 5),
        ("Dan", "gold", -50, -10),  # ended
        ("Eve", "gold", 3, 10),  # upcoming
    ):
        club.member(club.customer(name), start=start, end=end, tier=tier)
    answer = tool_context(tools.members_by_tier, tier="Gold")
    assert answer["tier"] == "gold" and answer["members"] == 2
    assert answer["by_tier"] == {"bronze": 0, "silver": 1, "gold": 2, "platinum": 0}
    assert answer["total"] == 3
    with pytest.raises(Invalid):
        tool_context(tools.members_by_tier, tier="diamond")


def test_the_assistant_answers_which_tier_a_customer_is_in(club, client, owner, project):
    ana = club.customer("Ana")
    club.member(ana, tier="platinum")
    body = {"project_id": project["id"], "message": "what tier does Ana belong to?"}
    response = client.post("/api/v1/assistant/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    [call] = response.get_json()["function_calls"]
    assert call["name"] == "customer_membership_tier" and call["ok"] is True
    assert call["result"]["tier"] == "platinum"


def run_metrics(client, project, owner, **body):
    response = client.post(f"/api/v1/metrics/{project['id']}/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_membership_metrics_count_new_and_active_members_by_tier(club, client, project, owner):
    club.member(club.customer("Ana"), start=-5, end=5, tier="gold")
    club.member(club.customer("Bea"), start=-5, end=5, tier="silver")
    club.member(club.customer("Cy"), start=-50, end=-10, tier="gold")
    new = run_metrics(client, project, owner, metrics=["new_memberships"], period="today")
    assert new["totals"] == {"new_memberships": 3}
    before = run_metrics(client, project, owner, metrics=["new_memberships"], period="yesterday")
    assert before["totals"] == {"new_memberships": 0}
    active = run_metrics(
        client, project, owner, metrics=["active_members"], period="today", group_by=["tier"]
    )
    assert {r["tier"]: r["active_members"] for r in active["rows"]} == {"gold": 1, "silver": 1}


@pytest.mark.parametrize(
    ("timezone", "first", "last"), [("Pacific/Kiritimati", 0, 1), ("Etc/GMT+12", -1, 0)]
)
def test_active_members_turn_over_at_the_projects_midnight(
    club, client, project, owner, timezone, first, last
):
    """A membership that runs on the project's today but not on the server's: from local
    today in UTC+14, to local today in UTC-12; at any hour one of them is on another date
    than UTC."""
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"timezone": timezone}, headers=owner
    )
    assert response.status_code == 200, response.get_json()
    local_today = datetime.now(ZoneInfo(timezone)).date()
    body = {"customer_id": club.customer("Ana"), "tier": "gold"}
    for key, offset in (("start_period", first), ("end_period", last)):
        body[key] = (local_today + timedelta(days=offset)).isoformat()
    assert client.post(club.url, json=body, headers=club.owner).status_code == 201
    active = run_metrics(client, project, owner, metrics=["active_members"], period="today")
    assert active["totals"] == {"active_members": 1}


def test_the_members_tool_gives_the_active_members_metric(
    club, client, project, owner, tool_context
):
    for name, tier, start, end in (
        ("Ana", "gold", -5, 5),
        ("Bea", "silver", 0, 3),  # starts today
        ("Cy", "gold", -50, -1),  # ended yesterday
        ("Dan", "bronze", 1, 10),  # starts tomorrow
    ):
        club.member(club.customer(name), start=start, end=end, tier=tier)
    by_tier = tool_context(tools.members_by_tier)["by_tier"]
    active = run_metrics(
        client, project, owner, metrics=["active_members"], period="today", group_by=["tier"]
    )
    metric = {row["tier"]: row["active_members"] for row in active["rows"]}
    assert by_tier == {tier: metric.get(tier, 0) for tier in by_tier}
    assert sum(by_tier.values()) == sum(metric.values()) == 2


def test_member_and_non_member_revenue_split_the_orders(club, client, project, owner):
    ana, bea = club.customer("Ana"), club.customer("Bea")
    membership = club.member(ana, start=-5, end=5, tier="gold")
    orders_url = f"/api/v1/orders/{project['id']}"
    for customer, membership_id, price in (
        (ana, membership["id"], 10),
        (ana, None, 4),
        (bea, None, 6),
    ):
        body = {"customer_id": customer, "items": [{"name": "Tea", "quantity": 1, "price": price}]}
        if membership_id:
            body["membership_id"] = membership_id
        assert client.post(orders_url, json=body, headers=owner).status_code == 201
    figures = run_metrics(
        client, project, owner, metrics=["member_revenue", "non_member_revenue"], period="today"
    )
    assert figures["totals"] == {"member_revenue": 10.0, "non_member_revenue": 10.0}
    by_tier = run_metrics(
        client,
        project,
        owner,
        metrics=["member_revenue"],
        period="today",
        group_by=["membership_tier"],
    )
    assert [(r["membership_tier"], r["member_revenue"]) for r in by_tier["rows"]] == [
        ("gold", 10.0)
    ]


def test_the_demo_gives_a_share_of_the_customers_memberships(app, club):
    for index in range(20):
        club.customer(f"Demo customer {index}")
    project_id = uuid.UUID(club.project["id"])
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        added = services.load_demo_memberships(session, project_id)
        rows = session.scalars(select(Membership).where(Membership.project_id == project_id)).all()
        assert added == len(rows) == 20 * services.DEMO_SHARE
        assert len({row.customer_id for row in rows}) == len(rows)
        assert all(row.end_period > row.start_period for row in rows)
        assert {row.tier for row in rows} <= set(services.DEFAULT_TIERS)
        assert any(row.start_period <= TODAY <= row.end_period for row in rows)


def test_the_whole_demo_loads_memberships_after_the_customers(app):
    from core.demo import load_demo_data
    from core.projects.models import Project
    from plugins.customers.models import Customer
    from plugins.orders.models import Order

    with app.app_context():
        assert load_demo_data(app, "demo-memberships@example.com", "a demo password")
    with app.app_context(), app.extensions["nebulo"].db.session_scope() as session:
        project = session.scalar(select(Project).where(Project.name == "Demo Store"))
        customers = session.scalars(
            select(Customer.id).where(Customer.project_id == project.id)
        ).all()
        memberships = session.scalars(
            select(Membership).where(Membership.project_id == project.id)
        ).all()
        linked = session.execute(
            select(Order.customer_id, Order.order_date, Membership.customer_id, Membership.id)
            .join(Membership, Membership.id == Order.membership_id)
            .where(Order.project_id == project.id)
        ).all()
    # Plugins loaded later (messages) may add customers after the memberships were given.
    share = len(memberships) / len(customers)
    assert services.DEMO_SHARE * 0.9 <= share <= services.DEMO_SHARE
    assert len({m.customer_id for m in memberships}) == len(memberships)
    # members' orders during their membership carry it, so member revenue has figures
    assert len(linked) > 100
    assert all(order_customer == member for order_customer, _, member, _ in linked)
    periods = {m.id: (m.start_period, m.end_period) for m in memberships}
    assert all(
        periods[membership][0] - timedelta(days=1)
        <= placed.date()
        <= periods[membership][1] + timedelta(days=1)
        for _, placed, _, membership in linked
    )


def test_the_assistant_counts_the_members_of_a_tier(club, client, owner, project):
    for name, tier in (("Ana", "gold"), ("Bea", "gold"), ("Cy", "bronze")):
        club.member(club.customer(name), tier=tier)
    body = {"project_id": project["id"], "message": "number of members in the gold tier right now"}
    response = client.post("/api/v1/assistant/query", json=body, headers=owner)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    # the tier is a value of the project's own tier list: the metric is filtered by it
    [call] = answer["function_calls"]
    assert call["name"] == "query_metrics" and call["ok"] is True
    assert call["parameters"]["filters"] == ["tier:gold"]
    assert call["result"]["totals"] == {"active_members": 2}
    assert answer["reply"] == "Active members with tier gold right now: 2."
    body["message"] = "number of members in the diamond tier right now"
    refused = client.post("/api/v1/assistant/query", json=body, headers=owner).get_json()
    assert "Unknown membership tier 'diamond'" in refused["reply"]
