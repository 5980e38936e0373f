"""The plugin contract: every hook a Nebulo plugin may implement.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names are the
hooks below. It is found through the ``nebulo.plugins`` entry-point group; first-party plugins
are listed there exactly like third-party ones. Registration hooks get a ``register``
callback: the plugin calls ``register(thing)``; the framework owns the collection, validates
each thing and reports a duplicate name with both plugins named.

The contract is versioned (:data:`CONTRACT_VERSION`): a minor version adds hooks or optional
arguments, a major version changes or removes one. A plugin states the versions it was
written for in ``plugin_info`` (``"nebulo": ">=1.0,<2"``); one that does not match is refused
with the reason. ``NEBULO_TRACE_PLUGINS=1`` logs every hook call with its plugin and duration.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("nebulo")
hookimpl = pluggy.HookimplMarker("nebulo")

CONTRACT_VERSION = "1.1"


@hookspec(firstresult=True)
def plugin_info() -> dict[str, Any]:
    """Return ``{"name", "version", "description", "requires": [plugin names], "nebulo": range}``.

    ``nebulo`` is a version specifier of the contract (``">=1.0,<2"``); without it the plugin
    is assumed to work with every version."""


@hookspec
def register_settings(register) -> None:
    """Declare environment settings: ``register(Setting("NEBULO_X", default, "what it does"))``."""


@hookspec
def register_permissions(register) -> None:
    """Add permissions: ``register("create_order", "Create sales orders", min_role="operator")``."""


@hookspec
def register_models(register) -> None:
    """Import the models module and ``register(path)`` the plugin's Alembic version directory."""


@hookspec
def register_blueprints(register) -> None:
    """Add flask-smorest Blueprints; each is mounted under ``/api/v1`` + its ``url_prefix``."""


@hookspec
def register_tools(register) -> None:
    """Add assistant tools: ``register(tool)`` for ``@assistant.tools.tool`` functions."""


@hookspec
def register_connectors(register) -> None:
    """Add connector classes (``connectors.base.Connector`` subclasses) by provider name."""


@hookspec
def register_jobs(register) -> None:
    """Add background job functions: ``register(fn, retries=0, backoff=(...))``."""


@hookspec
def register_commands(cli) -> None:
    """Add click commands to the ``nebulo`` command group ``cli`` (a ``flask.cli.AppGroup``).

    ``nebulo --help`` calls it without building the app, on the plugin imported with none of
    its registration hooks: import the plugin's models and services inside the commands, not
    at the top of the module that defines them. A command runs inside the app's context, and
    only when the plugin loaded there; a name core or an earlier plugin took is refused."""


@hookspec
def register_llm_providers(register) -> None:
    """Add assistant providers: ``register(name, factory)``."""


@hookspec
def register_metrics(register) -> None:
    """Add metrics: ``register(core.metrics.Metric(...))``, a measure over the plugin's tables
    with its time column, dimensions, unit and words; the one source of figures."""


@hookspec
def load_demo(project, session) -> None:
    """Add this plugin's share of the demo data to ``project`` (``make run`` loads it)."""


@hookspec
def on_event(event) -> None:
    """React to a committed domain event (``order.created``, ``customer.risk_changed``, ...)."""


@hookspec
def check_order(session, order) -> None:
    """Refuse an order before it is stored by raising ``core.errors.Invalid`` naming the field
    (e.g. a link to one of this plugin's rows that does not fit); return to accept it.

    ``order`` is the unsaved ``Order`` with its customer, date and links set. The orders plugin
    calls every loaded plugin's implementation, requirements first, inside its transaction."""


@hookspec
def report_sections(register) -> None:
    """Contribute sections to reports (called by the reports plugin; in contract 1.1):
    ``register(report_type, name, title, figures=(metric, ...), tables=({...}, ...))``.

    A section is data: ``figures`` are metric names shown with the previous period's value
    and the change; each table is ``{"name", "title", "metrics", "group_by", "order", "limit",
    "chart"}`` (``chart``: ``line``, ``bar`` or ``arc``), answered by the metrics engine. A new
    ``report_type`` adds a type of report; a report's filters are its metrics' dimensions."""


@hookspec
def run_periodic(now) -> None:
    """Start what the calendar has due at ``now`` (UTC; in contract 1.1). Every worker calls it
    about once a minute (``core.scheduler``), several at once: claim each due row with
    ``core.scheduler.claim_due`` and enqueue its job in the same transaction, so it runs once."""


@hookspec
def register_console_panels(register) -> None:
    """Add panels to the operators' web console (``/``; added in contract 1.1):
    ``register(plugins.console.Panel(...))``. A panel is data, not code: a chart, a table or a
    figure of a metrics query (or a GET of one of the plugin's own routes) on the dashboard or
    on a page of its own (``page="visitors"`` adds that page to the console's menu). A ``line``
    panel over a route names its rows' ``x`` and ``y`` columns and may shade ``bands``, (lower,
    upper) column pairs such as a forecast's intervals. Each
    operator sees the panels whose metrics and permission they hold. Called by the console
    plugin; a duplicate panel name is refused with both plugins named."""
