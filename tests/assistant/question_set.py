"""The assistant's question set (``questions.json``) asked on the demo project, each answer
checked against what the metrics API (or the tool, run directly) says at that moment.

A case names what a correct answer holds, never a number: ``metrics``/``period``/``filters``/
``group_by``/``order``/``limit``/``compare`` is a metrics query, run through
``POST /api/v1/metrics/{project}/query``; the reply must state its figures (for a list, its
first rows) and its dates. ``before`` is "the unit before the period of the question before"
and ``same_period`` that period itself (follow-ups). ``tool`` (+ ``arguments``, ``says``) is
a plugin tool's answer: the tool must be called and the facts ``says`` names, read from the
tool run directly, must be in the reply.
``refuse`` is a refusal; ``unanswered`` a question the project's data cannot answer. A case
with ``follows`` continues the conversation of the case before it. Used by
``test_question_set.py`` and ``bench/bench_assistant.py``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from assistant.planner import policy
from assistant.planner.reply import cell, dates_text, value_text
from assistant.planner.route import scalar_text
from assistant.tools import ToolContext
from core.context import Context
from core.metrics.periods import add_months
from plugins.customers.lookup import find_customers

QUESTIONS = Path(__file__).with_name("questions.json")
DEFAULT_PERIOD = "past 30 days"
SHOWN_ROWS = 3
REFUSALS = {
    "credentials": policy.CREDENTIALS,
    "destructive": policy.DESTRUCTIVE,
    "other": policy.OTHER_PROJECT,
}


def load_cases() -> list[dict[str, Any]]:
    return json.loads(QUESTIONS.read_text())


@dataclass
class Outcome:
    category: str
    ask: str
    ok: bool
    reply: str
    wanted: list[str]


class QuestionSet:
    """Asks every case as the demo project's admin and checks each answer."""

    def __init__(self, app: Any, project_id: str, headers: dict[str, str]):
        self.app = app
        self.client = app.test_client()
        self.project_id = project_id
        self.headers = headers
        listing = self._get(f"/api/v1/metrics/{project_id}")
        self.dated = {m["name"]: m["dated"] for m in listing["metrics"]}

    def run(self, cases: list[dict[str, Any]] | None = None) -> list[Outcome]:
        conversation: str | None = None
        period: dict[str, str] | None = None
        outcomes = []
        for case in cases if cases is not None else load_cases():
            body: dict[str, Any] = {"project_id": self.project_id, "message": case["ask"]}
            if case.get("follows"):
                body["conversation_id"] = conversation
            answer = self._post("/api/v1/assistant/query", body)
            conversation = answer["conversation_id"]
            ok, wanted, period = self.check(case["expect"], answer, period)
            outcomes.append(Outcome(case["category"], case["ask"], ok, answer["reply"], wanted))
        return outcomes

    def check(
        self, expect: dict[str, Any], answer: dict[str, Any], period: dict[str, str] | None
    ) -> tuple[bool, list[str], dict[str, str] | None]:
        """(whether the answer is right, the texts it had to hold, the period asked)."""
        reply, calls = answer["reply"], answer["function_calls"]
        if "refuse" in expect:
            wanted = [REFUSALS[expect["refuse"]]]
            return reply == wanted[0] and not calls, wanted, None
        if expect.get("unanswered"):
            figured = any(c["name"] == "query_metrics" and c["ok"] for c in calls)
            return not figured and "can't answer" in reply, ["can't answer"], None
        if "tool" in expect:
            wanted = self._tool_facts(expect)
            called = any(
                c["name"] == expect["tool"]
                and c["ok"]
                and all(
                    str(c["parameters"].get(k)).lower() == str(v).lower()
                    for k, v in self._arguments(expect).items()
                )
                for c in calls
            )
            return called and all(text in reply for text in wanted), wanted, None
        result = self._figures(expect, period)
        wanted = self._metric_texts(expect, result)
        return all(text in reply for text in wanted), wanted, result["period"]

    def _figures(self, expect: dict[str, Any], before: dict[str, str] | None) -> dict[str, Any]:
        query: dict[str, Any] = {"metrics": expect["metrics"]}
        if "before" in expect or expect.get("same_period"):
            assert before is not None, "a follow-up's period comes from the case before"
            start, end = (
                _unit_before(expect["before"], before) if "before" in expect else _dates(before)
            )
            query |= {"start": start.isoformat(), "end": end.isoformat()}
        else:
            query["period"] = expect.get("period", DEFAULT_PERIOD)
        filters: dict[str, list[str]] = {}
        for item in expect.get("filters", []):
            name, _, value = item.partition(":")
            filters.setdefault(name, []).append(value)
        query["filters"] = filters
        query |= {k: expect[k] for k in ("group_by", "order", "limit", "compare") if k in expect}
        return self._post(f"/api/v1/metrics/{self.project_id}/query", query)

    def _metric_texts(self, expect: dict[str, Any], result: dict[str, Any]) -> list[str]:
        units = result["units"]
        names = expect["metrics"]
        wanted = []
        if any(self.dated[name] for name in names):
            wanted.append(dates_text(*_dates(result["period"])))
        if result["group_by"]:
            for row in result["rows"][:SHOWN_ROWS]:
                wanted += [cell(row[g], g, units) for g in result["group_by"]]
                wanted += [value_text(row[name], units[name]) for name in names]
            return wanted
        wanted += [value_text(result["totals"][name], units[name]) for name in names]
        if result["comparison_totals"] is not None:
            wanted += [value_text(result["comparison_totals"][n], units[n]) for n in names]
        return wanted

    def _arguments(self, expect: dict[str, Any]) -> dict[str, Any]:
        """The expected arguments, "@customer:Name" read as that customer's id."""
        arguments = dict(expect.get("arguments", {}))
        for key, value in arguments.items():
            if isinstance(value, str) and value.startswith("@customer:"):
                arguments[key] = str(self._customer_id(value.removeprefix("@customer:")))
        return arguments

    def _tool_facts(self, expect: dict[str, Any]) -> list[str]:
        result = self._run_tool(expect["tool"], self._arguments(expect))
        return [scalar_text(_path(result, fact)) for fact in expect.get("says", [])]

    def _run_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        state = self.app.extensions["nebulo"]
        with self.app.app_context(), state.db.session_scope() as session:
            ctx = ToolContext(session, self._context())
            return json.loads(
                json.dumps(state.registry.tools[name].run(ctx, arguments), default=str)
            )

    def _customer_id(self, name: str) -> uuid.UUID:
        state = self.app.extensions["nebulo"]
        with self.app.app_context(), state.db.session_scope() as session:
            return find_customers(session, self._context(), name).match.id

    def _context(self) -> Context:
        permissions = self.app.extensions["nebulo"].permissions_for_role("owner")
        return Context(project_id=uuid.UUID(self.project_id), permissions=permissions, role="owner")

    def _get(self, path: str) -> dict[str, Any]:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == 200, (body, response.get_json())
        return response.get_json()


def _dates(period: dict[str, str]) -> tuple[date, date]:
    return date.fromisoformat(period["start"]), date.fromisoformat(period["end"])


def _unit_before(unit: str, period: dict[str, str]) -> tuple[date, date]:
    """The day, week, month or quarter before the one ``period`` starts in."""
    start, _ = _dates(period)
    if unit == "day":
        return start - timedelta(days=1), start - timedelta(days=1)
    if unit == "week":
        monday = start - timedelta(days=start.weekday() + 7)
        return monday, monday + timedelta(days=6)
    months = {"month": 1, "quarter": 3}[unit]
    first = add_months(start.replace(day=1), -months)
    return first, add_months(first, months) - timedelta(days=1)


def _path(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def scores(outcomes: list[Outcome]) -> dict[str, tuple[int, int]]:
    """(right, asked) per category."""
    table: dict[str, tuple[int, int]] = {}
    for outcome in outcomes:
        right, asked = table.get(outcome.category, (0, 0))
        table[outcome.category] = (right + outcome.ok, asked + 1)
    return table
