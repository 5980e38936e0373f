"""Settings come from environment variables only, with safe defaults and clear errors."""

from __future__ import annotations

import pytest

from core.config import ConfigError, Setting, load_settings, parse_bool, parse_list

SECRET = "s" * 40


def test_defaults_are_safe_for_development(tmp_path):
    environ = {"NEBULO_INSTANCE_PATH": str(tmp_path / "instance")}
    settings = load_settings(environ)
    assert settings.env == "development" and not settings.is_production
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and not settings.uses_redis
    assert settings.access_token_minutes == 15
    assert (
        settings.rate_limit_auth == "5/minute"
        and settings.rate_limit_login_account_address == "5/minute"
    )
    assert settings.rate_limit_ai == "60/minute" and settings.rate_limit_default == "100/minute"
    # development keeps one random secret across restarts
    assert len(settings.secret_key) >= 32
    assert load_settings(environ).secret_key == settings.secret_key
    assert (tmp_path / "instance" / "secret_key").read_text().strip() == settings.secret_key


def test_every_variable_is_read(tmp_path):
    settings = load_settings(
        {
            "NEBULO_ENV": "production",
            "NEBULO_SECRET_KEY": SECRET,
            "DATABASE_URL": "postgresql://db/nebulo",
            "REDIS_URL": "redis://cache:6379/1",
            "NEBULO_ACCESS_TOKEN_MINUTES": "5",
            "NEBULO_REFRESH_TOKEN_DAYS": "7",
            "NEBULO_RATE_LIMITS_ENABLED": "no",
            "NEBULO_RATE_LIMIT_AUTH": "10/minute",
            "NEBULO_RATE_LIMIT_LOGIN_ACCOUNT_ADDRESS": "3/minute",
            "NEBULO_PLUGINS": "orders, customers,",
            "NEBULO_DISABLE_PLUGINS": "assistant",
            "NEBULO_MAX_BODY_BYTES": "2048",
            "NEBULO_TRUSTED_PROXIES": "2",
            "NEBULO_WEBHOOK_TIMEOUT_SECONDS": "2.5",
            "NEBULO_LOG_LEVEL": "debug",
        }
    )
    assert settings.is_production and settings.secret_key == SECRET
    assert settings.database_url == "postgresql://db/nebulo" and settings.uses_redis
    assert (settings.access_token_minutes, settings.refresh_token_days) == (5, 7)
    assert settings.rate_limits_enabled is False
    assert settings.rate_limit_auth == "10/minute"
    assert settings.rate_limit_login_account_address == "3/minute"
    assert settings.plugins == ("orders", "customers")
    assert settings.disable_plugins == ("assistant",)
    assert settings.max_body_bytes == 2048 and settings.webhook_timeout_seconds == 2.5
    assert settings.trusted_proxies == 2
    assert settings.log_level == "DEBUG"


def test_overrides_win_over_the_environment():
    settings = load_settings(
        {"NEBULO_ENV": "testing", "NEBULO_SECRET_KEY": SECRET, "NEBULO_MAX_BODY_BYTES": "10"},
        max_body_bytes=99,
    )
    assert settings.max_body_bytes == 99


def test_production_without_a_secret_refuses_to_start():
    with pytest.raises(ConfigError, match="NEBULO_SECRET_KEY"):
        load_settings({"NEBULO_ENV": "production"})
    with pytest.raises(ConfigError, match="NEBULO_SECRET_KEY must be at least 32"):
        load_settings({"NEBULO_ENV": "production", "NEBULO_SECRET_KEY": "short"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "NEBULO_ACCESS_TOKEN_MINUTES",
            "fifteen",
            "NEBULO_ACCESS_TOKEN_MINUTES='fifteen' is invalid",
        ),
        ("NEBULO_ACCESS_TOKEN_MINUTES", "0", "NEBULO_ACCESS_TOKEN_MINUTES must be a positive"),
        ("NEBULO_REFRESH_TOKEN_DAYS", "-1", "NEBULO_REFRESH_TOKEN_DAYS must be a positive"),
        ("NEBULO_MAX_BODY_BYTES", "0", "NEBULO_MAX_BODY_BYTES must be a positive"),
        ("NEBULO_RATE_LIMITS_ENABLED", "maybe", "'maybe' is not a boolean"),
        ("NEBULO_WEBHOOK_TIMEOUT_SECONDS", "soon", "NEBULO_WEBHOOK_TIMEOUT_SECONDS='soon'"),
        ("NEBULO_ENV", "staging", "NEBULO_ENV must be one of"),
        ("NEBULO_LOG_LEVEL", "LOUD", "NEBULO_LOG_LEVEL must be one of"),
        ("NEBULO_TRUSTED_PROXIES", "-1", "NEBULO_TRUSTED_PROXIES must be the number of proxies"),
        ("NEBULO_TRUSTED_PROXIES", "all", "NEBULO_TRUSTED_PROXIES='all' is invalid"),
    ],
)
def test_bad_values_name_the_variable(variable, value, message):
    environ = {"NEBULO_ENV": "testing", "NEBULO_SECRET_KEY": SECRET, variable: value}
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert message in str(raised.value)


def test_an_empty_variable_means_the_default():
    settings = load_settings(
        {"NEBULO_ENV": "testing", "NEBULO_SECRET_KEY": SECRET, "NEBULO_ACCESS_TOKEN_MINUTES": ""}
    )
    assert settings.access_token_minutes == 15


def test_parsers():
    assert [parse_bool(v) for v in ("1", "TRUE", " yes ", "on")] == [True] * 4
    assert [parse_bool(v) for v in ("0", "false", "No", "off", "")] == [False] * 5
    assert parse_list(" a, b ,,c ") == ("a", "b", "c")


def test_plugin_settings_are_parsed_from_the_same_environment():
    declared = [
        Setting("NEBULO_ORDERS_PAGE_SIZE", 25, "Default page size", parse=int),
        Setting("NEBULO_ORDERS_STRICT", False, "Reject unknown products", parse=parse_bool),
        Setting("NEBULO_ORDERS_CURRENCY", "EUR", "Default currency"),
    ]
    environ = {
        "NEBULO_ENV": "testing",
        "NEBULO_SECRET_KEY": SECRET,
        "NEBULO_ORDERS_PAGE_SIZE": "10",
        "NEBULO_ORDERS_STRICT": "yes",
    }
    settings = load_settings(environ).with_plugin_settings(declared)
    assert settings.get("NEBULO_ORDERS_PAGE_SIZE") == 10
    assert settings.get("NEBULO_ORDERS_STRICT") is True
    assert settings.get("NEBULO_ORDERS_CURRENCY") == "EUR"
    with pytest.raises(KeyError, match="NEBULO_NOPE was not declared"):
        settings.get("NEBULO_NOPE")


def test_a_bad_plugin_setting_names_the_variable():
    declared = [Setting("NEBULO_ORDERS_PAGE_SIZE", 25, "Default page size", parse=int)]
    environ = {
        "NEBULO_ENV": "testing",
        "NEBULO_SECRET_KEY": SECRET,
        "NEBULO_ORDERS_PAGE_SIZE": "ten",
    }
    with pytest.raises(ConfigError, match="NEBULO_ORDERS_PAGE_SIZE='ten' is invalid"):
        load_settings(environ).with_plugin_settings(declared)


def test_a_plugin_setting_required_in_production_must_be_set_there():
    declared = [Setting("NEBULO_VAULT_KEY", None, "Key of the vault", required_in_production=True)]
    production = {"NEBULO_ENV": "production", "NEBULO_SECRET_KEY": SECRET}
    for unset in ({}, {"NEBULO_VAULT_KEY": ""}):
        with pytest.raises(ConfigError, match="NEBULO_VAULT_KEY is not set; production needs it"):
            load_settings({**production, **unset}).with_plugin_settings(declared)
    settings = load_settings({**production, "NEBULO_VAULT_KEY": "k"}).with_plugin_settings(declared)
    assert settings.get("NEBULO_VAULT_KEY") == "k"
    development = load_settings({"NEBULO_ENV": "testing", "NEBULO_SECRET_KEY": SECRET})
    assert development.with_plugin_settings(declared).get("NEBULO_VAULT_KEY") is None


def test_a_plugin_registers_a_setting_and_reads_it(make_app):
    from tests.core.helpers import make_plugin

    plugin = make_plugin(
        "greeter",
        register_settings=lambda register: register(
            Setting("NEBULO_GREETING", "hello", "What the greeter says")
        ),
    )
    app = make_app(extra_plugins=[("greeter", plugin)])
    assert app.extensions["nebulo"].settings.get("NEBULO_GREETING") == "hello"
    records = app.extensions["nebulo"].plugins.records
    assert records["greeter"].status == "loaded"


def test_a_plugin_registering_something_that_is_not_a_setting_fails(make_app):
    from tests.core.helpers import make_plugin

    plugin = make_plugin("sloppy", register_settings=lambda register: register("NEBULO_X"))
    record = (
        make_app(extra_plugins=[("sloppy", plugin)]).extensions["nebulo"].plugins.records["sloppy"]
    )
    assert record.status == "failed" and "not a core.config.Setting" in record.error
