"""The plugin manager: finds plugins, orders them by ``requires`` and isolates their failures.

Each plugin's contributions are first collected into a staging area; only a plugin whose every
registration hook succeeded is committed to the registry. A plugin that fails to import, raises
in a hook, registers something invalid or requires a plugin that is missing or failed is
disabled with one log line and listed as failed; the app still starts. So is a plugin written
for another version of the contract (its ``plugin_info`` ``"nebulo"`` range).

Every hook implementation is called through :meth:`PluginManager.call`, one plugin at a time,
so that a failure is pinned to its plugin; with tracing on (``NEBULO_TRACE_PLUGINS=1``) each
call is logged with its plugin and duration on the ``core.plugins.trace`` logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from core import hookspecs
from core.config import Setting

log = logging.getLogger(__name__)
trace_log = logging.getLogger(__name__ + ".trace")

ENTRY_POINT_GROUP = "nebulo.plugins"
ROLES = ("viewer", "operator", "admin", "owner")
REGISTRATION_HOOKS = (
    "register_settings",
    "register_permissions",
    "register_models",
    "register_blueprints",
    "register_tools",
    "register_connectors",
    "register_jobs",
    "register_llm_providers",
    "register_metrics",
)


class PluginError(Exception):
    """A plugin gave something the framework cannot accept; the message names the plugin."""


@dataclass(frozen=True)
class Permission:
    name: str
    description: str
    min_role: str
    plugin: str


@dataclass(frozen=True)
class JobSpec:
    """A function the workers may run, with its retry policy."""

    name: str
    function: Callable[..., Any]
    retries: int
    backoff: tuple[float, ...]
    plugin: str


@dataclass
class PluginRecord:
    name: str
    status: str = "loaded"  # loaded | failed | disabled
    version: str = ""
    description: str = ""
    requires: tuple[str, ...] = ()
    # The contract versions the plugin declares it supports ("" when it declares none).
    contract: str = ""
    error: str | None = None
    module: Any = None
    contributions: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """Everything the loaded plugins contributed, keyed by name."""

    settings: dict[str, Setting] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    migration_dirs: list[str] = field(default_factory=list)
    blueprints: list[tuple[str, Any]] = field(default_factory=list)
    tools: dict[str, Any] = field(default_factory=dict)
    connectors: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    llm_providers: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    def permissions_for_role(self, role: str) -> frozenset[str]:
        rank = ROLES.index(role)
        return frozenset(
            p.name for p in self.permissions.values() if ROLES.index(p.min_role) <= rank
        )


def check_contract(supported: str) -> None:
    """Refuse a plugin whose declared contract range excludes this Nebulo's contract."""
    if not supported:
        return
    try:
        specifier = SpecifierSet(supported)
    except InvalidSpecifier:
        raise PluginError(
            f"its plugin_info 'nebulo' range {supported!r} is not a version specifier; "
            "write it like '>=1.0,<2'"
        ) from None
    if Version(hookspecs.CONTRACT_VERSION) not in specifier:
        raise PluginError(
            f"it needs the Nebulo plugin contract {supported}, but this Nebulo implements "
            f"contract {hookspecs.CONTRACT_VERSION}; install a version of the plugin made for it"
        )


def job_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}:{function.__qualname__}"


class _Staging:
    """Collects one plugin's registrations and validates each against the committed registry."""

    def __init__(self, plugin: str, registry: Registry):
        self.plugin = plugin
        self.registry = registry
        self.items: dict[str, dict[str, Any]] = {hook: {} for hook in REGISTRATION_HOOKS}

    def _add(self, hook: str, kind: str, name: str, value: Any) -> None:
        owner = self.registry.owners.get((kind, name))
        if owner is not None:
            raise PluginError(f"{kind} {name!r} is registered by both {owner} and {self.plugin}")
        if name in self.items[hook]:
            raise PluginError(f"{kind} {name!r} is registered twice by {self.plugin}")
        self.items[hook][name] = value

    def callback(self, hook: str) -> Callable[..., None]:
        return getattr(self, hook)

    def register_settings(self, setting: Setting) -> None:
        if not isinstance(setting, Setting):
            raise PluginError(
                f"{self.plugin} registered a setting that is not a core.config.Setting"
            )
        self._add("register_settings", "setting", setting.name, setting)

    def register_permissions(self, name: str, description: str, min_role: str = "operator") -> None:
        if min_role not in ROLES:
            raise PluginError(f"{self.plugin}: permission {name!r} has unknown role {min_role!r}")
        self._add(
            "register_permissions",
            "permission",
            name,
            Permission(name, description, min_role, self.plugin),
        )

    def register_models(self, migrations_dir: str | Path) -> None:
        path = Path(migrations_dir)
        if not path.is_dir():
            raise PluginError(f"{self.plugin}: migrations directory {path} does not exist")
        self._add("register_models", "migrations", str(path), str(path))

    def register_blueprints(self, blueprint: Any) -> None:
        self._add("register_blueprints", "blueprint", blueprint.name, blueprint)

    def register_tools(self, tool: Any) -> None:
        name = getattr(tool, "name", None)
        if not name or not callable(tool):
            raise PluginError(f"{self.plugin} registered a tool without a name; use @tool")
        self._add("register_tools", "tool", name, tool)

    def register_connectors(self, connector: Any) -> None:
        name = getattr(connector, "provider", None)
        if not name:
            raise PluginError(f"{self.plugin} registered a connector without a provider name")
        self._add("register_connectors", "connector", name, connector)

    def register_jobs(
        self,
        function: Callable[..., Any],
        retries: int = 0,
        backoff: Iterable[float] = (5, 30, 120),
    ) -> None:
        name = job_name(function)
        spec = JobSpec(name, function, int(retries), tuple(backoff), self.plugin)
        self._add("register_jobs", "job", name, spec)

    def register_llm_providers(self, name: str, factory: Callable[..., Any]) -> None:
        self._add("register_llm_providers", "llm provider", name, factory)

    def register_metrics(self, metric: Any) -> None:
        # The metrics engine's SQL constructs are imported when a metric is registered: listing
        # the commands loads the plugins without their registration hooks.
        from core.metrics.registry import validate_metric

        problems = validate_metric(metric)
        if problems:
            name = getattr(metric, "name", metric)
            raise PluginError(f"{self.plugin}: metric {name!r}: {'; '.join(problems)}")
        self._add("register_metrics", "metric", metric.name, replace(metric, plugin=self.plugin))

    def commit(self, record: PluginRecord) -> None:
        registry = self.registry
        kinds = {
            "register_settings": ("setting", registry.settings),
            "register_permissions": ("permission", registry.permissions),
            "register_tools": ("tool", registry.tools),
            "register_connectors": ("connector", registry.connectors),
            "register_jobs": ("job", registry.jobs),
            "register_llm_providers": ("llm provider", registry.llm_providers),
            "register_metrics": ("metric", registry.metrics),
        }
        for hook, (kind, target) in kinds.items():
            for name, value in self.items[hook].items():
                target[name] = value
                registry.owners[(kind, name)] = self.plugin
        for name, blueprint in self.items["register_blueprints"].items():
            registry.blueprints.append((self.plugin, blueprint))
            registry.owners[("blueprint", name)] = self.plugin
        registry.migration_dirs.extend(self.items["register_models"])
        record.contributions = {
            "permissions": sorted(self.items["register_permissions"]),
            "tools": sorted(self.items["register_tools"]),
            "connectors": sorted(self.items["register_connectors"]),
            "blueprints": sorted(self.items["register_blueprints"]),
            "jobs": sorted(self.items["register_jobs"]),
            "metrics": sorted(self.items["register_metrics"]),
            "migrations": sorted(self.items["register_models"]),
        }


class PluginManager:
    """Loads plugins into a :class:`Registry` and calls their runtime hooks in isolation."""

    def __init__(self, trace: bool = False) -> None:
        self.trace = trace
        self.pm = pluggy.PluginManager("nebulo")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.registry = Registry()
        self.order: list[str] = []

    def discover(self, extra: Iterable[tuple[str, Any]] = ()) -> list[tuple[str, Any]]:
        """(name, plugin) for every entry point of ``nebulo.plugins`` plus ``extra``.

        Entry points are imported by :meth:`load`, so a disabled plugin is never imported."""
        found: list[tuple[str, Any]] = sorted(
            (
                (entry_point.name, entry_point)
                for entry_point in entry_points(group=ENTRY_POINT_GROUP)
            ),
            key=lambda item: item[0],
        )
        found.extend(extra)
        return found

    def load(
        self,
        plugins: Iterable[tuple[str, Any]],
        enabled: Iterable[str] = (),
        disabled: Iterable[str] = (),
        registering: Iterable[str] = REGISTRATION_HOOKS,
    ) -> Registry:
        """Import, order and register ``plugins`` ((name, module or entry point) pairs).

        ``registering`` names the registration hooks called; the command line calls none, to
        learn which plugins load and their commands without importing their models and routes.
        """
        registering = tuple(registering)
        enabled, disabled = set(enabled), set(disabled)
        candidates: dict[str, PluginRecord] = {}
        for name, plugin in plugins:
            if name in self.records or name in candidates:
                earlier = candidates.pop(name, None) or self.records[name]
                self._fail(earlier, "two plugins are registered under this name")
                continue
            record = PluginRecord(name)
            if (enabled and name not in enabled) or name in disabled:
                record.status = "disabled"
                self.records[name] = record
                continue
            try:
                record.module = plugin.load() if isinstance(plugin, EntryPoint) else plugin
            except Exception as error:  # noqa: BLE001 - a broken plugin must not stop the app
                self._fail(record, f"import failed: {error!r}")
                continue
            try:
                self.pm.register(record.module, name=name)
                self._read_info(record)
            except PluginError as error:
                self._fail(record, str(error))
                continue
            except Exception as error:  # noqa: BLE001
                self._fail(record, f"invalid plugin: {error}")
                continue
            candidates[name] = record
        for name in self._ordered(candidates):
            record = candidates[name]
            if record.status == "failed":
                continue
            missing = [
                r
                for r in record.requires
                if self.records.get(r, PluginRecord(r, "")).status != "loaded"
            ]
            if missing:
                reasons = ", ".join(
                    f"{r} ({self.records[r].status})"
                    if r in self.records
                    else f"{r} (not installed)"
                    for r in missing
                )
                self._fail(record, f"requires {reasons}")
                continue
            self._stage_and_commit(record, registering)
        return self.registry

    def _read_info(self, record: PluginRecord) -> None:
        for impl in self.pm.hook.plugin_info.get_hookimpls():
            if impl.plugin_name == record.name:
                info = self.call("plugin_info", impl) or {}
                record.version = str(info.get("version", ""))
                record.description = str(info.get("description", ""))
                requires = info.get("requires", ())
                record.requires = (requires,) if isinstance(requires, str) else tuple(requires)
                record.contract = str(info.get("nebulo", ""))
        check_contract(record.contract)

    def _ordered(self, candidates: dict[str, PluginRecord]) -> list[str]:
        """Requirements first (stable by name); plugins on a requirement cycle fail."""
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = path[path.index(name) :] + [name]
                for member in cycle[:-1]:
                    self._fail(candidates[member], "cyclic requirement: " + " -> ".join(cycle))
                return
            state[name] = "visiting"
            for requirement in candidates[name].requires:
                if requirement in candidates:
                    visit(requirement, path + [name])
            state[name] = "done"
            order.append(name)

        for name in sorted(candidates):
            visit(name, [])
        return order

    def _stage_and_commit(self, record: PluginRecord, registering: tuple[str, ...]) -> None:
        staging = _Staging(record.name, self.registry)
        try:
            for hook in registering:
                for impl in getattr(self.pm.hook, hook).get_hookimpls():
                    if impl.plugin_name == record.name:
                        self.call(hook, impl, register=staging.callback(hook))
        except Exception as error:  # noqa: BLE001
            self._fail(record, f"{type(error).__name__} in {hook}: {error}")
            return
        staging.commit(record)
        record.status = "loaded"
        self.records[record.name] = record
        self.order.append(record.name)

    def _fail(self, record: PluginRecord, reason: str) -> None:
        record.status, record.error = "failed", reason
        self.records[record.name] = record
        if record.module is not None and self.pm.is_registered(record.module):
            self.pm.unregister(record.module)
        log.error("plugin %s disabled: %s", record.name, reason)

    def call_each(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call a runtime hook on every loaded plugin; exceptions are logged, not raised."""
        results = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if self.records.get(impl.plugin_name, PluginRecord("")).status != "loaded":
                continue
            try:
                arguments = {name: kwargs[name] for name in impl.argnames}
                result = self.call(hook, impl, **arguments)
            except Exception:  # noqa: BLE001
                log.exception("plugin %s failed in %s", impl.plugin_name, hook)
                continue
            if result is not None:
                results.append(result)
        return results

    def call(self, hook: str, impl: pluggy.HookImpl, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook; traced when tracing is on."""
        if not self.trace:
            return impl.function(**kwargs)
        started = time.perf_counter()
        outcome = "raised"
        try:
            result = impl.function(**kwargs)
            outcome = "returned"
            return result
        finally:
            trace_log.info(
                "hook %s: plugin %s %s in %.2f ms",
                hook,
                impl.plugin_name,
                outcome,
                (time.perf_counter() - started) * 1000,
            )

    def in_order(self, hook: str) -> list[Any]:
        """Hook implementations of loaded plugins, requirements first."""
        impls = {impl.plugin_name: impl for impl in getattr(self.pm.hook, hook).get_hookimpls()}
        return [impls[name] for name in self.order if name in impls]
