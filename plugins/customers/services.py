"""Customers and their churn risk: the one place routes, jobs, tools and the CLI call.

Functions answering a caller take a :class:`~core.context.Context`; the ones jobs and other
plugins call with no caller (training, batch scoring, find-or-create) take a project id.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.orm import Session

from core.context import Context
from core.db import Money, get_scoped, insert_rows, money_as_float, scoped, utcnow
from core.errors import Conflict, Invalid, NotFound
from plugins.customers import churn
from plugins.customers.models import Alert, ChannelIdentity, Customer, ModelVersion, RiskHistory
from plugins.customers.schemas import normalize_phone

if TYPE_CHECKING:
    import numpy as np
    from sklearn.pipeline import Pipeline

Progress = Callable[[int, str], None]
IDENTITY_COLUMNS = ("email", "shopify_customer_id", "whatsapp_phone", "telegram_chat_id")
CHANNEL_COLUMNS = {
    "shopify": "shopify_customer_id",
    "whatsapp": "whatsapp_phone",
    "telegram": "telegram_chat_id",
}
"""Channels with a column of their own; any other channel's ids are ``ChannelIdentity`` rows."""
CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
IDENTITY_LENGTH = 255
SORTABLE = {
    "id": Customer.id,
    "name": Customer.name,
    "risk_score": Customer.risk_score,
    "created_at": Customer.created_at,
}
FEATURE_COLUMNS = tuple(
    money_as_float(column).label(column.key) if isinstance(column.type, Money) else column
    for column in (getattr(Customer, name) for name in churn.FEATURES)
)
"""The model's inputs as read for training and scoring (amounts as floats: see money_as_float)."""
REQUIRED_COLUMNS = tuple(getattr(Customer, name) for name in churn.REQUIRED_FEATURES)
SCORING_CHUNK = 5_000
HISTORY_SHOWN = 100
HIGH_RISK_ALERT = "high_risk"
RISK_CHANGED = "customer.risk_changed"
NO_MODEL = (
    "No churn model has been trained for this project yet. Label customers with 'churned' "
    "(or import a CSV with an Exited column), then POST /api/v1/customers/{project_id}/model/train "
    "and wait for the job to finish."
)


# -- customers ---------------------------------------------------------------------------


def list_customers(ctx: Context, args: dict[str, Any]) -> Select[tuple[Customer]]:
    """Customers matching ``search`` (name, email, phone) and ``risk_tier``, sorted."""
    statement = scoped(Customer, ctx.project_id)
    if "search" in args:
        pattern = f"%{args['search'].lower()}%"
        statement = statement.where(
            or_(
                func.lower(Customer.name).like(pattern),
                func.lower(Customer.email).like(pattern),
                Customer.phone.like(pattern),
            )
        )
    if "risk_tier" in args:
        statement = statement.where(Customer.risk_tier == args["risk_tier"])
    column = SORTABLE[args.get("sort_by", "created_at")]
    ordered = column.desc() if args.get("order") == "desc" else column.asc()
    if args.get("sort_by") == "risk_score":
        ordered = ordered.nulls_last()
    return statement.order_by(ordered, Customer.id)


def get_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> Customer:
    return get_scoped(session, Customer, ctx.project_id, customer_id, what="Customer")


def customer_detail(session: Session, ctx: Context, customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer's fields plus their latest risk history points, oldest first."""
    customer = get_customer(session, ctx, customer_id)
    latest = session.scalars(
        select(RiskHistory)
        .where(RiskHistory.customer_id == customer.id)
        .order_by(RiskHistory.timestamp.desc())
        .limit(HISTORY_SHOWN)
    ).all()
    detail = {column.key: getattr(customer, column.key) for column in Customer.__mapper__.columns}
    detail["risk_history"] = [
        {"score": point.score, "timestamp": point.timestamp} for point in reversed(latest)
    ]
    return detail


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("email"):
        values = {**values, "email": values["email"].strip().lower()}
    return values


def _check_identities_free(
    session: Session, project_id: uuid.UUID, values: dict[str, Any], exclude: uuid.UUID | None
) -> None:
    """409 when another customer of the project already has one of these identities."""
    for name in IDENTITY_COLUMNS:
        value = values.get(name)
        if value is None:
            continue
        statement = select(Customer.id).where(
            Customer.project_id == project_id, getattr(Customer, name) == value
        )
        if exclude is not None:
            statement = statement.where(Customer.id != exclude)
        other = session.scalar(statement.limit(1))
        if other is not None:
            raise Conflict(f"Another customer of this project ({other}) already has {name} {value}")


def create_customer(session: Session, ctx: Context, data: dict[str, Any]) -> Customer:
    values = _normalized(data)
    _check_identities_free(session, ctx.project_id, values, exclude=None)
    customer = Customer(project_id=ctx.project_id, **values)
    session.add(customer)
    session.flush()
    return customer


def update_customer(
    session: Session, ctx: Context, customer_id: uuid.UUID, changes: dict[str, Any]
) -> Customer:
    customer = get_customer(session, ctx, customer_id)
    changes = _normalized(changes)
    _check_identities_free(session, ctx.project_id, changes, exclude=customer.id)
    for name, value in changes.items():
        setattr(customer, name, value)
    session.flush()
    return customer


def delete_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> None:
    """Delete the customer with their risk history and alerts (ON DELETE CASCADE)."""
    session.delete(get_customer(session, ctx, customer_id))
    session.flush()


def find_or_create_customer(
    session: Session,
    project_id: uuid.UUID,
    *,
    email: str | None = None,
    phone: str | None = None,
    channel: str | None = None,
    identity: str | None = None,
    name: str | None = None,
) -> Customer:
    """The project's customer known by a channel identity, email or phone (in that order of
    trust), else a new one. Orders and connectors call this for every inbound contact.

    ``channel`` is a connector's name (``shopify``, ``whatsapp``, ``telegram`` or a third
    party's) with ``identity`` the contact's id there; a found customer gains the identities
    it did not have yet.
    """
    if (channel is None) != (identity is None):
        raise Invalid(errors={"identity": ["channel and identity go together"]})
    if channel is not None and not CHANNEL_NAME.fullmatch(channel):
        raise Invalid(errors={"channel": ["A connector name: lower-case letters, digits, _"]})
    if identity is not None and len(str(identity)) > IDENTITY_LENGTH:
        raise Invalid(errors={"identity": [f"Longer than {IDENTITY_LENGTH} characters."]})
    if not (email or phone or identity):
        raise Invalid(errors={"email": ["Give an email, a phone or a channel identity"]})
    email = email.strip().lower() if email else None
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValueError as error:
            raise Invalid(errors={"phone": [str(error)]}) from None
    lookups = []
    if channel is not None:
        lookups.append(_known_on_channel(project_id, channel, str(identity)))
    if email:
        lookups.append(Customer.email == email)
    if phone:
        lookups.append(Customer.phone == phone)
    customer, customer_found_by = None, None
    for position, condition in enumerate(lookups):
        customer = session.scalar(scoped(Customer, project_id).where(condition).limit(1))
        if customer is not None:
            customer_found_by = position
            break
    identities = {"email": email, "phone": phone}
    if channel in CHANNEL_COLUMNS:
        identities[CHANNEL_COLUMNS[channel]] = str(identity)
    if customer is None:
        customer = Customer(
            project_id=project_id,
            name=name or email or phone or f"{channel} {identity}",
            **{key: value for key, value in identities.items() if value},
        )
        session.add(customer)
    else:
        missing = {k: v for k, v in identities.items() if v and getattr(customer, k) is None}
        _check_identities_free(session, project_id, missing, exclude=customer.id)
        for key, value in missing.items():
            setattr(customer, key, value)
    session.flush()
    # lookups[0] is the channel identity: a customer found by it already has its row
    if channel is not None and channel not in CHANNEL_COLUMNS and customer_found_by != 0:
        session.add(
            ChannelIdentity(
                project_id=project_id,
                customer_id=customer.id,
                channel=channel,
                identity=str(identity),
            )
        )
        session.flush()
    return customer


def _known_on_channel(project_id: uuid.UUID, channel: str, identity: str) -> Any:
    """The condition "this customer is ``identity`` on ``channel``"."""
    if channel in CHANNEL_COLUMNS:
        return getattr(Customer, CHANNEL_COLUMNS[channel]) == identity
    return Customer.id.in_(
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.project_id == project_id,
            ChannelIdentity.channel == channel,
            ChannelIdentity.identity == identity,
        )
    )


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """``(line, {field: [messages]})`` of each row that was not imported."""


def import_customers(
    session: Session,
    ctx: Context,
    rows: Iterable[tuple[int, dict[str, Any]]],
    load: Callable[[dict[str, Any]], dict[str, Any]],
) -> ImportReport:
    """Create a customer per valid row; a bad row is reported by line and the others are kept.

    ``load`` validates one raw row (raising ``marshmallow.ValidationError``); each row is
    created in a savepoint so a duplicate does not undo the rows before it.
    """
    report = ImportReport()
    for line, raw in rows:
        try:
            data = load(raw)
            with session.begin_nested():
                create_customer(session, ctx, data)
        except ValidationError as error:
            report.errors.append((line, error.normalized_messages()))
        except Conflict as error:
            report.errors.append((line, {"_schema": [error.detail]}))
        else:
            report.created += 1
    return report


# -- model versions --------------------------------------------------------------------------

_PIPELINES: OrderedDict[uuid.UUID, Pipeline] = OrderedDict()
PIPELINES_CACHED = 8


def active_model(session: Session, project_id: uuid.UUID) -> ModelVersion | None:
    return session.scalar(
        scoped(ModelVersion, project_id).where(ModelVersion.is_active.is_(True)).limit(1)
    )


def require_model(session: Session, project_id: uuid.UUID) -> ModelVersion:
    version = active_model(session, project_id)
    if version is None:
        raise Conflict(NO_MODEL.replace("{project_id}", str(project_id)))
    return version


def pipeline_of(session: Session, version: ModelVersion) -> Pipeline:
    """The unpickled pipeline of ``version``, loaded from the database once per process."""
    pipeline = _PIPELINES.get(version.id)
    if pipeline is None:
        blob = session.scalar(select(ModelVersion.pipeline).where(ModelVersion.id == version.id))
        pipeline = churn.load(blob)
        _PIPELINES[version.id] = pipeline
        while len(_PIPELINES) > PIPELINES_CACHED:
            _PIPELINES.popitem(last=False)
    else:
        _PIPELINES.move_to_end(version.id)
    return pipeline


def model_info(session: Session, ctx: Context) -> ModelVersion:
    version = active_model(session, ctx.project_id)
    if version is None:
        raise NotFound(NO_MODEL.replace("{project_id}", str(ctx.project_id)))
    return version


def _setting(name: str) -> Any:
    return current_app.extensions["nebulo"].settings.get(name)


def _labelled(project_id: uuid.UUID) -> Select:
    return select(*FEATURE_COLUMNS, Customer.churned).where(
        Customer.project_id == project_id,
        Customer.churned.is_not(None),
        *(column.is_not(None) for column in REQUIRED_COLUMNS),
    )


def check_can_train(session: Session, ctx: Context) -> None:
    """Answer 409 before a job is queued when the labelled data cannot train a model."""
    import numpy as np

    labelled = _labelled(ctx.project_id).subquery()
    total, churned = session.execute(
        select(func.count(), func.sum(case((labelled.c.churned.is_(True), 1), else_=0)))
    ).one()
    churned = int(churned or 0)
    labels = np.array([1] * churned + [0] * (total - churned))
    try:
        churn.check_training_data(labels, _setting("NEBULO_CHURN_MIN_TRAINING_ROWS"))
    except churn.TrainingDataError as error:
        raise Conflict(str(error)) from None


def train_churn_model(
    session: Session, project_id: uuid.UUID, progress: Progress | None = None
) -> ModelVersion:
    """Train on the project's labelled customers and make the result the active version."""
    import numpy as np

    report = progress or (lambda _percent, _message: None)
    report(5, "loading labelled customers")
    # Rows sorted by their own values: the same customers train the same model, whatever order
    # they were stored in or the database returns them.
    rows = session.execute(
        _labelled(project_id).order_by(
            *(getattr(Customer, name).asc().nulls_first() for name in churn.FEATURES),
            Customer.churned,
        )
    ).all()
    matrix = churn.feature_matrix(row[:-1] for row in rows)
    labels = np.array([row[-1] for row in rows], dtype=int)
    try:
        trained = churn.train(
            matrix,
            labels,
            min_rows=_setting("NEBULO_CHURN_MIN_TRAINING_ROWS"),
            progress=report,
        )
    except churn.TrainingDataError as error:
        raise Invalid(str(error), errors={"churned": [str(error)]}) from None
    report(95, "storing the model version")
    latest = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )
    session.execute(
        update(ModelVersion).where(ModelVersion.project_id == project_id).values(is_active=False)
    )
    version = ModelVersion(
        project_id=project_id,
        version=(latest or 0) + 1,
        pipeline=churn.dump(trained.pipeline),
        metrics=trained.metrics,
        feature_importance=trained.feature_importance,
        reference=trained.reference,
        training_rows=trained.training_rows,
        is_active=True,
    )
    session.add(version)
    session.flush()
    _PIPELINES[version.id] = trained.pipeline
    return version


# -- predictions -----------------------------------------------------------------------------


def risk_thresholds() -> tuple[float, float]:
    """``(medium, high)``: scores at or above them are in the medium or high tier."""
    return _setting("NEBULO_CHURN_MEDIUM_THRESHOLD"), _setting("NEBULO_CHURN_HIGH_THRESHOLD")


def risk_tier(score: Any) -> Any:
    """SQL: the tier of a score column, so the tiers stored and the dashboard's agree."""
    medium, high = risk_thresholds()
    return case((score >= high, "high"), (score >= medium, "medium"), else_="low")


def _missing_features(customer: Customer) -> list[str]:
    return [name for name in churn.REQUIRED_FEATURES if getattr(customer, name) is None]


def _features_used(values: Iterable[Any]) -> dict[str, Any]:
    return {
        name: float(value) if isinstance(value, Decimal) else value
        for name, value in zip(churn.FEATURES, values, strict=True)
    }


def predict_customer(session: Session, ctx: Context, customer_id: uuid.UUID) -> dict[str, Any]:
    """Score one customer, store the risk history point and update the customer (seed 002)."""
    customer = get_customer(session, ctx, customer_id)
    version = require_model(session, ctx.project_id)
    missing = _missing_features(customer)
    if missing:
        raise Invalid(
            f"Customer {customer.id} lacks features the model needs: {', '.join(missing)}",
            errors={name: ["Required for a prediction"] for name in missing},
        )
    values = [getattr(customer, name) for name in churn.FEATURES]
    row = (customer.id, customer.name, customer.email, customer.risk_tier, *values)
    scored = _score_and_record(session, ctx.project_id, version, [row])
    session.refresh(customer)
    return {
        "customer_id": customer.id,
        "risk_score": customer.risk_score,
        "risk_tier": customer.risk_tier,
        "prediction_time": scored.predicted_at,
        "model_version": version.version,
        "features_used": _features_used(values),
    }


@dataclass
class Scored:
    predicted_at: datetime
    scored: int = 0
    alerts: int = 0


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


SCORED_ROW_PREFIX = (Customer.id, Customer.name, Customer.email, Customer.risk_tier)
"""Columns before the features in the rows ``_score_and_record`` takes."""
FEATURES_START = len(SCORED_ROW_PREFIX)
RISK_HISTORY = RiskHistory.__table__
CUSTOMERS = Customer.__table__
ALERTS = Alert.__table__
ALERT_COLUMNS = ("id", "customer_id", "message", "risk_score")


def _score_and_record(
    session: Session,
    project_id: uuid.UUID,
    version: ModelVersion,
    rows: list[Any],
    progress: Progress | None = None,
    batch_job_id: uuid.UUID | None = None,
) -> Scored:
    """Score ``(id, name, email, previous_tier, *features)`` rows in vectorised chunks; write
    the history, the customers' new score and tier, and an alert for each customer entering
    high risk. Each chunk is one history INSERT (executemany) stamped with the chunk's time and
    one set-based UPDATE of its customers from those rows: no ORM object, no UPDATE per row.
    A second thread scores the next chunks while this one writes (both spend most of their
    time in C code that releases the GIL: the trees' predictions, the database driver)."""
    pipeline = pipeline_of(session, version)
    high = risk_thresholds()[1]
    outcome = Scored(predicted_at=utcnow())
    chunks = list(_chunks(rows, SCORING_CHUNK))

    def score(chunk: list[Any]) -> np.ndarray:
        return churn.score(pipeline, churn.feature_matrix(row[FEATURES_START:] for row in chunk))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nebulo-churn-score") as scorer:
        for chunk, scores in zip(chunks, scorer.map(score, chunks), strict=True):
            _record_chunk(session, project_id, version, chunk, scores, high, outcome, batch_job_id)
            if progress is not None:
                progress(
                    min(99, 10 + int(89 * outcome.scored / len(rows))),
                    f"scored {outcome.scored} of {len(rows)} customers",
                )
    return outcome


def _record_chunk(
    session: Session,
    project_id: uuid.UUID,
    version: ModelVersion,
    chunk: list[Any],
    scores: np.ndarray,
    high: float,
    outcome: Scored,
    batch_job_id: uuid.UUID | None,
) -> None:
    """One chunk's history rows, customer updates and alerts (see ``_score_and_record``)."""
    import numpy as np

    now = outcome.predicted_at = utcnow()
    score_values = scores.tolist()
    insert_rows(
        session,
        RISK_HISTORY,
        ("customer_id", "score"),
        [(row[0], score) for row, score in zip(chunk, score_values, strict=True)],
        constants={
            "project_id": project_id,
            "model_version_id": version.id,
            "timestamp": now,
            "batch_job_id": batch_job_id,
        },
    )
    session.execute(
        update(CUSTOMERS)
        .where(
            CUSTOMERS.c.id == RISK_HISTORY.c.customer_id,
            RISK_HISTORY.c.project_id == project_id,
            RISK_HISTORY.c.timestamp == now,
        )
        .values(
            risk_score=RISK_HISTORY.c.score,
            risk_tier=risk_tier(RISK_HISTORY.c.score),
            last_updated=now,
        )
    )
    previous_tiers = np.array([row[3] for row in chunk], dtype=object)
    entering_high = np.flatnonzero((scores >= high) & (previous_tiers != "high")).tolist()
    _raise_alerts(
        session,
        project_id,
        [(chunk[index], score_values[index]) for index in entering_high],
        now,
    )
    outcome.alerts += len(entering_high)
    outcome.scored += len(chunk)


def _risk_webhook_exists(session: Session, project_id: uuid.UUID) -> bool:
    from core.webhooks.services import active_webhooks

    return any(webhook.wants(RISK_CHANGED) for webhook in active_webhooks(session, project_id))


def _raise_alerts(
    session: Session,
    project_id: uuid.UUID,
    entering_high: list[tuple[Any, float]],
    now: datetime,
) -> None:
    """Record an alert per customer entering high risk and publish ``customer.risk_changed``
    for each; the project's webhooks carry it. Without such a webhook the alert says so."""
    if not entering_high:
        return
    from core.events import publish

    undeliverable = (
        None
        if _risk_webhook_exists(session, project_id)
        else f"No active webhook of the project subscribes to {RISK_CHANGED}"
    )
    alerts = []
    for (customer_id, name, email, previous_tier, *_features), score in entering_high:
        alert = {
            "id": uuid.uuid4(),
            "customer_id": customer_id,
            "message": f"{name} entered high churn risk ({score:.0%})"[:500],
            "risk_score": score,
        }
        alerts.append(alert)
        publish(
            session,
            RISK_CHANGED,
            project_id,
            {
                "customer_id": customer_id,
                "name": name,
                "email": email,
                "previous_tier": previous_tier,
                "risk_tier": "high",
                "risk_score": score,
                "alert_id": alert["id"],
                "message": alert["message"],
            },
        )
    insert_rows(
        session,
        ALERTS,
        ALERT_COLUMNS,
        [tuple(alert[name] for name in ALERT_COLUMNS) for alert in alerts],
        constants={
            "project_id": project_id,
            "alert_type": HIGH_RISK_ALERT,
            "was_sent": False,
            "error_message": undeliverable,
            "created_at": now,
        },
    )


def predict_customers(
    session: Session,
    project_id: uuid.UUID,
    customer_ids: list[uuid.UUID] | None = None,
    progress: Progress | None = None,
    batch_job_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Score the given customers (default: all) that carry the model's features;
    ``progress`` is called after each chunk of scores has been written.

    A batch job passes its id: its points carry it, and a retry of the job (after its worker
    was lost mid-batch) scores only the customers its earlier attempts did not, so every
    customer gets one point per batch. Customers go in id order, which keeps the inserts
    into the (batch, customer) index appends."""
    version = require_model(session, project_id)
    statement = (
        select(*SCORED_ROW_PREFIX, *FEATURE_COLUMNS)
        .where(Customer.project_id == project_id)
        .order_by(Customer.id)
    )
    if customer_ids is not None:
        statement = statement.where(Customer.id.in_(customer_ids))
    rows = session.execute(statement).all()
    if customer_ids is not None:
        _raise_unknown(set(customer_ids) - {row[0] for row in rows})
    required = [churn.FEATURES.index(name) + FEATURES_START for name in churn.REQUIRED_FEATURES]
    complete = [row for row in rows if all(row[index] is not None for index in required)]
    done = _scored_in_batch(session, batch_job_id) if batch_job_id is not None else set()
    remaining = [row for row in complete if row[0] not in done]
    if progress is not None:
        progress(10, f"scoring {len(remaining)} customers")
    scored = _score_and_record(session, project_id, version, remaining, progress, batch_job_id)
    return {
        "model_version": version.version,
        "scored": len(complete) - len(remaining) + scored.scored,
        "skipped_missing_features": len(rows) - len(complete),
        "alerts": scored.alerts,
    }


def _scored_in_batch(session: Session, batch_job_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.scalars(
            select(RiskHistory.customer_id).where(RiskHistory.batch_job_id == batch_job_id)
        )
    )


def check_customers_exist(session: Session, ctx: Context, customer_ids: list[uuid.UUID]) -> None:
    """404 before a batch job is queued when an id is not a customer of the project."""
    found = set(
        session.scalars(
            select(Customer.id).where(
                Customer.project_id == ctx.project_id, Customer.id.in_(customer_ids)
            )
        )
    )
    _raise_unknown(set(customer_ids) - found)


def _raise_unknown(unknown: set[uuid.UUID]) -> None:
    if unknown:
        names = ", ".join(map(str, sorted(unknown)))
        raise NotFound(f"Customers not found in this project: {names}")


def explain_risk(
    session: Session, ctx: Context, customer_id: uuid.UUID, top: int = 5
) -> dict[str, Any]:
    """The features that move this customer's score most, against the training median/mode."""
    customer = get_customer(session, ctx, customer_id)
    version = require_model(session, ctx.project_id)
    missing = _missing_features(customer)
    if missing:
        raise Invalid(
            f"Customer {customer.id} lacks features the model needs: {', '.join(missing)}",
            errors={name: ["Required for a prediction"] for name in missing},
        )
    values = [getattr(customer, name) for name in churn.FEATURES]
    row = churn.feature_matrix([values])[0]
    pipeline = pipeline_of(session, version)
    effects = churn.contributions(pipeline, row, version.reference)[:top]
    features = _features_used(values)
    return {
        "customer_id": customer.id,
        "name": customer.name,
        "risk_score": float(churn.score(pipeline, row.reshape(1, -1))[0]),
        "model_version": version.version,
        "top_factors": [
            {
                "feature": name,
                "value": features[name],
                "typical_value": version.reference[name],
                "effect": round(effect, 4),
                "direction": "raises risk" if effect > 0 else "lowers risk",
            }
            for name, effect in effects
        ],
    }


# -- monitoring ------------------------------------------------------------------------------


def riskiest_customers(
    session: Session, ctx: Context, limit: int = 10, min_score: float = 0.0
) -> list[Customer]:
    """Scored customers with risk at least ``min_score``, highest risk first."""
    return list(
        session.scalars(
            scoped(Customer, ctx.project_id)
            .where(Customer.risk_score >= min_score)
            .order_by(Customer.risk_score.desc(), Customer.id)
            .limit(limit)
        )
    )


def _day(session: Session, column: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def risk_dashboard(
    session: Session, ctx: Context, days: int = 30, limit: int = 10
) -> dict[str, Any]:
    """High-risk customers, the low/medium/high distribution and the daily average risk."""
    medium, high = risk_thresholds()
    tier = risk_tier(Customer.risk_score)
    distribution = dict.fromkeys(("low", "medium", "high"), 0)
    for name, count in session.execute(
        select(tier, func.count())
        .where(Customer.project_id == ctx.project_id, Customer.risk_score.is_not(None))
        .group_by(tier)
    ):
        distribution[name] = count
    since = datetime.combine(utcnow().date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    day = _day(session, RiskHistory.timestamp)
    trend = [
        {
            "date": value if isinstance(value, date) else date.fromisoformat(value),
            "average_risk": round(float(average), 4),
            "predictions": count,
        }
        for value, average, count in session.execute(
            select(day, func.avg(RiskHistory.score), func.count())
            .where(RiskHistory.project_id == ctx.project_id, RiskHistory.timestamp >= since)
            .group_by(day)
            .order_by(day)
        )
    ]
    return {
        "high_risk_customers": riskiest_customers(session, ctx, limit, min_score=high),
        "risk_distribution": distribution,
        "risk_trend": trend,
        "thresholds": {"medium": medium, "high": high},
    }


def list_alerts(session: Session, ctx: Context, args: dict[str, Any]) -> Select[tuple[Alert]]:
    """Alerts newest first, filtered as seed 002 does; delivery outcomes are brought up to date."""
    record_alert_outcomes(session, ctx.project_id)
    statement = scoped(Alert, ctx.project_id)
    if "customer_id" in args:
        statement = statement.where(Alert.customer_id == args["customer_id"])
    if "alert_type" in args:
        statement = statement.where(Alert.alert_type == args["alert_type"])
    if "was_sent" in args:
        statement = statement.where(Alert.was_sent.is_(args["was_sent"]))
    if "start_date" in args:
        statement = statement.where(
            Alert.created_at >= datetime.combine(args["start_date"], time(), tzinfo=UTC)
        )
    if "end_date" in args:
        end = datetime.combine(args["end_date"] + timedelta(days=1), time(), tzinfo=UTC)
        statement = statement.where(Alert.created_at < end)
    return statement.order_by(Alert.created_at.desc(), Alert.id)


def record_alert_outcomes(session: Session, project_id: uuid.UUID) -> None:
    """Copy the webhook delivery outcome onto every alert whose outcome is still open: sent
    once any delivery of its event succeeded, an error once every delivery failed."""
    from core.webhooks.models import DELIVERED, FAILED, WebhookDelivery

    open_alerts = session.scalars(
        scoped(Alert, project_id).where(Alert.was_sent.is_(False), Alert.error_message.is_(None))
    ).all()
    if not open_alerts:
        return
    statuses: dict[str, list[tuple[str, str | None]]] = {}
    for body, status, error in session.execute(
        select(WebhookDelivery.body, WebhookDelivery.status, WebhookDelivery.error).where(
            WebhookDelivery.project_id == project_id,
            WebhookDelivery.event_name == RISK_CHANGED,
            WebhookDelivery.created_at >= min(alert.created_at for alert in open_alerts),
        )
    ):
        alert_id = body.get("payload", {}).get("alert_id")
        statuses.setdefault(alert_id, []).append((status, error))
    for alert in open_alerts:
        deliveries = statuses.get(str(alert.id), [])
        if any(status == DELIVERED for status, _ in deliveries):
            alert.was_sent = True
        elif deliveries and all(status == FAILED for status, _ in deliveries):
            errors = "; ".join(error or "failed" for _, error in deliveries)
            alert.error_message = f"Webhook delivery failed: {errors}"[:500]
    session.flush()


# -- demo ------------------------------------------------------------------------------------

DEMO_CUSTOMERS = 600


def load_demo_customers(session: Session, project_id: uuid.UUID) -> None:
    """A few hundred labelled customers, a first trained model and their current risk."""
    from plugins.customers.synthetic import generate_customers

    session.add_all(
        Customer(project_id=project_id, **values) for values in generate_customers(DEMO_CUSTOMERS)
    )
    session.flush()
    train_churn_model(session, project_id)
    predict_customers(session, project_id)
