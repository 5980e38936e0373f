"""Projects, members, invitations and API keys: the tenancy logic behind /api/v1/projects."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from core.auth.models import ApiKey, User
from core.context import USER_ONLY_PERMISSIONS, Context, hash_api_key, project_row
from core.db import get_scoped, scoped, utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.plugins import ROLES
from core.projects.models import Invitation, Project, ProjectMember

OWNER = "owner"


def create_project(session: Session, owner_id: uuid.UUID, data: dict[str, Any]) -> Project:
    project = Project(**data)
    session.add(project)
    session.flush()
    session.add(ProjectMember(project_id=project.id, user_id=owner_id, role=OWNER))
    return project


def list_projects(user_id: uuid.UUID):
    return (
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.user_id == user_id)
        .order_by(Project.created_at, Project.id)
    )


PROJECT_COLUMNS = select(*Project.__table__.c).where(
    Project.__table__.c.id == bindparam("project_id")
)


def read_project(session: Session, ctx: Context) -> Row:
    """The project's columns to show: those :func:`~core.context.project_context` already read,
    else one Core query. To change or delete the project, use :func:`get_project`."""
    row = project_row(session, ctx.project_id)
    if row is None:
        row = session.execute(PROJECT_COLUMNS, {"project_id": ctx.project_id}).first()
    if row is None:
        raise NotFound(f"Project {ctx.project_id} not found")
    return row


def get_project(session: Session, ctx: Context) -> Project:
    """The project entity, to change or delete it."""
    project = session.get(Project, ctx.project_id)
    if project is None:
        raise NotFound(f"Project {ctx.project_id} not found")
    return project


def update_project(session: Session, ctx: Context, changes: dict[str, Any]) -> Project:
    project = get_project(session, ctx)
    for name, value in changes.items():
        setattr(project, name, value)
    return project


def delete_project(session: Session, ctx: Context) -> None:
    """Delete the project and, through ON DELETE CASCADE, every row it owns."""
    session.delete(get_project(session, ctx))


def set_default_project(session: Session, ctx: Context) -> None:
    """Make ``ctx``'s project the calling user's default, the one requests act in where the
    path names no project (the original systems' paths); any other default is cleared."""
    if ctx.user_id is None:
        raise Forbidden("An API key always acts in its own project; only users pick a default")
    session.execute(
        update(ProjectMember)
        .where(ProjectMember.user_id == ctx.user_id)
        .values(is_default=ProjectMember.project_id == ctx.project_id)
    )


def default_project_id(session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    """The user's default project: the membership marked default, else their only project;
    ``None`` when they have several and chose none (or have none)."""
    rows = session.execute(
        select(ProjectMember.project_id, ProjectMember.is_default)
        .where(ProjectMember.user_id == user_id)
        .order_by(ProjectMember.is_default.desc())
        .limit(2)
    ).all()
    if rows and (rows[0].is_default or len(rows) == 1):
        return rows[0].project_id
    return None


def list_members(ctx: Context):
    return (
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == ctx.project_id)
        .order_by(ProjectMember.created_at)
    )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(errors={"role": [f"Must be one of: {', '.join(ROLES)}."]})


def _require_owner_for(ctx: Context, action: str) -> None:
    """Owner rights stay with owners: an admin who could mint owners could delete the project."""
    if ctx.role != OWNER:
        raise Forbidden(f"Only an owner can {action}")


def invite_member(session: Session, ctx: Context, email: str, role: str) -> Invitation:
    """Invite ``email`` with ``role``. The answer is the same whether the email has an account
    or not (no enumeration of users): the invitation becomes a membership when that account
    next gets tokens (see :func:`accept_invitations`)."""
    _check_role(role)
    if role == OWNER:
        _require_owner_for(ctx, "add an owner")
    email = email.strip().lower()
    already_member = session.scalar(
        select(ProjectMember.user_id)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == ctx.project_id, func.lower(User.email) == email)
    )
    already_invited = session.scalar(
        scoped(Invitation, ctx.project_id).where(Invitation.email == email)
    )
    if already_member is not None or already_invited is not None:
        raise Conflict(f"{email} is already a member of this project or invited to it")
    invitation = Invitation(
        project_id=ctx.project_id, email=email, role=role, invited_by=ctx.user_id
    )
    session.add(invitation)
    session.flush()
    return invitation


def list_invitations(ctx: Context):
    return scoped(Invitation, ctx.project_id).order_by(Invitation.created_at)


def cancel_invitation(session: Session, ctx: Context, invitation_id: uuid.UUID) -> None:
    session.delete(
        get_scoped(session, Invitation, ctx.project_id, invitation_id, what="Invitation")
    )


def accept_invitations(session: Session, user: User) -> None:
    """Turn the invitations of the user's email into memberships (a project they already
    belong to keeps their current role)."""
    invitations = session.scalars(
        select(Invitation).where(Invitation.email == user.email.strip().lower())
    ).all()
    if not invitations:
        return
    member_of = set(
        session.scalars(
            select(ProjectMember.project_id).where(
                ProjectMember.user_id == user.id,
                ProjectMember.project_id.in_([i.project_id for i in invitations]),
            )
        )
    )
    for invitation in invitations:
        if invitation.project_id not in member_of:
            session.add(
                ProjectMember(
                    project_id=invitation.project_id, user_id=user.id, role=invitation.role
                )
            )
    session.execute(delete(Invitation).where(Invitation.id.in_([i.id for i in invitations])))


def _member(session: Session, ctx: Context, user_id: uuid.UUID) -> ProjectMember:
    member = session.get(ProjectMember, (ctx.project_id, user_id))
    if member is None:
        raise NotFound(f"User {user_id} is not a member of this project")
    return member


def _ensure_an_owner_remains(session: Session, ctx: Context, member: ProjectMember) -> None:
    owners = session.scalar(
        select(func.count())
        .select_from(ProjectMember)
        .where(ProjectMember.project_id == ctx.project_id, ProjectMember.role == OWNER)
    )
    if member.role == OWNER and owners <= 1:
        raise Conflict("A project keeps at least one owner")


def change_member_role(
    session: Session, ctx: Context, user_id: uuid.UUID, role: str
) -> ProjectMember:
    _check_role(role)
    member = _member(session, ctx, user_id)
    if OWNER in (role, member.role):
        _require_owner_for(ctx, "grant or take away the owner role")
    if role != OWNER:
        _ensure_an_owner_remains(session, ctx, member)
    member.role = role
    return member


def remove_member(session: Session, ctx: Context, user_id: uuid.UUID) -> None:
    member = _member(session, ctx, user_id)
    if member.role == OWNER:
        _require_owner_for(ctx, "remove an owner")
    _ensure_an_owner_remains(session, ctx, member)
    session.delete(member)
    # Their keys would stop working anyway (a key needs its creator in the project); revoking
    # them says so in the key list and keeps them dead if the person is added back.
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.project_id == ctx.project_id,
            ApiKey.created_by == user_id,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


API_KEY_PREFIX = "nbl_"


def create_api_key(
    session: Session, ctx: Context, name: str, scopes: list[str], known_permissions: set[str]
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown this once and stored only as a digest.

    A key cannot hold a permission its creator lacks, nor manage members or keys."""
    unknown = sorted(set(scopes) - known_permissions)
    if unknown:
        raise Invalid(errors={"scopes": [f"Unknown permissions: {', '.join(unknown)}."]})
    user_only = sorted(set(scopes) & USER_ONLY_PERMISSIONS)
    if user_only:
        raise Invalid(errors={"scopes": [f"API keys cannot hold: {', '.join(user_only)}."]})
    beyond = sorted(set(scopes) - ctx.permissions)
    if beyond:
        raise Invalid(errors={"scopes": [f"You do not hold: {', '.join(beyond)}."]})
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        project_id=ctx.project_id,
        name=name,
        prefix=secret[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(secret),
        scopes=sorted(set(scopes)),
        created_by=ctx.user_id,
    )
    session.add(key)
    return key, secret


def list_api_keys(ctx: Context):
    return scoped(ApiKey, ctx.project_id).order_by(ApiKey.created_at)


def revoke_api_key(session: Session, ctx: Context, key_id: uuid.UUID) -> None:
    key = get_scoped(session, ApiKey, ctx.project_id, key_id, what="API key")
    key.revoked_at = key.revoked_at or utcnow()
