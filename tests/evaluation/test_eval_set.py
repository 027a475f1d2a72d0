"""The shipped evaluation set is valid and answerable; a broken file is rejected naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_runtime.settings import DEFAULT_TOOLS
from agent_runtime.tools.search_knowledge_base import KB_DIR, search_knowledge_base
from evaluation.eval_set import DEFAULT_CASES_FILE, EvalSetError, load_eval_set

ARTICLE_IDS = {path.stem for path in KB_DIR.glob("*.md")}


def test_the_shipped_set_has_at_least_20_cases_covering_every_tool_and_no_tool():
    eval_set, digest = load_eval_set(DEFAULT_CASES_FILE)
    assert len(eval_set.cases) >= 20 and len(digest) == 12
    expected = {tool for case in eval_set.cases for tool in case.expected_tools}
    assert expected == set(DEFAULT_TOOLS)  # every tool the agent has, and only those
    assert any(case.expected_tools == [] for case in eval_set.cases)


def test_every_cited_article_exists_and_the_search_finds_it_for_the_case():
    eval_set, _ = load_eval_set(DEFAULT_CASES_FILE)
    cited = [
        (case, fact)
        for case in eval_set.cases
        for fact in case.expected_facts
        if isinstance(fact, str) and fact in ARTICLE_IDS
    ]
    assert len(cited) >= 5
    for case, article in cited:
        results = search_knowledge_base._tool_func(query=case.prompt)["results"]
        assert article in [r["id"] for r in results], f"{case.id}: search does not return {article}"


def test_every_knowledge_base_fact_is_in_the_knowledge_base():
    """Facts of cases that only need the knowledge base are phrases its articles contain."""
    eval_set, _ = load_eval_set(DEFAULT_CASES_FILE)
    corpus = " ".join(path.read_text(encoding="utf-8") for path in KB_DIR.glob("*.md")).casefold()
    for case in eval_set.cases:
        if case.expected_tools != ["search_knowledge_base"] or case.id.startswith("no-article"):
            continue
        for fact in case.expected_facts:
            options = [fact] if isinstance(fact, str) else fact
            assert any(option.casefold() in corpus or option in ARTICLE_IDS for option in options), (case.id, fact)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return path


VALID_HEAD = "budgets: {latency_ms: 1000, cost_usd: 0.001}\ncases:\n"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            "  - {id: a, prompt: hi, expected_tools: [search_kb]}\n",
            "cases[0].expected_tools",
            "unknown tool(s) ['search_kb']",
        ),
        ("  - {id: a, prompt: hi}\n", "cases[0].expected_tools", "required key is missing"),
        ("  - {id: a, prompt: hi, expected_tools: [], expected_fact: [x]}\n", "cases[0].expected_fact", "unknown key"),
        (
            "  - {id: a, prompt: hi, expected_tools: [], expected_facts: [ok, []]}\n",
            "cases[0].expected_facts[1]",
            "at least 1 item",
        ),
        ("  - {id: a, prompt: '  ', expected_tools: []}\n", "cases[0].prompt", "at least 1 character"),
        (
            "  - {id: a, prompt: hi, expected_tools: [], budgets: {latency_ms: -5}}\n",
            "cases[0].budgets.latency_ms",
            "greater than 0",
        ),
        (
            "  - {id: a, prompt: hi, expected_tools: []}\n  - {id: a, prompt: ho, expected_tools: []}\n",
            "(top level)",
            "repeated: ['a']",
        ),
        ("  - {id: Bad Id, prompt: hi, expected_tools: []}\n", "cases[0].id", "should match pattern"),
    ],
)
def test_a_broken_case_is_rejected_naming_the_file_and_the_field(tmp_path, body, field, message):
    path = write(tmp_path, VALID_HEAD + body)
    with pytest.raises(EvalSetError) as caught:
        load_eval_set(path)
    assert f"{path}: {field}: " in str(caught.value) and message in str(caught.value)


def test_missing_budgets_not_yaml_and_missing_file_are_rejected_naming_the_file(tmp_path):
    no_budgets = write(tmp_path, "cases:\n  - {id: a, prompt: hi, expected_tools: []}\n")
    with pytest.raises(EvalSetError, match=f"{no_budgets}: budgets: required key is missing"):
        load_eval_set(no_budgets)
    not_yaml = write(tmp_path, "cases: [unclosed\n")
    with pytest.raises(EvalSetError, match=f"{not_yaml}: not valid YAML"):
        load_eval_set(not_yaml)
    with pytest.raises(EvalSetError, match=r"nope\.yaml: no such file"):
        load_eval_set(tmp_path / "nope.yaml")
    twice = write(tmp_path, "budgets: {latency_ms: 5, cost_usd: 1}\n" + VALID_HEAD + "  - {id: a, prompt: hi}\n")
    with pytest.raises(EvalSetError, match=f"{twice}: not valid YAML: .*given twice"):
        load_eval_set(twice)


def test_a_case_budget_overrides_only_what_it_sets(tmp_path):
    path = write(tmp_path, VALID_HEAD + "  - {id: a, prompt: hi, expected_tools: [], budgets: {latency_ms: 50}}\n")
    eval_set, _ = load_eval_set(path)
    budgets = eval_set.budgets_for(eval_set.cases[0])
    assert (budgets.latency_ms, budgets.cost_usd) == (50, 0.001)
