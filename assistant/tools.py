"""Assistant tools: typed Python functions the model may call.

``@tool(permission=...)`` reads a function's signature and docstring once and builds a
:class:`Tool`: its name, description and a JSON schema of its parameters. The engine offers
tools to a model by that schema and runs them with :meth:`Tool.run`, which validates and
converts the model's arguments. The first parameter is always a :class:`ToolContext` the engine
injects, so the project, the caller and their permissions never come from the model.

A parameter whose values plugins register (the metrics, their dimensions) is annotated
``Annotated[str, Choices(read_values)]``: its enum is read from the running app whenever the
schema is built, so it lists exactly what the loaded plugins hold.
"""

from __future__ import annotations

import inspect
import types
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from sqlalchemy.orm import Session

from core.context import Context

AUDIENCES = ("operator", "customer")


@dataclass(frozen=True)
class ToolContext:
    """What a tool runs with: the database session and the caller inside one project."""

    session: Session
    context: Context


class ToolArgumentError(ValueError):
    """The model's arguments do not match the tool's schema; ``errors`` maps field -> message."""

    def __init__(self, tool_name: str, errors: dict[str, str]):
        self.errors = errors
        details = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(f"Invalid arguments for {tool_name}: {details}")


@dataclass(frozen=True)
class Choices:
    """The allowed values of a string parameter, read from the running app when needed."""

    read: Callable[[], Sequence[str]]


def _unannotated(annotation: Any) -> tuple[Any, Choices | None]:
    """``Annotated[X, ...]`` -> ``(X, its Choices or None)``; other hints -> ``(hint, None)``."""
    if get_origin(annotation) is not Annotated:
        return annotation, None
    found = (extra for extra in annotation.__metadata__ if isinstance(extra, Choices))
    return annotation.__origin__, next(found, None)


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any
    required: bool
    default: Any

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema, with enums of :class:`Choices` read now."""
        schema = json_schema(self.annotation)
        default = self.default
        if not self.required and default is not None and not isinstance(default, (list, tuple)):
            schema["default"] = default.isoformat() if isinstance(default, date) else default
        return schema


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(annotation, False)``."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) != len(get_args(annotation)):
            if len(members) != 1:
                raise TypeError(f"unions other than Optional are not supported: {annotation}")
            return members[0], True
        raise TypeError(f"unions other than Optional are not supported: {annotation}")
    return annotation, False


def json_schema(annotation: Any, read_choices: bool = True) -> dict[str, Any]:
    """The JSON schema of one Python type hint (``read_choices=False``: without enums of
    :class:`Choices`, which need the running app)."""
    inner, optional = _strip_optional(annotation)
    schema = _schema_of(inner, read_choices)
    if optional:
        schema["nullable"] = True
    return schema


def _schema_of(annotation: Any, read_choices: bool = True) -> dict[str, Any]:
    annotation, choices = _unannotated(annotation)
    if choices is not None:
        schema = _schema_of(annotation)
        return {**schema, "enum": list(choices.read())} if read_choices else schema
    origin = get_origin(annotation)
    if origin is Literal:
        values = list(get_args(annotation))
        kinds = {type(value) for value in values}
        if kinds == {str}:
            return {"type": "string", "enum": values}
        if kinds <= {int}:
            return {"type": "integer", "enum": values}
        raise TypeError(f"Literal values must all be str or all int: {annotation}")
    if origin in (list, Sequence, tuple) or annotation is list:
        args = get_args(annotation)
        items = _schema_of(args[0], read_choices) if args else {"type": "string"}
        return {"type": "array", "items": items}
    simple = {
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        Decimal: {"type": "number"},
        str: {"type": "string"},
        datetime: {"type": "string", "format": "date-time"},
        date: {"type": "string", "format": "date"},
        uuid.UUID: {"type": "string", "format": "uuid"},
    }
    if annotation in simple:
        return dict(simple[annotation])
    raise TypeError(f"tool parameters cannot have type {annotation!r}")


def _convert(annotation: Any, value: Any) -> Any:
    """Check ``value`` (decoded JSON) against ``annotation`` and convert it; raise ValueError."""
    inner, optional = _strip_optional(annotation)
    if value is None:
        if optional:
            return None
        raise ValueError("must not be null")
    inner, choices = _unannotated(inner)
    if choices is not None:
        allowed = choices.read()
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(map(str, allowed))}")
    origin = get_origin(inner)
    if origin is Literal:
        allowed = get_args(inner)
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return value
    if origin in (list, Sequence, tuple) or inner is list:
        if not isinstance(value, list):
            raise ValueError("must be a list")
        args = get_args(inner)
        item_type = args[0] if args else str
        return [_convert(item_type, item) for item in value]
    if inner is bool:
        if not isinstance(value, bool):
            raise ValueError("must be a boolean")
        return value
    if inner is int:
        if isinstance(value, bool):
            raise ValueError("must be an integer")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if inner in (float, Decimal):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("must be a number")
        try:
            return Decimal(str(value)) if inner is Decimal else float(value)
        except (InvalidOperation, ValueError):
            raise ValueError("must be a number") from None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if inner is str:
        return value
    if inner is datetime:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time") from None
    if inner is date:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if inner is uuid.UUID:
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValueError("must be a UUID") from None
    raise ValueError(f"unsupported type {inner!r}")


def _description(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn)
    if not doc:
        raise TypeError(f"tool {fn.__name__} needs a docstring: it is the model's description")
    return doc.strip()


class Tool:
    """A function the assistant may call, with its schema and the permission it needs."""

    def __init__(
        self,
        fn: Callable[..., Any],
        permission: str,
        audiences: Sequence[str] = ("operator",),
        examples: Sequence[str] = (),
    ):
        unknown = set(audiences) - set(AUDIENCES)
        if unknown or not audiences:
            raise TypeError(f"tool {fn.__name__}: audiences must be among {AUDIENCES}")
        self.fn = fn
        self.name = fn.__name__
        self.description = _description(fn)
        self.permission = permission
        self.audiences = tuple(audiences)
        self.examples = tuple(examples)
        self.params = self._read_parameters(fn)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments (built on each read: :class:`Choices` may change)."""
        return {
            "type": "object",
            "properties": {param.name: param.schema for param in self.params},
            "required": [param.name for param in self.params if param.required],
        }

    @staticmethod
    def _read_parameters(fn: Callable[..., Any]) -> tuple[Parameter, ...]:
        signature = inspect.signature(fn)
        hints = get_type_hints(fn, include_extras=True)
        names = list(signature.parameters)
        if not names or names[0] != "ctx":
            raise TypeError(f"tool {fn.__name__} must take 'ctx: ToolContext' first")
        params = []
        for name in names[1:]:
            declared = signature.parameters[name]
            if declared.kind in (declared.VAR_POSITIONAL, declared.VAR_KEYWORD):
                raise TypeError(f"tool {fn.__name__}: *args/**kwargs are not allowed")
            if name not in hints:
                raise TypeError(f"tool {fn.__name__}: parameter {name!r} needs a type hint")
            if name == "project_id":
                raise TypeError(f"tool {fn.__name__}: project_id comes from the context")
            json_schema(hints[name], read_choices=False)  # an unsupported type fails here
            required = declared.default is inspect.Parameter.empty
            default = None if required else declared.default
            params.append(Parameter(name, hints[name], required, default))
        return tuple(params)

    def validate(self, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Check and convert the model's arguments; raise :class:`ToolArgumentError`."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise ToolArgumentError(self.name, {"_arguments": "must be a JSON object"})
        known = {param.name: param for param in self.params}
        errors: dict[str, str] = {}
        for name in arguments:
            if name not in known:
                errors[name] = "unknown parameter" + (
                    f" (expected: {', '.join(known)})" if known else " (this tool takes none)"
                )
        converted: dict[str, Any] = {}
        for param in self.params:
            if param.name not in arguments:
                if param.required:
                    errors[param.name] = "missing required parameter"
                continue
            try:
                converted[param.name] = _convert(param.annotation, arguments[param.name])
            except ValueError as error:
                errors[param.name] = str(error)
        if errors:
            raise ToolArgumentError(self.name, errors)
        return converted

    def run(self, ctx: ToolContext, arguments: dict[str, Any] | None) -> Any:
        """Validate ``arguments`` and call the function (permission checks belong to the engine)."""
        return self.fn(ctx, **self.validate(arguments))

    def __call__(self, ctx: ToolContext, *args: Any, **kwargs: Any) -> Any:
        return self.fn(ctx, *args, **kwargs)

    def declaration(self) -> dict[str, Any]:
        """Name, description and parameters: what a provider sends to a model."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def __repr__(self) -> str:
        return f"<Tool {self.name} permission={self.permission!r} audiences={self.audiences}>"


def tool(
    permission: str, *, audiences: Sequence[str] = ("operator",), examples: Sequence[str] = ()
) -> Callable[[Callable[..., Any]], Tool]:
    """Turn ``fn(ctx: ToolContext, ...)`` with a docstring into a :class:`Tool`.

    ``permission`` is checked before every run; ``audiences`` says who may be offered it
    (``"customer"`` only for tools that read the calling customer's own data via
    ``ctx.context.customer_id``); ``examples`` are questions the tool answers, used by the offline
    planner to pick it.
    """

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, permission, audiences, examples)

    return decorate


__all__ = ["Choices", "Tool", "ToolArgumentError", "ToolContext", "tool", "json_schema"]
