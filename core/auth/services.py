"""Registration, login, token rotation and logout: the logic behind /api/v1/auth."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError, VerifyMismatchError
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from core.auth.models import RefreshToken, RevokedFamily, User
from core.db import utcnow
from core.errors import Conflict, Invalid, Unauthorized
from core.projects.services import accept_invitations

INVALID_CREDENTIALS = "Invalid credentials"
MIN_PASSWORD_LENGTH = 8


def password_hasher() -> PasswordHasher:
    return current_app.extensions["nebulo"].password_hasher


def register_user(
    session: Session, *, email: str, password: str, name: str = "", username: str | None = None
) -> User:
    """A new account, with the invitations of its email turned into memberships.

    The password is hashed before the email is checked, so that a taken email (409) costs the
    same time as a new one and timing does not tell which emails have accounts."""
    email = email.strip().lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(errors={"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})
    password_hash = password_hasher().hash(password)
    taken = func.lower(User.email) == email
    if username:
        taken = or_(taken, func.lower(User.username) == username.lower())
    if session.scalar(select(User.id).where(taken)) is not None:
        raise Conflict("A user with this email or username already exists")
    user = User(email=email, username=username, name=name, password_hash=password_hash)
    session.add(user)
    session.flush()
    accept_invitations(session, user)
    return user


def find_account(session: Session, identifier: str) -> User | None:
    """The user whose email or username is ``identifier``, in any case."""
    identifier = identifier.strip()
    return session.scalars(
        select(User)
        .where(
            or_(
                func.lower(User.email) == identifier.lower(),
                func.lower(User.username) == identifier.lower(),
            )
        )
        # usernames that differ only by case predate case-insensitive registration
        .order_by(case((User.username == identifier, 0), else_=1))
        .limit(1)
    ).first()


def authenticate(session: Session, identifier: str, password: str) -> User:
    """The user with this email or username and password, or one uniform ``Unauthorized``."""
    user = find_account(session, identifier)
    hasher = password_hasher()
    if user is None:
        # Spend the same time as a real check so that timing does not reveal unknown accounts.
        _verify(hasher, current_app.extensions["nebulo"].dummy_password_hash, password)
        raise Unauthorized(INVALID_CREDENTIALS)
    if not _verify(hasher, user.password_hash, password) or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError):
        return False


def issue_tokens(
    session: Session, user: User, family_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """A token pair; the user's pending invitations become memberships first, so that someone
    added to a project sees it from their next login or refresh."""
    settings = current_app.extensions["nebulo"].settings
    accept_invitations(session, user)
    family_id = family_id or uuid.uuid4()
    claims = {"fam": str(family_id)}
    access_ttl = timedelta(minutes=settings.access_token_minutes)
    refresh_ttl = timedelta(days=settings.refresh_token_days)
    access = create_access_token(str(user.id), additional_claims=claims, expires_delta=access_ttl)
    refresh = create_refresh_token(
        str(user.id), additional_claims=claims, expires_delta=refresh_ttl
    )
    session.add(
        RefreshToken(
            jti=decode_token(refresh)["jti"],
            family_id=family_id,
            user_id=user.id,
            expires_at=utcnow() + refresh_ttl,
        )
    )
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "bearer",
        "expires_in": int(access_ttl.total_seconds()),
    }


def _refresh_claims(token: str) -> dict[str, Any]:
    try:
        claims = decode_token(token)
    except Exception:  # noqa: BLE001 - expired, tampered or garbage: the same answer
        raise Unauthorized("Invalid or expired refresh token") from None
    if claims.get("type") != "refresh":
        raise Unauthorized("A refresh token is required")
    return claims


def rotate_refresh_token(session: Session, token: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair. A token used twice revokes its whole family:
    one of the two holders is a thief, and we cannot tell which."""
    claims = _refresh_claims(token)
    stored = session.get(RefreshToken, claims["jti"], with_for_update=True)
    if stored is None or stored.revoked_at is not None:
        raise Unauthorized("Invalid or expired refresh token")
    if stored.used_at is not None or session.get(RevokedFamily, stored.family_id) is not None:
        revoke_family(session, stored.family_id, reason="refresh_token_reuse")
        session.commit()
        raise Unauthorized("This refresh token was already used; the session has been revoked")
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Invalid or expired refresh token")
    stored.used_at = utcnow()
    return issue_tokens(session, user, family_id=stored.family_id)


def revoke_family(session: Session, family_id: uuid.UUID, *, reason: str) -> None:
    now = utcnow()
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if session.get(RevokedFamily, family_id) is None:
        session.add(RevokedFamily(family_id=family_id, revoked_at=now, reason=reason))


def logout(session: Session, family_id: uuid.UUID) -> None:
    """End the login session: its refresh tokens and its access tokens stop working."""
    revoke_family(session, family_id, reason="logout")
