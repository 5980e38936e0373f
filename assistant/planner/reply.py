"""Answers written the way a person would: a sentence with the figure(s) and the period as
dates, a short table for a list, no internal ids."""

from __future__ import annotations

from datetime import date
from typing import Any

from assistant.planner.route import scalar_text, write_answer

MAX_TABLE_ROWS = 12
EXTREMES = ("highest", "lowest")  # by ascending: "the highest revenue"
COUNTED_EXTREMES = ("most", "fewest")  # "the most orders"
OPENERS = ("today", "yesterday", "this ", "last ", "past ", "since ")


def day_text(value: date) -> str:
    return f"{value.day} {value:%b} {value.year}"


def dates_text(start: date, end: date) -> str:
    """ "1–30 Nov 2026", "28 Dec 2025 – 3 Jan 2026", "29 Nov 2026"."""
    if start == end:
        return day_text(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%b} {end.year}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b} {end.year}"
    return f"{day_text(start)} – {day_text(end)}"


def when(period: dict[str, str]) -> str:
    """ "last week (16–22 Nov 2026)", "in March 2019 (1–31 Mar 2019)"."""
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    label = period["label"]
    for iso in {period["start"], period["end"]}:
        label = label.replace(iso, day_text(date.fromisoformat(iso)))
    if label == day_text(start) or label.endswith(day_text(start)) and start == end:
        return f"on {label}"
    if " to " in label and not label.startswith("the "):
        return f"from {dates_text(start, end)}"
    words = label if label.lower().startswith(OPENERS) else f"in {label}"
    if label.startswith(("past ", "week of ")):
        words = f"in the {label}"
    return f"{words} ({dates_text(start, end)})"


def value_text(value: Any, unit: str) -> str:
    """A figure in its unit: money with cents, counts whole, percents to one decimal."""
    if value is None:
        return "no data"
    if unit == "money":
        return f"{float(value):,.2f}"
    if unit == "count":
        return f"{int(round(float(value))):,}"
    if unit == "percent":
        return f"{float(value):.1f}%"
    if unit == "duration":
        return duration_text(float(value))
    return f"{float(value):,.2f}"


def duration_text(seconds: float) -> str:
    minutes, hours = round(seconds / 60), seconds / 3600
    if seconds < 90:
        return f"{round(seconds)} s"
    if hours < 2:
        return f"{minutes} min"
    return f"{int(hours)} h {minutes - 60 * int(hours)} min"


def change_text(change: float | None, previous: str, before: str) -> str:
    if change is None:
        return f"against {previous} {before}"
    if abs(change) < 0.05:
        return f"the same as {before}"
    direction = "up" if change > 0 else "down"
    return f"{direction} {abs(change):.1f}% from {previous} {before}"


def cell(value: Any, name: str, units: dict[str, str]) -> str:
    if name in units:
        return value_text(value, units[name])
    if name == "hour" and isinstance(value, int):
        return f"{value:02d}:00–{(value + 1) % 24:02d}:00"
    if value is None:
        return f"(no {name.replace('_', ' ')})"  # walk-in orders: "(no customer)"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return day_text(date.fromisoformat(value))
    return str(value)


def metric_answer(
    result: dict[str, Any],
    labels: dict[str, str],
    dimension_labels: dict[str, str],
    dated: bool,
    filters: list[str],
    ascending: bool = False,
) -> str:
    """The answer to a metrics query (the ``query_metrics`` tool's JSON result)."""
    if set(result) == {"error"}:
        return f"I could not get that figure: {result['error']}"
    units: dict[str, str] = result["units"]
    names = [m["name"] for m in result["metrics"]]
    period = when(result["period"]) if dated else "right now"
    subject = _subject(names, labels, filters)
    if not result["group_by"]:
        return _totals(result, names, units, labels, subject, period)
    return _table(result, names, units, labels, dimension_labels, subject, period, ascending)


def _subject(names: list[str], labels: dict[str, str], filters: list[str]) -> str:
    subject = " and ".join(labels[n] for n in names)
    subject = subject[:1].upper() + subject[1:]
    for item in filters:
        dimension, _, values = item.partition(":")
        values = values.replace(",", " or ")
        named = dimension in ("product", "customer")
        subject += f" for {values}" if named else f" with {dimension.replace('_', ' ')} {values}"
    return subject


def _totals(result, names, units, labels, subject, period) -> str:
    totals = result["totals"]
    if len(names) == 1:
        sentence = f"{subject} {period}: {value_text(totals[names[0]], units[names[0]])}"
    else:
        parts = [f"{labels[n].lower()} {value_text(totals[n], units[n])}" for n in names]
        sentence = f"{period[:1].upper()}{period[1:]}: " + ", ".join(parts)
    if result.get("comparison_period"):
        before = when(result["comparison_period"])
        changes = [
            change_text(
                result["changes"][n],
                value_text(result["comparison_totals"][n], units[n]),
                before,
            )
            for n in names
        ]
        sentence += (
            ", " + "; ".join(changes)
            if len(names) == 1
            else ". " + "; ".join(f"{labels[n]} {c}" for n, c in zip(names, changes, strict=True))
        )
    return sentence + "."


def _table(result, names, units, labels, dimension_labels, subject, period, ascending) -> str:
    rows, group_by = result["rows"], result["group_by"]
    dims = " and ".join(dimension_labels.get(g, g).lower() for g in group_by)
    if not rows:
        return f"{subject} {period}: nothing to list by {dims}."
    first = names[0]
    if len(rows) == 1 and len(group_by) == 1 and result.get("comparison_period") is None:
        top = cell(rows[0][group_by[0]], group_by[0], units)
        value = value_text(rows[0][first], units[first])
        extreme = (COUNTED_EXTREMES if units[first] == "count" else EXTREMES)[ascending]
        measure = f"{extreme} {labels[first].lower()}"
        return f"The {dims} with the {measure} {period} was {top}, with {value}."
    columns = [*group_by]
    for name in names:
        columns.append(name)
        if result.get("comparison_period"):
            columns += [f"{name}_previous", f"{name}_change"]
    headers = [dimension_labels.get(c, c) for c in group_by]
    for name in names:
        headers.append(labels[name])
        if result.get("comparison_period"):
            headers += ["before", "change"]
    lines = [
        f"{subject} by {dims} {period}:",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
    ]
    for row in rows[:MAX_TABLE_ROWS]:
        shown = []
        for column in columns:
            if column.endswith("_change"):
                change = row.get(column)
                shown.append("–" if change is None else f"{change:+.1f}%")
            else:
                unit_name = column.removesuffix("_previous")
                shown.append(
                    cell(row.get(column), unit_name if unit_name in units else column, units)
                )
        lines.append("| " + " | ".join(shown) + " |")
    if len(rows) > MAX_TABLE_ROWS:
        lines.append(f"…and {len(rows) - MAX_TABLE_ROWS} more rows.")
    total = ", ".join(
        f"{labels[n].lower()} {value_text(result['totals'][n], units[n])}" for n in names
    )
    lines.append(f"In all: {total}.")
    return "\n".join(lines)


def lookup_answer(result: dict[str, Any], what: str) -> str:
    """A lookup tool's result: the one thing found, the candidates, or nothing."""
    if result.get("match") is not None:
        return "I found " + _describe(result["match"]) + "."
    candidates = result.get("candidates") or []
    if candidates:
        listed = "; ".join(_describe(c) for c in candidates)
        return f"Several {what}s match “{result['query']}”: {listed}. Which one do you mean?"
    return f"I found no {what} matching “{result['query']}”."


def _describe(item: dict[str, Any]) -> str:
    label = item.get("name") or (f"order {item['number']}" if item.get("number") else "")
    details = [
        f"{key.replace('_', ' ')} {scalar_text(value)}"
        for key, value in item.items()
        if value not in (None, "")
        and key not in ("id", "name", "number", "last_updated")
        and not key.endswith("_id")
    ]
    return f"{label} ({', '.join(details)})" if details else str(label)


def tool_answer(name: str, arguments: dict[str, Any], result: Any) -> str:
    """Any other tool's result, lookups in plain words."""
    if isinstance(result, dict) and {"match", "candidates"} <= set(result):
        return lookup_answer(result, name.removeprefix("lookup_"))
    return write_answer(name, arguments, result)
