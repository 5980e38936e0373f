"""Failed-login throttling: which counters a login attempt is charged to.

Only failed attempts (401) count, and a full counter refuses every attempt it covers (429).
Three counters, so that an attacker cannot lock the real user out from elsewhere:

- the account from this address (``NEBULO_RATE_LIMIT_LOGIN_ACCOUNT_ADDRESS``): the tight one;
- this address over every account (``NEBULO_RATE_LIMIT_LOGIN_ADDRESS``): password spraying;
- the account over every address (``NEBULO_RATE_LIMIT_LOGIN_ACCOUNT``): distributed guessing,
  a slower and higher ceiling than one address may reach on its own.

An account is one counter whatever identifier is typed: its email or its username, in any
case. An identifier without an account gets a counter of its own (lowercased), which behaves
the same, so the limits do not reveal which accounts exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, g, request

from core.auth.services import find_account
from core.db import get_session
from core.limits import client_address, rate_limit

MAX_IDENTIFIER_LENGTH = 320


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _login_account() -> str:
    """The account the request body names, resolved once per request."""
    if "login_account" not in g:
        body = request.get_json(silent=True)
        identifier = ""
        if isinstance(body, dict):  # anything else: the schema answers 422 after the limits
            identifier = str(body.get("email") or body.get("username") or "")
        identifier = identifier.strip()[:MAX_IDENTIFIER_LENGTH]
        user = find_account(get_session(), identifier) if identifier else None
        g.login_account = f"account:{user.id}" if user else f"unknown:{identifier.lower()}"
    return g.login_account


def account_address_key() -> str:
    return f"login:{_login_account()}:{client_address()}"


def address_key() -> str:
    return f"login:{client_address()}"


def account_key() -> str:
    return f"login:{_login_account()}"


def failed_logins(view: Callable[..., Any]) -> Callable[..., Any]:
    """Apply the three failed-login limits to a login view."""
    view = rate_limit("login_account", key=account_key, deduct_when=_failed)(view)
    view = rate_limit("login_address", key=address_key, deduct_when=_failed)(view)
    return rate_limit("login_account_address", key=account_address_key, deduct_when=_failed)(view)
