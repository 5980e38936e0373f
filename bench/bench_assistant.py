"""Assistant speed: the offline provider's full answer and the engine's overhead per tool call."""

from __future__ import annotations

import statistics
import time
import uuid

from assistant.engine import run_turn
from assistant.providers.base import Completion, ToolCall
from assistant.providers.offline import OfflineProvider
from assistant.tools import ToolContext, tool
from bench import Figure
from core.context import Context

QUESTIONS = (
    "how many orders did we get in the last 7 days?",
    "what is the status of order 1042?",
    "which customers are most likely to churn?",
)
ROUNDS = 200


def _median_ms(fn, rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


@tool("bench", examples=("ping",))
def ping(ctx: ToolContext, n: int = 1) -> dict:
    """Return n (measures the engine, not the tool)."""
    return {"n": n}


class ScriptedProvider:
    """Asks for one tool call, then answers: the engine's work without any model."""

    name = model = "scripted"

    def complete(self, system, messages, tools):
        if messages[-1].role == "user":
            return Completion(tool_calls=(ToolCall("1", "ping", {"n": 2}),))
        return Completion(text="done")


class NullSession:
    def begin_nested(self):
        return self

    def commit(self):
        pass

    def rollback(self):
        pass


def run() -> list[Figure]:
    from tests.assistant import asstest_plugin as plugin

    tools = [
        plugin.order_status,
        plugin.order_count,
        plugin.customer_risks,
        plugin.my_orders,
        plugin.refund_order,
    ]
    permissions = frozenset({"test_view_orders", "test_view_customers", "test_admin", "bench"})
    context = Context(project_id=uuid.uuid4(), permissions=permissions)
    ctx = ToolContext(session=NullSession(), context=context)  # type: ignore[arg-type]
    offline = OfflineProvider()
    for question in QUESTIONS:  # warm the TF-IDF index
        run_turn(offline, ctx, [], question, tools, max_steps=3)
    offline_ms = statistics.median(
        _median_ms(lambda q=q: run_turn(offline, ctx, [], q, tools, max_steps=3), ROUNDS)
        for q in QUESTIONS
    )
    direct_ms = statistics.median(
        _median_ms(lambda: plugin.order_count.run(ctx, {"days": 7}), ROUNDS) for _ in QUESTIONS
    )
    scripted = ScriptedProvider()
    engine_ms = _median_ms(
        lambda: run_turn(scripted, ctx, [], "ping", [ping], max_steps=3), ROUNDS * 5
    )
    bare_ms = _median_ms(lambda: ping.fn(ctx, n=2), ROUNDS * 5)
    return [
        Figure(
            "assistant: offline answer (plan + tool + answer), median",
            offline_ms,
            "ms",
            "< 50 ms",
            offline_ms < 50,
            direct_ms,
            "tool run directly",
        ),
        Figure(
            "assistant: engine overhead per tool call, median",
            engine_ms - bare_ms,
            "ms",
            "report",
            True,
            bare_ms,
            "bare function call",
        ),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.row())
