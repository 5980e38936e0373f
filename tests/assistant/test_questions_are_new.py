"""The planner's tests ask new questions: none is a copy of what a tool or a metric declares.

The offline planner indexes every tool's examples (and the metrics' words and examples) as
documents, so a test asking one of them verbatim only shows that a document matches itself.
A question is any string literal of two words or more in the assistant tests.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tests.assistant import asstest_plugin

HERE = Path(__file__).parent
QUESTION_FILES = sorted(HERE.glob("test_*.py"))
BENCH_QUESTIONS = HERE.parent.parent / "bench" / "bench_assistant.py"
QUESTION_SET = HERE / "questions.json"


def normalized(text: str) -> str:
    """Lower case, words only: "What is order #1042?" and "what is order 1042" are one."""
    return " ".join(re.findall(r"[\w@.-]+", text.lower())).strip(".")


def declared_phrases(registry) -> dict[str, set[str]]:
    """Every registered tool's examples and metric's words and examples, normalized, with
    who declares them."""
    phrases: dict[str, set[str]] = {}

    def declare(texts, owner: str) -> None:
        for text in texts:
            phrases.setdefault(normalized(text), set()).add(owner)

    for tool in registry.tools.values():
        declare(tool.examples, f"tool {tool.name}")
    for metric in registry.metrics.values():
        owner = f"metric {metric.name}"
        declare((*metric.words, *metric.examples), owner)
        for dimension in metric.dimensions:
            declare(dimension.words, owner)
    return phrases


def questions(path: Path) -> list[tuple[int, str]]:
    """String literals of two words or more in ``path`` (the questions asked, in a JSON
    question set), with their line numbers."""
    if path.suffix == ".json":
        return [(number, case["ask"]) for number, case in enumerate(json.loads(path.read_text()))]
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and len(normalized(node.value).split()) >= 2
    ]


def copies(paths: list[Path], phrases: dict[str, set[str]]) -> list[str]:
    return [
        f"{path.name}:{line} {text!r} is declared by {', '.join(sorted(phrases[normalized(text)]))}"
        for path in paths
        for line, text in questions(path)
        if normalized(text) in phrases
    ]


def test_no_test_or_bench_question_copies_a_declared_example_or_word(make_app):
    app = make_app(extra_plugins=[("asstest", asstest_plugin)])
    registry = app.extensions["nebulo"].registry
    assert {"get_order", "high_risk_customers", "order_status"} <= set(registry.tools)
    assert registry.metrics, "the metrics' words must be part of the check"
    checked = [*QUESTION_FILES, BENCH_QUESTIONS, QUESTION_SET]
    assert copies(checked, declared_phrases(registry)) == []


def test_the_check_reads_the_question_set_and_finds_a_copy_in_it(make_app, tmp_path):
    app = make_app(extra_plugins=[("asstest", asstest_plugin)])
    phrases = declared_phrases(app.extensions["nebulo"].registry)
    copied = tmp_path / "questions.json"
    copied.write_text(json.dumps([{"ask": "Average order " + "value"}, {"ask": "is 1042 late"}]))
    assert [line for line, _ in questions(QUESTION_SET)][:2] == [0, 1]
    assert [entry.split(" is declared by ")[1] for entry in copies([copied], phrases)] == [
        "metric average_order_value"
    ]


def test_the_check_finds_a_copy_whatever_its_case_and_spacing(make_app, tmp_path):
    app = make_app(extra_plugins=[("asstest", asstest_plugin)])
    phrases = declared_phrases(app.extensions["nebulo"].registry)
    copied = tmp_path / "test_copied.py"
    copied.write_text(
        'ASKED = "What is the  STATUS of order 1042"\n'
        'WORD = "Average Order Value"\n'
        'NEW = "is parcel 1042 on its way"\n'
    )
    found = copies([copied], phrases)
    assert [entry.split(" is declared by ")[1] for entry in found] == [
        "tool get_order, tool order_status",
        "metric average_order_value",
    ]
