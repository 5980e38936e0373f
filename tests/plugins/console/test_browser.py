"""The console in a real browser (Debian's Chromium through Playwright) on the demo data: log in,
the dashboards, the assistant chat, the inbox, a viewer, an expired session, a provider that is
down or slow. Every page is checked with axe-core and photographed to ``build/test-artifacts``.

The browser may reach only 127.0.0.1: the console works offline. One app with the demo data
serves the whole module (loading it takes seconds), on a database of its own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy import select

from core import migrate
from core.app import create_app
from core.auth.models import RefreshToken, User
from core.auth.services import logout
from core.cli import DEMO_EMAIL, DEMO_PASSWORD
from core.config import load_settings
from core.context import Context
from core.demo import load_demo_data
from core.testing import TEST_SETTINGS
from tests.core.helpers import served
from tests.plugins.console import panelplugin

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
ARTIFACTS = Path(__file__).parents[3] / "build" / "test-artifacts" / "console"
BLOCKING = ("serious", "critical")

pytestmark = pytest.mark.xdist_group("console-browser")


# ---- the app, its server and the browser ------------------------------------------------------


def build_app(database_url: str, **settings: Any):
    values = {**TEST_SETTINGS, "database_url": database_url, **settings}
    return create_app(load_settings({}, **values), extra_plugins=[("panelplugin", panelplugin)])


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo store on SQLite, with a plugin that adds console panels."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'nebulo.db'}"
    app = build_app(database_url)
    migrate.upgrade(app)
    with app.app_context():
        load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
    app.config["TEST_DATABASE_URL"] = database_url
    yield app
    app.extensions["nebulo"].jobs.stop()
    app.extensions["nebulo"].db.dispose()


@pytest.fixture(scope="module")
def base_url(demo_app) -> Iterator[str]:
    with served(demo_app) as address:
        yield f"http://{address}"


@pytest.fixture
def page(browser) -> Iterator[Any]:
    """A page that can reach only 127.0.0.1 and that fails the test on a script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert blocked == []
    assert errors == []


def api_headers(app, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> dict[str, str]:
    tokens = app.test_client().post(
        "/api/v1/auth/login", json={"email": email, "password": password}
    )
    assert tokens.status_code == 200, tokens.get_json()
    return {"Authorization": f"Bearer {tokens.get_json()['access_token']}"}


def demo_project(app) -> dict:
    (project,) = app.test_client().get("/api/v1/projects", headers=api_headers(app)).get_json()
    return project


# ---- what every page gets: axe-core, a screenshot -----------------------------------------------


def check_page(page: Any, name: str) -> None:
    """No serious or critical axe-core violation; a screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    blocking = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]
    assert blocking == [], name


def log_in(page: Any, base_url: str, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD):
    """Log in with the keyboard only: Tab to each field, Enter to submit."""
    page.goto(base_url + "/")
    page.wait_for_selector("#login-user")
    page.focus("#login-user")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_selector("nav[aria-label='Console pages']")


def role_shown(page: Any) -> str:
    """The role beside the project switcher, once the project's console data has come."""
    page.wait_for_function("() => document.querySelector('[data-testid=role]').textContent")
    return page.get_by_test_id("role").text_content()


# ---- the pages ---------------------------------------------------------------------------------


def test_the_login_page_works_with_the_keyboard_and_refuses_a_wrong_password(page, base_url):
    started = time.perf_counter()
    page.goto(base_url + "/")
    page.wait_for_selector("#login-user")
    usable_ms = page.evaluate("() => performance.now()")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "login-timing.json").write_text(
        json.dumps({"usable_ms": usable_ms, "wall_ms": (time.perf_counter() - started) * 1000})
    )
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "login-user"
    assert page.locator("[data-testid=demo-login]").count() == 0  # not in development
    check_page(page, "login")

    page.keyboard.type(DEMO_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    page.get_by_text("Wrong email, username or password.").wait_for()
    assert page.locator("nav[aria-label='Console pages']").count() == 0


def test_the_dashboard_draws_the_metrics_layers_figures(page, base_url, demo_app):
    log_in(page, base_url)
    project = demo_project(demo_app)
    assert page.locator("#project-switcher option:checked").inner_text() == project["name"]
    assert role_shown(page) == "owner"

    totals = page.locator("[data-panel='sales.totals'] .figure")
    totals.first.wait_for()
    answer = demo_app.test_client().post(
        f"/api/v1/metrics/{project['id']}/query",
        json={"metrics": ["revenue", "orders"], "period": "last 30 days"},
        headers=api_headers(demo_app),
    )
    revenue = answer.get_json()["totals"]["revenue"]
    assert revenue > 0
    assert float(totals.nth(0).inner_text().replace(",", "")) == round(revenue, 2)
    assert int(totals.nth(1).inner_text().replace(",", "")) == answer.get_json()["totals"]["orders"]

    for name in ("sales.revenue_by_day", "sales.top_products", "customers.churn_risk"):
        page.locator(f"[data-panel='{name}'] .chart svg").first.wait_for()
    riskiest = page.locator("[data-panel='customers.riskiest'] tbody tr")
    riskiest.first.wait_for()
    customers = demo_app.test_client().get(
        f"/api/v1/customers/{project['id']}?sort_by=risk_score&order=desc&page_size=8",
        headers=api_headers(demo_app),
    )
    assert riskiest.count() == len(customers.get_json())
    assert riskiest.first.locator("td").first.inner_text() == customers.get_json()[0]["name"]
    # the panel plugin's chart is on the dashboard, its page in the menu
    page.locator("[data-panel='panelplugin.orders_by_status'] .chart svg").wait_for()
    check_page(page, "dashboard")

    for name, panels in (
        ("visitors", ("visitors.by_day",)),
        ("memberships", ("memberships.by_tier",)),
        ("analytics", ("analytics.segments", "analytics.forecast")),
        ("returns", ("panelplugin.cancellations",)),
    ):
        page.get_by_role("link", name=name.capitalize()).click()
        for panel in panels:
            page.locator(f"[data-panel='{panel}']").wait_for()
            page.wait_for_selector(f"[data-panel='{panel}'] .loading", state="hidden")
            assert page.locator(f"[data-panel='{panel}'] [role=alert]").is_hidden()
        if name == "analytics":
            check_forecast_chart(page, demo_app, project)
        check_page(page, f"page-{name}")


def check_forecast_chart(page, demo_app, project) -> None:
    """The forecast panel: a line and its two interval bands, over the rows the route answers."""
    chart = page.locator("[data-panel='analytics.forecast'] .chart svg")
    chart.wait_for()
    assert chart.locator(".mark-area path").count() == 2
    assert chart.locator(".mark-line path").count() == 1
    assert chart.locator(".mark-symbol path").count() == 30
    days = demo_app.test_client().get(
        f"/api/v1/analytics/{project['id']}/forecast/days?days=30",
        headers=api_headers(demo_app),
    )
    assert days.status_code == 200, days.get_json()
    rows = page.locator("[data-panel='analytics.forecast'] tbody tr")
    assert rows.count() == len(days.get_json()) == 30
    assert rows.first.locator("td").first.text_content() == days.get_json()[0]["date"]


def test_the_assistant_streams_its_steps_and_keeps_the_conversation(page, base_url, demo_app):
    log_in(page, base_url)
    page.get_by_role("link", name="Assistant").click()
    page.fill("#question", "List the products that sold best in the past 2 weeks")
    page.keyboard.press("Enter")
    answer = page.locator(".msg.assistant").first
    answer.wait_for(timeout=30_000)
    assert page.locator(".msg.step p").first.inner_text() == "Calling top_products"
    assert answer.locator("table tbody tr").count() > 0  # a list answer comes as a table
    check_page(page, "chat")

    conversations = page.locator(".conversations .conversation").count()
    page.fill("#question", "And which ones brought in the least over those days?")
    page.keyboard.press("Enter")
    page.locator(".msg.assistant").nth(1).wait_for(timeout=30_000)
    assert page.locator(".conversations .conversation").count() == conversations

    project = demo_project(demo_app)
    headers = api_headers(demo_app)
    client = demo_app.test_client()
    conversation = client.get(
        f"/api/v1/assistant/{project['id']}/conversations", headers=headers
    ).get_json()[0]  # the most recent
    stored = client.get(
        f"/api/v1/assistant/{project['id']}/conversations/{conversation['id']}", headers=headers
    ).get_json()["messages"]
    asked = [m["content"] for m in stored if m["role"] == "user"]
    assert asked == [
        "List the products that sold best in the past 2 weeks",
        "And which ones brought in the least over those days?",
    ]
    replies = [m["content"] for m in stored if m["role"] == "assistant" and m["content"]]
    shown = page.locator(".msg.assistant > p").all_inner_texts()
    assert shown == replies[-2:]

    # reopening the conversation from the list shows the same exchange
    page.get_by_role("button", name="New conversation").click()
    assert page.locator(".msg").count() == 0
    page.locator(".conversations .conversation").first.click()
    page.locator(".msg.user").nth(1).wait_for()


def test_the_inbox_updates_live_drafts_a_reply_and_sends_it(page, base_url, demo_app):
    log_in(page, base_url)
    page.get_by_role("link", name="Inbox").click()
    first = page.locator(".conversations .conversation").first
    first.wait_for()
    assert first.locator(".badge").is_visible()  # unread conversations come first
    check_page(page, "inbox")

    # a message arriving now shows up without a reload, unread, at the top
    project = demo_project(demo_app)
    with demo_app.app_context():
        _receive(demo_app, project["id"], "Do you deliver on public holidays?")
    first.filter(has_text="Holiday Asker").wait_for(timeout=10_000)
    assert first.locator(".badge").inner_text() == "1 unread"
    first.click()
    page.locator(".thread .msg p", has_text="public holidays").wait_for()

    page.get_by_role("button", name="Draft with AI").click()
    page.wait_for_function("() => document.getElementById('reply').value.length > 0")
    reply = page.input_value("#reply") + " (checked by a person)"
    page.fill("#reply", reply)
    with page.expect_response(lambda response: response.url.endswith("/send")) as sending:
        page.get_by_role("button", name="Send").click()
    assert sending.value.status == 202, sending.value.text()
    page.locator(".thread .msg p", has_text="(checked by a person)").wait_for()
    assert page.input_value("#reply") == ""
    check_page(page, "inbox-replied")

    sent = (
        demo_app.test_client()
        .get(
            f"/api/v1/messages/{project['id']}/inbox?direction=outbound&page_size=5",
            headers=api_headers(demo_app),
        )
        .get_json()
    )
    assert sent[0]["content"] == reply
    assert sent[0]["recipient"]["chat_id"] == "5550001234"
    # sending marked the conversation read
    page.locator(".conversation", has_text="Holiday Asker").locator(".badge").wait_for(
        state="hidden"
    )


def test_reports_open_download_and_generate(page, base_url, demo_app):
    log_in(page, base_url)
    page.get_by_role("link", name="Reports").click()
    rows = page.locator("tr[data-report]")
    rows.first.wait_for()
    before = rows.count()
    project = demo_project(demo_app)
    listed = (
        demo_app.test_client()
        .get(f"/api/v1/reports/{project['id']}?page_size=50", headers=api_headers(demo_app))
        .get_json()
    )
    assert before == len(listed) > 0
    newest = listed[0]

    rows.first.get_by_role("button", name="Open").click()
    frame = page.frame_locator("iframe.report-frame")
    frame.locator("body").wait_for()
    assert frame.locator("body").inner_text().strip() != ""
    check_page(page, "reports")

    with page.expect_download() as csv:
        rows.first.get_by_role("button", name="CSV", exact=False).click()
    assert csv.value.suggested_filename.endswith(".csv")
    assert Path(csv.value.path()).read_text().startswith("section,table,row,column,value")
    with page.expect_download() as pdf:
        rows.first.get_by_role("button", name="PDF", exact=False).click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    assert newest["report_type"] in csv.value.suggested_filename

    page.select_option("#report-type", "sales")
    page.fill("#report-start", "2026-01-01")
    page.fill("#report-end", "2026-01-07")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(f"() => document.querySelectorAll('tr[data-report]').length > {before}")
    assert page.get_by_test_id("reports-error").is_hidden()


def _receive(app, project_id: str, text: str) -> None:
    """What the messages plugin's webhook job does with a Telegram message (a private chat)."""
    from plugins.messages.inbound import record_inbound
    from plugins.messages.models import Integration

    state = app.extensions["nebulo"]
    session = state.db.sessions()
    try:
        integration = session.scalars(
            select(Integration).where(
                Integration.project_id == uuid.UUID(project_id), Integration.provider == "telegram"
            )
        ).first()
        ctx = Context(
            project_id=uuid.UUID(project_id),
            permissions=frozenset(state.registry.permissions),
            role="owner",
        )
        record_inbound(
            session,
            ctx,
            integration,
            {
                "provider_message_id": str(uuid.uuid4().int % 10**9),
                "sender": {"chat_id": "5550001234", "name": "Holiday Asker"},
                "content": text,
            },
        )
        session.commit()
    finally:
        session.close()


def test_a_viewer_sees_no_buttons_they_may_not_use(page, base_url, demo_app):
    client = demo_app.test_client()
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post(
            "/api/v1/auth/register", json={"email": email, "password": "viewer password 1"}
        ).status_code
        == 201
    )
    project = demo_project(demo_app)
    invited = client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"email": email, "role": "viewer"},
        headers=api_headers(demo_app),
    )
    assert invited.status_code == 201

    log_in(page, base_url, email, "viewer password 1")
    assert role_shown(page) == "viewer"
    page.get_by_role("link", name="Inbox").click()
    page.locator(".conversations .conversation").first.click()
    page.locator(".thread .msg").first.wait_for()
    for button in ("Send", "Draft with AI", "Mark as read"):
        assert page.get_by_role("button", name=button).count() == 0
    check_page(page, "inbox-viewer")
    # and the API refuses anyway
    refused = client.post(
        f"/api/v1/messages/{project['id']}/send",
        json={"provider": "whatsapp", "content": "hi", "recipient": {"phone": "+15550009999"}},
        headers=api_headers(demo_app, email, "viewer password 1"),
    )
    assert refused.status_code == 403


def test_a_new_user_meets_empty_states(page, base_url, demo_app):
    client = demo_app.test_client()
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    assert (
        client.post(
            "/api/v1/auth/register", json={"email": email, "password": "a new password 1"}
        ).status_code
        == 201
    )
    log_in(page, base_url, email, "a new password 1")
    page.get_by_text("No project yet").wait_for()
    check_page(page, "no-project")

    headers = api_headers(demo_app, email, "a new password 1")
    assert (
        client.post("/api/v1/projects", json={"name": "Empty shop"}, headers=headers).status_code
        == 201
    )
    page.get_by_role("button", name="Log out").click()
    log_in(page, base_url, email, "a new password 1")
    chart = page.locator("[data-panel='sales.revenue_by_day']")
    chart.get_by_text("No data for this period yet.").wait_for()
    riskiest = page.locator("[data-panel='customers.riskiest']")
    riskiest.get_by_text("No data for this period yet.").wait_for()
    page.get_by_role("link", name="Analytics").click()
    forecast = page.locator("[data-panel='analytics.forecast']")
    forecast.get_by_text("A sales forecast needs at least").wait_for()
    assert not forecast.get_by_role("alert").is_visible()
    page.get_by_role("link", name="Inbox").click()
    page.get_by_text("No messages yet.").wait_for()
    page.get_by_role("link", name="Assistant").click()
    page.get_by_text("No conversations yet.").wait_for()
    check_page(page, "empty-chat")


def test_an_expired_session_goes_back_to_the_login(page, base_url, demo_app):
    log_in(page, base_url)
    page.locator("[data-panel]").first.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.panel .loading')]"
        ".every((element) => element.style.display === 'none')"
    )
    state = demo_app.extensions["nebulo"]
    with state.db.sessions() as session:  # every login session of the demo user ends
        user_id = session.scalar(select(User.id).where(User.email == DEMO_EMAIL))
        families = select(RefreshToken.family_id).where(RefreshToken.user_id == user_id)
        for family in set(session.scalars(families)):
            logout(session, family)
        session.commit()
    page.evaluate("() => { location.hash = '#/chat'; }")  # the next call is refused
    page.get_by_text("Your session has expired: log in again.").wait_for()
    assert page.locator("#login-user").is_visible()
    check_page(page, "session-expired")


# ---- a provider that is slow or down ------------------------------------------------------------


class SlowModel:
    """An OpenAI-compatible server that answers every chat after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                body = json.dumps(
                    {
                        "model": "slow-model",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "Here at last."},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def provider_app(demo_app, base: str):
    """The demo store's database served by an app whose model provider lives at ``base``."""
    return build_app(
        demo_app.config["TEST_DATABASE_URL"],
        plugin={
            "NEBULO_ASSISTANT_PROVIDER": "openai",
            "NEBULO_OPENAI_BASE_URL": base,
            "NEBULO_ASSISTANT_RETRIES": 0,
            "NEBULO_ASSISTANT_TIMEOUT_SECONDS": 5.0,
        },
    )


def test_a_slow_answer_shows_progress_and_a_provider_down_says_so(page, demo_app):
    model = SlowModel(delay=2.0)
    try:
        with served(provider_app(demo_app, model.url)) as address:
            log_in(page, f"http://{address}")
            page.get_by_role("link", name="Assistant").click()
            page.fill("#question", "Anything new with the store today?")
            page.keyboard.press("Enter")
            progress = page.get_by_test_id("chat-progress")
            progress.wait_for()
            assert progress.inner_text().startswith("Working:")
            page.get_by_text("Here at last.").wait_for(timeout=15_000)
            assert progress.is_hidden()
            check_page(page, "chat-slow")
    finally:
        model.close()

    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        closed_port = probe.server_address[1]  # nothing listens there once the probe is closed
    down = provider_app(demo_app, f"http://127.0.0.1:{closed_port}")
    with served(down) as address:
        log_in(page, f"http://{address}")
        page.get_by_role("link", name="Assistant").click()
        page.fill("#question", "Anything new with the store today?")
        page.keyboard.press("Enter")
        error = page.get_by_test_id("chat-error")
        error.wait_for(timeout=15_000)
        assert "model provider is not answering" in error.inner_text()
        check_page(page, "chat-provider-down")


# ---- the production stack ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgresql_demo_app():
    """The demo store on PostgreSQL (a schema of its own) with Redis for events and limits."""
    from tests.conftest import POSTGRES_URL, REDIS_URL, _service_missing

    schema = f"console_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as error:  # noqa: BLE001
        _service_missing("PostgreSQL/Redis", error)
    namespace = f"nebulo-test-{schema}"
    app = build_app(
        f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
        redis_url=REDIS_URL,
        redis_namespace=namespace,
    )
    try:
        migrate.upgrade(app)
        with app.app_context():
            load_demo_data(app, DEMO_EMAIL, DEMO_PASSWORD)
        yield app
    finally:
        app.extensions["nebulo"].jobs.stop()
        app.extensions["nebulo"].db.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)


def test_the_console_on_postgresql_and_redis(page, postgresql_demo_app):
    with served(postgresql_demo_app) as address:
        log_in(page, f"http://{address}")
        figure = page.locator("[data-panel='sales.totals'] .figure").first
        figure.wait_for()
        project = demo_project(postgresql_demo_app)
        answer = postgresql_demo_app.test_client().post(
            f"/api/v1/metrics/{project['id']}/query",
            json={"metrics": ["revenue"], "period": "last 30 days"},
            headers=api_headers(postgresql_demo_app),
        )
        revenue = answer.get_json()["totals"]["revenue"]
        assert float(figure.inner_text().replace(",", "")) == round(revenue, 2)
        page.locator("[data-panel='sales.revenue_by_day'] .chart svg").wait_for()

        page.get_by_role("link", name="Assistant").click()
        page.fill("#question", "List the products that sold best in the past 2 weeks")
        page.keyboard.press("Enter")
        page.locator(".msg.assistant table tbody tr").first.wait_for(timeout=30_000)
        check_page(page, "chat-postgresql")
