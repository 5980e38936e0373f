"""Failed-login limits: per account and address, per address, and a higher ceiling per account.
An attacker's failures must not lock the real user out, nor reveal which accounts exist."""

from __future__ import annotations

import pytest

from core.config import ConfigError
from tests.core.helpers import assert_error

PASSWORD = "correct horse battery"
ATTACKER, USER = "10.0.0.66", "10.0.0.7"


def login(client, identifier: str, password: str, address: str = ATTACKER, field: str = "email"):
    return client.post(
        "/api/v1/auth/login",
        json={field: identifier, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def register(client, email: str = "ada@example.com", **extra) -> None:
    body = {"email": email, "password": PASSWORD, **extra}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201


def test_the_real_user_logs_in_from_elsewhere_while_an_attacker_is_locked_out(make_app):
    client = make_app(rate_limit_login_account_address="3/minute").test_client()
    register(client)
    for _ in range(3):
        assert_error(login(client, "ada@example.com", "wrong password"), 401)
    assert_error(login(client, "ada@example.com", "wrong password"), 429, "RATE_LIMITED")
    # the attacker's address waits even with the right password...
    assert_error(login(client, "ada@example.com", PASSWORD), 429, "RATE_LIMITED")
    # ...but the real user, from their own address, is not locked out
    assert login(client, "ada@example.com", PASSWORD, address=USER).status_code == 200


def test_email_and_username_in_any_case_are_one_account(make_app):
    client = make_app(rate_limit_login_account_address="3/minute").test_client()
    register(client, username="ada")
    assert_error(login(client, "Ada@Example.com", "wrong password"), 401)
    assert_error(login(client, "ADA", "wrong password", field="username"), 401)
    assert_error(login(client, "ada@example.com", "wrong password", field="username"), 401)
    assert_error(login(client, "ada", "wrong password", field="username"), 429)
    assert_error(login(client, "ADA@EXAMPLE.COM", "wrong password"), 429)


def test_unknown_identifiers_are_limited_like_accounts(make_app):
    """Otherwise the 429 (or its absence) would tell which accounts exist."""
    client = make_app(rate_limit_login_account_address="2/minute").test_client()
    register(client)
    answers = {}
    for identifier in ("ada@example.com", "ghost@example.com"):
        for _ in range(2):
            assert_error(login(client, identifier, "wrong password"), 401)
        answers[identifier] = login(client, identifier.upper(), "wrong password")
    existing, missing = answers["ada@example.com"], answers["ghost@example.com"]
    assert assert_error(existing, 429)["detail"] == assert_error(missing, 429)["detail"]
    assert existing.headers["X-RateLimit-Limit"] == missing.headers["X-RateLimit-Limit"]
    # another identifier is counted on its own
    assert_error(login(client, "eve@example.com", "wrong password"), 401)


def test_successful_logins_do_not_count(make_app):
    client = make_app(rate_limit_login_account_address="2/minute").test_client()
    register(client)
    for _ in range(4):
        assert login(client, "ada@example.com", PASSWORD).status_code == 200
    assert_error(login(client, "ada@example.com", "wrong password"), 401)
    assert login(client, "ada@example.com", PASSWORD).status_code == 200


def test_failures_from_one_address_are_limited_across_accounts(make_app):
    client = make_app(rate_limit_login_address="3/minute").test_client()
    register(client)
    for index in range(3):
        assert_error(login(client, f"user{index}@example.com", "wrong password"), 401)
    assert_error(login(client, "ada@example.com", "wrong password"), 429, "RATE_LIMITED")
    assert login(client, "ada@example.com", PASSWORD, address=USER).status_code == 200


def test_the_account_ceiling_counts_failures_from_every_address(make_app):
    client = make_app(rate_limit_login_account="3/hour").test_client()
    register(client)
    for index in range(3):
        assert_error(login(client, "ada@example.com", "wrong", address=f"10.0.1.{index}"), 401)
    assert_error(login(client, "ada@example.com", PASSWORD, address=USER), 429, "RATE_LIMITED")
    # other accounts are not affected
    register(client, "bob@example.com")
    assert login(client, "bob@example.com", PASSWORD, address=USER).status_code == 200


def test_429_carries_retry_after_and_rate_limit_headers(make_app):
    client = make_app(rate_limit_login_account_address="1/minute").test_client()
    first = login(client, "ada@example.com", "wrong password")
    assert first.headers["X-RateLimit-Limit"]
    response = login(client, "ada@example.com", "wrong password")
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response.headers["Retry-After"]) > 0
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert header in response.headers
    assert response.headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.parametrize(
    "body", [[], "text", {"email": ["a"], "password": "x"}, {"email": "a" * 5000, "password": "x"}]
)
def test_odd_bodies_are_422_not_500(make_app, body):
    client = make_app(rate_limit_login_account_address="1/minute").test_client()
    assert_error(client.post("/api/v1/auth/login", json=body), 422)


@pytest.mark.parametrize(
    "setting",
    ["rate_limit_login_account_address", "rate_limit_login_address", "rate_limit_login_account"],
)
def test_a_bad_limit_value_names_its_variable(make_app, setting):
    with pytest.raises(ConfigError, match=f"NEBULO_{setting.upper()}='often' is not a rate"):
        make_app(**{setting: "often"})
