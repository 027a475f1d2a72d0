"""search_knowledge_base: BM25 ranking over the shipped articles, limits, no-match handling."""

from __future__ import annotations

import importlib
import json

import pytest

kb = importlib.import_module("agent_runtime.tools.search_knowledge_base")
search = kb.search_knowledge_base


def top_id(query: str) -> str:
    return search(query)["results"][0]["id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("I forgot my password", "password-reset-mfa"),
        ("got a new phone and can't approve the MFA prompt", "password-reset-mfa"),
        ("account locked after too many attempts", "password-reset-mfa"),
        ("GlobalProtect says gateway not reachable from the hotel", "vpn-access"),
        ("connected to vpn but internal sites don't load", "vpn-access"),
        ("my laptop screen is broken, can I get a loaner?", "laptop-replacement"),
        ("someone stole my laptop on the train", "laptop-replacement"),
        ("SAML redirect loop when logging in", "sso-errors"),
        ("403 you are not assigned to this application", "sso-errors"),
        ("what counts as a P1 and who do I page", "incident-severity-escalation"),
        ("need access to the finance shared drive", "access-requests"),
        ("who approves production database access", "access-requests"),
        ("expensify is down, cannot submit receipts", "expense-tool-outage"),
        ("urgent travel reimbursement while the expense tool is unavailable", "expense-tool-outage"),
        ("can I send customer PII to a partner by personal email", "data-classification"),
        ("where may I store encryption keys and credentials", "data-classification"),
    ],
)
def test_right_article_ranks_first(query, expected):
    assert top_id(query) == expected


def test_result_shape_scores_sorted_and_json_serialisable():
    out = search("vpn gateway not reachable", max_results=3)
    assert out["query"] == "vpn gateway not reachable" and "message" not in out
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    first = out["results"][0]
    assert set(first) == {"id", "title", "score", "excerpt"}
    assert first["title"] == "Connecting to the corporate VPN (GlobalProtect)"
    assert "Gateway not reachable" in first["excerpt"]  # the most relevant passage, not the intro
    json.dumps(out)
    assert not {"status", "content"} <= out.keys()  # Strands would mistake it for a ToolResult


def test_excerpts_are_short_and_skip_the_tag_line():
    for r in search("access laptop password vpn expense data incident sso", max_results=10)["results"]:
        assert 0 < len(r["excerpt"]) <= kb.EXCERPT_CHARS
        assert not r["excerpt"].lower().startswith("tags:")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_max_results_is_honoured(n):
    query = "access laptop vpn"
    terms = set(kb.tokenize(query))
    matching = sum(bool(terms & set(kb.tokenize(a.title + " " + a.body))) for a in kb.load_articles())
    assert matching >= 5  # so most n are reachable
    assert len(search(query, max_results=n)["results"]) == min(n, matching)


def test_max_results_is_clamped_to_1_and_10():
    assert len(search("access", max_results=0)["results"]) == 1
    assert len(search("access", max_results=-4)["results"]) == 1
    assert len(search("access laptop password vpn expense data incident", max_results=99)["results"]) <= 10


def test_only_matching_articles_are_returned():
    results = search("saml", max_results=10)["results"]
    assert [r["id"] for r in results] == ["sso-errors"]


@pytest.mark.parametrize("query", ["quantum chromodynamics", "zzzz"])
def test_no_match_returns_a_clear_message(query):
    out = search(query)
    assert out["results"] == []
    assert "No knowledge-base article matched" in out["message"]


@pytest.mark.parametrize("query", ["", "   ", "the of and to", "?!"])
def test_empty_query_returns_a_clear_message(query):
    out = search(query)
    assert out["results"] == [] and out["message"].startswith("Empty query")


def test_search_is_deterministic_and_index_is_built_once():
    assert kb._index() is kb._index()
    assert search("password reset vpn", max_results=5) == search("password reset vpn", max_results=5)


def test_shipped_knowledge_base_is_well_formed():
    articles = kb.load_articles()
    assert len(articles) >= 8
    assert len({a.id for a in articles}) == len(articles)
    for a in articles:
        assert a.title and not a.title.startswith("#") and len(a.body) > 200, a.id


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("passwords", "password"),
        ("Resetting", "reset"),
        ("locked", "lock"),
        ("expired", "expires"),
        ("policies", "policy"),
        ("accesses", "access"),
        ("devices", "device"),
    ],
)
def test_tokenizer_conflates_simple_inflections(a, b):
    assert kb.tokenize(a) == kb.tokenize(b)


def test_tokenizer_drops_stopwords_and_keeps_short_acronyms():
    assert kb.tokenize("How do I use the VPN and SSO?") == ["use", "vpn", "sso"]


def write_kb(tmp_path, docs: dict[str, str]):
    for name, text in docs.items():
        (tmp_path / f"{name}.md").write_text(text)
    return kb.load_articles(tmp_path)


def test_title_match_outranks_the_same_match_in_the_body(tmp_path):
    articles = write_kb(
        tmp_path,
        {
            "a-body": "# Office plants\n\nWatering schedule. The printer is near the plants.",
            "b-title": "# Printer setup\n\nWatering schedule. The office is near the plants.",
            "c-other": "# Parking\n\nVisitors park on level two.",
        },
    )
    hits = kb.BM25Index(articles).search("printer", 5)
    assert [a.id for _, a in hits] == ["b-title", "a-body"]


def test_rare_terms_weigh_more_than_common_ones(tmp_path):
    articles = write_kb(
        tmp_path,
        {
            "common": "# Note one\n\nnetwork network",
            "rare": "# Note two\n\nnetwork firewall",
            "x": "# Note three\n\nnetwork",
            "y": "# Note four\n\nnetwork",
        },
    )
    hits = kb.BM25Index(articles).search("network firewall", 5)
    assert hits[0][1].id == "rare"
    assert {a.id for _, a in hits} == {"common", "rare", "x", "y"}


def test_ties_break_on_article_id(tmp_path):
    articles = write_kb(tmp_path, {"zeta": "# Same\n\nsame words", "alpha": "# Same\n\nsame words"})
    hits = kb.BM25Index(articles).search("same", 5)
    assert [a.id for _, a in hits] == ["alpha", "zeta"] and hits[0][0] == hits[1][0]
