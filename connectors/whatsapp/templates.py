"""WhatsApp message templates in the Graph API's wire format: the variables a template's
components take, checking and filling them, and the ``template`` object a send carries.

A template's components (``GET /{waba-id}/message_templates``) hold placeholders: positional
``{{1}}`` or named ``{{first_name}}`` in a TEXT header, the BODY and URL buttons; a media
header (IMAGE, VIDEO, DOCUMENT) takes a link. A send gives one value per variable, in the
order :func:`template_variables` lists them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}
MAX_TEXT = {"header": 60, "body": 1024, "button": 2000}
BODY_FORBIDDEN = re.compile(r"[\n\t]| {5,}")
"""The Cloud API refuses a body parameter with a new line, a tab or more than four spaces."""
SENDABLE_STATUS = "APPROVED"


def template_variables(components: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a send must fill, in order: header, body, then each URL button."""
    variables: list[dict[str, Any]] = []
    for component in components:
        kind = str(component.get("type") or "").upper()
        if kind == "HEADER":
            media = MEDIA_FORMATS.get(str(component.get("format") or "").upper())
            if media:
                variables.append({"component": "header", "name": "link", "type": media})
            else:
                variables.extend(_placeholders("header", component.get("text")))
        elif kind == "BODY":
            variables.extend(_placeholders("body", component.get("text")))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if str(button.get("type") or "").upper() == "URL":
                    found = _placeholders("button", button.get("url"))
                    variables.extend({**v, "index": index, "sub_type": "url"} for v in found)
    return variables


def _placeholders(component: str, text: Any) -> list[dict[str, Any]]:
    names = PLACEHOLDER.findall(text) if isinstance(text, str) else []
    unique = list(dict.fromkeys(names))
    return [{"component": component, "name": name, "type": "text"} for name in unique]


def check_values(variables: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> dict[str, str]:
    """Problems with ``values`` for ``variables``, by position ("variables.0"); empty when
    they fit: as many as the template takes, text as a string, media as an https link."""
    if len(values) != len(variables):
        return {
            "variables": f"The template takes {len(variables)} variable(s), {len(values)} given."
        }
    problems: dict[str, str] = {}
    for position, (variable, value) in enumerate(zip(variables, values, strict=True)):
        where, component = f"variables.{position}", variable["component"]
        if not isinstance(value, str) or not value.strip():
            problems[where] = f"{_label(variable)} needs a non-empty string."
        elif variable["type"] != "text":
            if not re.match(r"^https://\S+$", value) or len(value) > 2000:
                problems[where] = (
                    f"{_label(variable)} needs an https link to the {variable['type']}."
                )
        elif len(value) > MAX_TEXT[component]:
            problems[where] = f"{_label(variable)} is longer than {MAX_TEXT[component]} characters."
        elif component == "body" and BODY_FORBIDDEN.search(value):
            problems[where] = (
                f"{_label(variable)} cannot hold new lines, tabs or more than four spaces in a row."
            )
    return problems


def _label(variable: Mapping[str, Any]) -> str:
    return f"The {variable['component']} variable {{{{{variable['name']}}}}}"


def render(
    components: Sequence[Mapping[str, Any]],
    variables: Sequence[Mapping[str, Any]],
    values: Sequence[str],
) -> str:
    """The text the customer reads: header, body and footer with the values filled in."""
    filled: dict[tuple[str, str], str] = {
        (v["component"], v["name"]): value for v, value in zip(variables, values, strict=True)
    }
    parts = []
    for component in components:
        kind = str(component.get("type") or "").lower()
        text = component.get("text")
        if kind in ("header", "body", "footer") and isinstance(text, str):
            parts.append(
                PLACEHOLDER.sub(lambda m, k=kind: filled.get((k, m.group(1)), m.group(0)), text)
            )
    return "\n\n".join(parts)


def send_payload(
    name: str,
    language: str,
    variables: Sequence[Mapping[str, Any]],
    values: Sequence[str],
    named: bool,
) -> dict[str, Any]:
    """The ``template`` object of ``POST /{phone-number-id}/messages``."""
    components: dict[tuple[str, int | None], dict[str, Any]] = {}
    for variable, value in zip(variables, values, strict=True):
        key = (variable["component"], variable.get("index"))
        component = components.setdefault(key, {"type": variable["component"], "parameters": []})
        if variable["component"] == "button":
            component.update(sub_type=variable["sub_type"], index=str(variable["index"]))
        if variable["type"] == "text":
            parameter: dict[str, Any] = {"type": "text", "text": value}
            if named:
                parameter["parameter_name"] = variable["name"]
        else:
            parameter = {"type": variable["type"], variable["type"]: {"link": value}}
        component["parameters"].append(parameter)
    payload: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        payload["components"] = list(components.values())
    return payload


def is_named(variables: Sequence[Mapping[str, Any]]) -> bool:
    """Named parameters ({{first_name}}) travel with their names; positional ones do not."""
    return any(v["type"] == "text" and not v["name"].isdigit() for v in variables)
