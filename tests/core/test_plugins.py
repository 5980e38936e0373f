"""The plugin manager: installed packages found through the ``nebulo.plugins`` entry point,
``requires`` ordering, enabling/disabling, and isolation of every kind of plugin failure."""

from __future__ import annotations

import importlib
import logging
import textwrap
import uuid
from pathlib import Path

import pytest

from core.config import ConfigError, load_settings
from core.hookspecs import CONTRACT_VERSION
from tests.core.helpers import assert_error, make_plugin

STOCK_PLUGIN = '''
from flask.views import MethodView
from flask_smorest import Blueprint

from core.context import project_context
from core.hookspecs import hookimpl

blp = Blueprint("{name}", __name__, url_prefix="/{name}")


@blp.route("/<uuid:project_id>/stock")
class Stock(MethodView):
    @blp.response(200)
    def get(self, project_id):
        project_context(project_id, "view_stock")
        return {{"left": 3}}


def stock_level(ctx, sku: str) -> dict:
    """How many of a product are left."""
    return {{"sku": sku, "left": 3}}


stock_level.name = "stock_level"


@hookimpl
def plugin_info():
    return {{"name": "{name}", "version": "1.2.3", "description": "Stock levels", "requires": []}}


@hookimpl
def register_permissions(register):
    register("view_stock", "See stock levels", min_role="viewer")


@hookimpl
def register_blueprints(register):
    register(blp)


@hookimpl
def register_tools(register):
    register(stock_level)
'''


def simple_plugin(
    requires=(),
    permission: str | None = None,
    raises_in: str | None = None,
    contract: str | None = None,
) -> str:
    """Source of a plugin with ``plugin_info``, optionally a permission, a failing hook or the
    contract range it declares."""
    info = {"version": "0.1", "requires": requires}
    if contract is not None:
        info["nebulo"] = contract
    source = f"""
        from core.hookspecs import hookimpl

        @hookimpl
        def plugin_info():
            return {info!r}
    """
    if permission:
        source += f"""
        @hookimpl
        def register_permissions(register):
            register({permission!r}, "A permission", min_role="operator")
        """
    if raises_in:
        source += f"""
        @hookimpl
        def {raises_in}(register):
            raise ValueError("the plugin is broken")
        """
    return source


@pytest.fixture
def install(tmp_path: Path, monkeypatch):
    """Install a throw-away plugin package: a module plus a dist-info with its entry point."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install_plugin(name: str, source: str) -> str:
        module = f"nebulo_test_{name}_{uuid.uuid4().hex[:8]}"
        (site / module).mkdir()
        (site / module / "__init__.py").write_text(textwrap.dedent(source))
        dist_info = site / f"{module}-1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n"
        )
        (dist_info / "entry_points.txt").write_text(f"[nebulo.plugins]\n{name} = {module}\n")
        importlib.invalidate_caches()
        return module

    return install_plugin


def headers_for(client) -> dict[str, str]:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "correct horse battery"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    tokens = client.post("/api/v1/auth/login", json=body).get_json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def plugins_by_name(client, headers) -> dict[str, dict]:
    response = client.get("/api/v1/plugins", headers=headers)
    assert response.status_code == 200
    return {plugin["name"]: plugin for plugin in response.get_json()}


def plugin_log_lines(caplog, name: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "core.plugins" and record.getMessage().startswith(f"plugin {name} ")
    ]


def test_an_installed_package_adds_routes_permissions_and_tools(install, make_app):
    install("stock", STOCK_PLUGIN.format(name="stock"))
    app = make_app()
    client = app.test_client()
    headers = headers_for(client)

    listed = plugins_by_name(client, headers)["stock"]
    assert listed["status"] == "loaded" and listed["error"] is None
    assert listed["version"] == "1.2.3" and listed["description"] == "Stock levels"
    assert listed["permissions"] == ["view_stock"] and listed["tools"] == ["stock_level"]

    state = app.extensions["nebulo"]
    assert state.registry.tools["stock_level"](None, "sku-1") == {"sku": "sku-1", "left": 3}
    assert "view_stock" in state.permissions_for_role("viewer")
    project = client.post("/api/v1/projects", json={"name": "Shop"}, headers=headers).get_json()
    response = client.get(f"/api/v1/stock/{project['id']}/stock", headers=headers)
    assert response.status_code == 200 and response.get_json() == {"left": 3}
    assert_error(client.get(f"/api/v1/stock/{uuid.uuid4()}/stock", headers=headers), 404)
    assert "/api/v1/stock/{project_id}/stock" in client.get("/openapi.json").get_json()["paths"]


def test_the_plugins_list_needs_a_login(client):
    assert_error(client.get("/api/v1/plugins"), 401)


def test_broken_plugins_are_listed_as_failed_and_the_app_still_starts(install, make_app, caplog):
    install("stock", STOCK_PLUGIN.format(name="stock"))
    install("unimportable", "raise ImportError('missing dependency: numpyy')")
    install("raising", simple_plugin(raises_in="register_permissions"))
    install("needy", simple_plugin(requires=["ghost"]))
    install("first", simple_plugin(permission="shared_permission"))
    install("second", simple_plugin(permission="shared_permission"))
    install("chicken", simple_plugin(requires=["egg"]))
    install("egg", simple_plugin(requires=["chicken"]))
    install("copycat", simple_plugin(permission="view_project"))

    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        app = make_app()
    client = app.test_client()
    plugins = plugins_by_name(client, headers_for(client))

    assert plugins["stock"]["status"] == "loaded"
    assert plugins["first"]["status"] == "loaded"
    expected_errors = {
        "unimportable": ["import failed", "numpyy"],
        "raising": ["ValueError", "register_permissions", "the plugin is broken"],
        "needy": ["requires ghost (not installed)"],
        "second": ["shared_permission", "first", "second"],
        "chicken": ["cyclic requirement", "chicken -> egg -> chicken"],
        "egg": ["cyclic requirement"],
        "copycat": ["view_project", "core", "copycat"],
    }
    for name, fragments in expected_errors.items():
        assert plugins[name]["status"] == "failed", plugins[name]
        for fragment in fragments:
            assert fragment in plugins[name]["error"], (name, plugins[name]["error"])
        lines = plugin_log_lines(caplog, name)
        assert len(lines) == 1, (name, lines)
        assert plugins[name]["error"] in lines[0]
    registry = app.extensions["nebulo"].registry
    assert registry.permissions["shared_permission"].plugin == "first"
    assert registry.permissions["view_project"].plugin == "core"


def test_a_plugin_that_requires_a_failed_plugin_fails_too(install, make_app):
    install("base", simple_plugin(raises_in="register_settings"))
    install("addon", simple_plugin(requires=["base"]))
    app = make_app()
    records = app.extensions["nebulo"].plugins.records
    assert records["base"].status == "failed"
    assert records["addon"].status == "failed" and "base (failed)" in records["addon"].error


def test_requirements_are_loaded_first(install, make_app):
    install("alpha", simple_plugin(requires=["zeta"]))
    install("zeta", simple_plugin())
    install("mid", simple_plugin(requires=("alpha", "zeta")))
    order = make_app().extensions["nebulo"].plugins.order
    assert order.index("zeta") < order.index("alpha") < order.index("mid")


def test_requires_may_be_a_single_name(install, make_app):
    install("alpha", simple_plugin(requires="zeta"))
    install("zeta", simple_plugin())
    records = make_app().extensions["nebulo"].plugins.records
    assert records["alpha"].status == "loaded" and records["alpha"].requires == ("zeta",)


def test_disabled_plugins_are_listed_but_not_loaded(install, make_app, caplog):
    install("stock", STOCK_PLUGIN.format(name="stock"))
    install("unimportable", "raise ImportError('should never be imported')")
    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        app = make_app(disable_plugins=("stock", "unimportable"))
    client = app.test_client()
    plugins = plugins_by_name(client, headers_for(client))
    assert plugins["stock"]["status"] == "disabled" and plugins["stock"]["permissions"] == []
    assert plugins["unimportable"]["status"] == "disabled"
    assert plugin_log_lines(caplog, "unimportable") == []
    assert "view_stock" not in app.extensions["nebulo"].registry.permissions
    assert_error(
        client.get(f"/api/v1/stock/{uuid.uuid4()}/stock", headers=headers_for(client)), 404
    )


def test_only_the_listed_plugins_are_enabled(install, make_app):
    install("stock", STOCK_PLUGIN.format(name="stock"))
    install("other", simple_plugin())
    records = make_app(plugins=("stock",)).extensions["nebulo"].plugins.records
    assert records["stock"].status == "loaded"
    assert records["other"].status == "disabled"


def test_a_plugin_requiring_a_disabled_plugin_fails_with_the_reason(install, make_app):
    install("base", simple_plugin())
    install("addon", simple_plugin(requires=["base"]))
    records = make_app(disable_plugins=("base",)).extensions["nebulo"].plugins.records
    assert records["addon"].status == "failed" and "base (disabled)" in records["addon"].error


def test_a_plugin_given_in_code_and_its_runtime_hooks(make_app, caplog):
    """``extra_plugins`` are loaded like entry points; a runtime hook that raises is logged and
    the other plugins still run."""
    seen = []
    good = make_plugin("good", on_event=lambda event: seen.append(event) or "handled")
    bad = make_plugin("bad", on_event=lambda event: 1 / 0)
    app = make_app(extra_plugins=[("good", good), ("bad", bad)])
    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        results = app.extensions["nebulo"].plugins.call_each("on_event", event="order.created")
    assert results == ["handled"] and seen == ["order.created"]
    assert any("bad failed in on_event" in record.getMessage() for record in caplog.records)


def test_two_plugins_under_one_name_both_fail_clearly(make_app):
    first = make_plugin("dup", plugin_info=lambda: {"version": "1"})
    second = make_plugin("dup", plugin_info=lambda: {"version": "2"})
    records = (
        make_app(extra_plugins=[("dup", first), ("dup", second)])
        .extensions["nebulo"]
        .plugins.records
    )
    assert records["dup"].status == "failed"
    assert "two plugins" in records["dup"].error


def test_a_plugin_declares_the_contract_versions_it_supports(install, make_app, caplog):
    major = int(CONTRACT_VERSION.split(".")[0])
    install("current", simple_plugin(contract=f">={CONTRACT_VERSION},<{major + 1}"))
    install("undeclared", simple_plugin())
    install("future", simple_plugin(contract=f">={major + 1}.0,<{major + 2}"))
    install("garbled", simple_plugin(contract="one point oh or later"))
    with caplog.at_level(logging.ERROR, logger="core.plugins"):
        app = make_app()
    client = app.test_client()
    plugins = plugins_by_name(client, headers_for(client))

    assert plugins["current"]["status"] == "loaded"
    assert plugins["current"]["nebulo"] == f">={CONTRACT_VERSION},<{major + 1}"
    assert plugins["undeclared"]["status"] == "loaded" and plugins["undeclared"]["nebulo"] == ""
    future = plugins["future"]
    assert future["status"] == "failed"
    assert f"needs the Nebulo plugin contract >={major + 1}.0" in future["error"]
    assert f"implements contract {CONTRACT_VERSION}" in future["error"]
    garbled = plugins["garbled"]
    assert garbled["status"] == "failed"
    assert "'one point oh or later' is not a version specifier" in garbled["error"]
    for name in ("future", "garbled"):
        assert plugin_log_lines(caplog, name) == [
            f"plugin {name} disabled: {plugins[name]['error']}"
        ]


def test_a_refused_plugin_adds_nothing(install, make_app):
    install("future", simple_plugin(permission="future_permission", contract=">=99"))
    app = make_app()
    assert "future_permission" not in app.extensions["nebulo"].registry.permissions


def test_tracing_logs_every_hook_call_with_its_plugin_and_duration(make_app, caplog):
    traced = make_plugin(
        "traced",
        plugin_info=lambda: {"version": "1"},
        register_permissions=lambda register: register("traced_permission", "Traced"),
        on_event=lambda event: None,
    )
    with caplog.at_level(logging.INFO, logger="core.plugins.trace"):
        app = make_app(extra_plugins=[("traced", traced)], trace_plugins=True)
        app.extensions["nebulo"].plugins.call_each("on_event", event="order.created")
    lines = [r.getMessage() for r in caplog.records if r.name == "core.plugins.trace"]
    for hook in ("plugin_info", "register_permissions", "on_event"):
        matching = [line for line in lines if line.startswith(f"hook {hook}: plugin traced ")]
        assert len(matching) == 1, (hook, lines)
        assert matching[0].endswith(" ms") and " returned in " in matching[0]
    assert any(line.startswith("hook register_blueprints: plugin orders ") for line in lines)


def test_tracing_names_a_hook_that_raised(make_app, caplog):
    broken = make_plugin("broken", register_permissions=lambda register: 1 / 0)
    with caplog.at_level(logging.INFO, logger="core.plugins.trace"):
        make_app(extra_plugins=[("broken", broken)], trace_plugins=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "core.plugins.trace"]
    assert any(
        line.startswith("hook register_permissions: plugin broken raised in ") for line in lines
    )


def test_without_tracing_no_hook_call_is_logged(make_app, caplog):
    with caplog.at_level(logging.INFO, logger="core.plugins.trace"):
        make_app()
    assert [r for r in caplog.records if r.name == "core.plugins.trace"] == []


def test_the_trace_setting_is_a_boolean():
    assert load_settings({"NEBULO_TRACE_PLUGINS": "1"}, secret_key="x" * 40).trace_plugins
    assert not load_settings({}, secret_key="x" * 40).trace_plugins
    with pytest.raises(ConfigError, match="NEBULO_TRACE_PLUGINS='sometimes' is invalid"):
        load_settings({"NEBULO_TRACE_PLUGINS": "sometimes"}, secret_key="x" * 40)
