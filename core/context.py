"""Who is calling, and what they may do in which project.

A :class:`Principal` is resolved once per request from ``X-API-Key`` or a bearer JWT. A
:class:`Context` is that principal inside one project with its permissions; routes, assistant
tools and jobs all receive one and call :meth:`Context.require` before acting.

The hot path (a project-scoped request) costs one query: the token is verified without the
database, and :func:`project_context` checks membership, the login session's revocation and
reads the project's columns in a single Core statement (no ORM entity to build). An API key
costs one statement as well: the key, its creator's current role and the project's columns.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from flask import current_app, g, request
from sqlalchemy import Row, and_, bindparam, select, update
from sqlalchemy.orm import Session

from core.auth.models import ApiKey, RevokedFamily, User
from core.db import get_session, utcnow
from core.errors import Forbidden, NotFound, Unauthorized
from core.projects.models import Project, ProjectMember

API_KEY_HEADER = "X-API-Key"
API_KEY_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user (JWT) or a project's API key."""

    user_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    api_key_project_id: uuid.UUID | None = None
    # An API key's permissions: its scopes that its creator still holds (see _api_key_principal).
    scopes: frozenset[str] = frozenset()

    @property
    def rate_limit_key(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"key:{self.api_key_id}"


@dataclass(frozen=True)
class Context:
    """A caller acting in one project. ``audience`` is ``operator`` or ``customer``."""

    project_id: uuid.UUID
    permissions: frozenset[str]
    user_id: uuid.UUID | None = None
    role: str | None = None
    api_key_id: uuid.UUID | None = None
    audience: str = "operator"
    customer_id: uuid.UUID | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"This action needs the {permission!r} permission in this project")


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_websocket_handshake() -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


@functools.lru_cache(maxsize=4096)
def _verified_claims(token: str, key: str, algorithm: str, leeway: float) -> dict:
    """Signature and claims of a JWT issued by flask-jwt-extended, verified once per token.

    Clients send the same access token many times; :func:`_decode_access_token` still checks
    its expiry on every use.
    """
    return jwt.decode(
        token, key, algorithms=[algorithm], leeway=leeway, options={"require": ["exp", "sub"]}
    )


def _decode_access_token(token: str) -> dict:
    config = current_app.config
    leeway = config["JWT_DECODE_LEEWAY"]
    if isinstance(leeway, timedelta):
        leeway = leeway.total_seconds()
    claims = _verified_claims(token, config["JWT_SECRET_KEY"], config["JWT_ALGORITHM"], leeway)
    if claims["exp"] + leeway <= time.time():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


def _claimed_principal_from_request(session: Session) -> Principal:
    """Who the credentials say the caller is. API keys are looked up; a JWT is only verified,
    whether its login session was revoked is checked by :func:`current_principal`."""
    api_key = request.headers.get(API_KEY_HEADER)
    if api_key:
        return _api_key_principal(session, api_key)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header and is_websocket_handshake() and request.args.get("token"):
        # Browsers cannot set headers on a WebSocket handshake: the token may come as ?token=.
        scheme, token = "bearer", request.args["token"]
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Authentication required: send 'Authorization: Bearer <token>' or X-API-Key"
        )
    try:
        claims = _decode_access_token(token.strip())
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired; refresh it") from None
    except Exception:  # noqa: BLE001 - any decoding failure is the same 401 to the client
        raise Unauthorized("Invalid access token") from None
    if claims.get("type") != "access":
        raise Unauthorized("An access token is required here, not a refresh token")
    return Principal(user_id=uuid.UUID(claims["sub"]), family_id=uuid.UUID(claims["fam"]))


def _logged_out() -> Unauthorized:
    return Unauthorized("This session has been logged out")


def claimed_principal() -> Principal:
    """The caller as their credentials claim (cached for the request), or ``Unauthorized``.

    Good enough to count rate limits by; anything that acts uses :func:`current_principal`.
    """
    if "claimed_principal" not in g:
        try:
            g.claimed_principal = _claimed_principal_from_request(get_session())
        except Unauthorized as error:
            g.claimed_principal = error
    if isinstance(g.claimed_principal, Unauthorized):
        raise g.claimed_principal
    return g.claimed_principal


def current_principal() -> Principal:
    """The caller of this request (cached for the request), or ``Unauthorized``."""
    if "principal" not in g:
        try:
            principal = claimed_principal()
            family_id = principal.family_id
            if family_id is not None and get_session().get(RevokedFamily, family_id) is not None:
                raise _logged_out()
            g.principal = principal
        except Unauthorized as error:
            g.principal = error
    if isinstance(g.principal, Unauthorized):
        raise g.principal
    return g.principal


def claimed_principal_or_none() -> Principal | None:
    try:
        return claimed_principal()
    except Unauthorized:
        return None


def current_user(session: Session) -> User:
    """The calling user; API keys act only inside their project and have no user."""
    principal = current_principal()
    if principal.user_id is None:
        raise Forbidden("API keys can only be used on their project's endpoints")
    user = session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("This account no longer exists or is disabled")
    return user


def role_permissions(role: str) -> frozenset[str]:
    return current_app.extensions["nebulo"].permissions_for_role(role)


_members, _projects = ProjectMember.__table__, Project.__table__
_users, _revoked = User.__table__, RevokedFamily.__table__
# Built once, on tables rather than entities so it runs as plain Core: the role of an active
# member in a project, whether the caller's login session was revoked, and the project's columns.
MEMBERSHIP = (
    select(_members.c.role, _revoked.c.family_id.label("revoked"), *_projects.c)
    .join(_users, _users.c.id == _members.c.user_id)
    .join(_projects, _projects.c.id == _members.c.project_id)
    .outerjoin(_revoked, _revoked.c.family_id == bindparam("family_id"))
    .where(
        _members.c.project_id == bindparam("project_id"),
        _members.c.user_id == bindparam("user_id"),
        _users.c.is_active.is_(True),
    )
)
_keys = ApiKey.__table__
# Built once, like MEMBERSHIP: the key, its creator's role in the key's project (NULL once the
# creator left it) and whether the creator's account is active, and the project's columns.
API_KEY = (
    select(
        _keys.c.id.label("key_id"),
        _keys.c.scopes.label("key_scopes"),
        _keys.c.revoked_at.label("key_revoked_at"),
        _keys.c.last_used_at.label("key_last_used_at"),
        _members.c.role.label("creator_role"),
        _users.c.is_active.label("creator_active"),
        *_projects.c,
    )
    .join(_projects, _projects.c.id == _keys.c.project_id)
    .outerjoin(
        _members,
        and_(_members.c.project_id == _keys.c.project_id, _members.c.user_id == _keys.c.created_by),
    )
    .outerjoin(_users, _users.c.id == _keys.c.created_by)
    .where(_keys.c.key_hash == bindparam("key_hash"))
)
_PROJECT_ROWS = "nebulo_project_rows"
# Managing people and keys stays with people: a leaked key must not mint keys or members.
USER_ONLY_PERMISSIONS = frozenset({"manage_members", "manage_api_keys"})


def _api_key_principal(session: Session, api_key: str) -> Principal:
    """The key's principal. A key may do what its scopes allow and its creator may still do in
    its project, computed now: a creator who was demoted narrows the key, one who left or was
    disabled ends it."""
    row = session.execute(API_KEY, {"key_hash": hash_api_key(api_key)}).first()
    if row is None or row.key_revoked_at is not None:
        raise Unauthorized("Invalid or revoked API key")
    if row.creator_role is None or not row.creator_active:
        raise Unauthorized("This API key's creator no longer belongs to its project")
    now = utcnow()
    if row.key_last_used_at is None or now - row.key_last_used_at > API_KEY_USE_RESOLUTION:
        # Coarse on purpose: a busy camera or POS must not turn every request into a write.
        session.execute(update(ApiKey).where(ApiKey.id == row.key_id).values(last_used_at=now))
        session.commit()
    session.info.setdefault(_PROJECT_ROWS, {})[row.id] = row
    permissions = frozenset(row.key_scopes) & role_permissions(row.creator_role)
    return Principal(
        api_key_id=row.key_id,
        api_key_project_id=row.id,
        scopes=permissions - USER_ONLY_PERMISSIONS,
    )


def project_row(session: Session, project_id: uuid.UUID) -> Row | None:
    """The project's columns as :func:`project_context` read them in this session, if it did."""
    return session.info.get(_PROJECT_ROWS, {}).get(project_id)


def project_context(project_id: uuid.UUID, permission: str | None = None) -> Context:
    """The caller inside ``project_id``; a project they do not belong to does not exist (404).

    For a user, one query checks membership and the login session and reads the project's
    columns, so reading the project afterwards (:func:`project_row`) costs nothing more.
    """
    principal = claimed_principal() if "principal" not in g else current_principal()
    session = get_session()
    if principal.api_key_id is not None:
        if principal.api_key_project_id != project_id:
            raise NotFound(f"Project {project_id} not found")
        if permission in USER_ONLY_PERMISSIONS:
            raise Forbidden("API keys cannot manage members or API keys; log in as a user")
        known = current_app.extensions["nebulo"].registry.permissions
        context = Context(
            project_id=project_id,
            permissions=frozenset(s for s in principal.scopes if s in known),
            api_key_id=principal.api_key_id,
        )
    else:
        row = session.execute(
            MEMBERSHIP,
            {
                "project_id": project_id,
                "user_id": principal.user_id,
                "family_id": principal.family_id,
            },
        ).first()
        if row is None:
            current_principal()  # a revoked login session is a 401 before it is a 404
            raise NotFound(f"Project {project_id} not found")
        if row.revoked is not None:
            raise _logged_out()
        g.principal = principal
        session.info.setdefault(_PROJECT_ROWS, {})[project_id] = row
        role = row.role
        context = Context(
            project_id=project_id,
            permissions=role_permissions(role),
            user_id=principal.user_id,
            role=role,
        )
    if permission is not None:
        context.require(permission)
    return context
