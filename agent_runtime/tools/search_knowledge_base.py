"""search_knowledge_base tool: BM25 search over the support articles shipped with the kit.

Articles live in ``agent_runtime/knowledge_base/*.md``: the first non-blank line is the title
(a leading ``#`` is dropped), the rest is the body; the file stem is the article id. The index is
built once per process, on first use, and ranking is deterministic (ties break on article id).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from strands import tool

KB_DIR = Path(__file__).resolve().parent.parent / "knowledge_base"
MAX_RESULTS_LIMIT = 10
EXCERPT_CHARS = 240

_STOPWORDS = frozenset(
    "a an and are as at be been but by can do does for from has have how i if in into is it its me "
    "my no not of on or our so someone something that the their them then there these they this to "
    "was we were what when where which who why will with you your".split()
)


def _stem(word: str) -> str:
    """A deliberately tiny suffix stripper: enough to match 'passwords'/'password', 'locked'/'lock'."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", ""), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and not (suffix == "s" and word.endswith("ss")):
            stem = word[: len(word) - len(suffix)] + repl
            if len(stem) >= 3:
                word = stem
                if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                    word = word[:-1]  # resetting -> resett -> reset
                break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word  # expire/expired -> expir


def tokenize(text: str) -> list[str]:
    """Lower-case, split on non-alphanumerics, drop stop words, stem."""
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str


def load_articles(directory: Path = KB_DIR) -> list[Article]:
    """Read every ``*.md`` file of ``directory`` (sorted by name) into an Article."""
    articles = []
    for path in sorted(directory.glob("*.md")):
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        if not lines:
            continue
        title = lines[0].lstrip("#").strip()
        articles.append(Article(id=path.stem, title=title, body="\n".join(lines[1:]).strip()))
    return articles


class BM25Index:
    """Okapi BM25 over title+body; title tokens count ``title_boost`` times (a simple BM25F)."""

    def __init__(self, articles: list[Article], k1: float = 1.2, b: float = 0.75, title_boost: int = 3):
        self.articles, self.k1, self.b = articles, k1, b
        docs = [tokenize(a.title) * title_boost + tokenize(a.body) for a in articles]
        self.tfs = [Counter(d) for d in docs]
        self.lengths = [len(d) for d in docs]
        self.avg_len = sum(self.lengths) / len(docs) if docs else 0.0
        df = Counter(term for tf in self.tfs for term in tf)
        n = len(docs)
        # Lucene's non-negative idf: terms present in most documents still count a little.
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str, k: int) -> list[tuple[float, Article]]:
        terms = set(tokenize(query)) & self.idf.keys()
        scored = []
        for article, tf, length in zip(self.articles, self.tfs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self.avg_len)
            score = sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in terms if t in tf)
            if score > 0:
                scored.append((score, article))
        scored.sort(key=lambda sa: (-sa[0], sa[1].id))
        return scored[:k]


@functools.lru_cache(maxsize=1)
def _index() -> BM25Index:
    return BM25Index(load_articles())


def _excerpt(body: str, query: str) -> str:
    """The body paragraph or list item sharing most terms with the query (earliest on ties)."""
    terms = set(tokenize(query))
    chunks = [c.strip() for c in re.split(r"\n\s*\n|\n(?=- )", body) if c.strip()]
    chunks = [c for c in chunks if not c.lower().startswith("tags:")] or chunks or [""]
    best = max(chunks, key=lambda c: (len(terms & set(tokenize(c))), -chunks.index(c)))
    text = " ".join(best.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rsplit(" ", 1)[0] + "…"


@tool
def search_knowledge_base(query: str, max_results: int = 3) -> dict:
    """Search the internal IT support knowledge base and return the most relevant articles.

    Use this before answering any how-to or troubleshooting question (VPN, passwords and MFA,
    SSO errors, laptops, access requests, expenses, data classification, incident severity), and
    cite the article id in your answer. If nothing matches, say so instead of guessing.

    Args:
        query: Keywords or a short description of the user's problem,
            e.g. "locked out after new phone" or "vpn gateway not reachable".
        max_results: Maximum number of articles to return, between 1 and 10. Defaults to 3.

    Returns:
        {"query", "results": [{"id", "title", "score", "excerpt"}, ...]}, best match first;
        when nothing matches, "results" is empty and "message" explains why.
    """
    limit = max(1, min(int(max_results), MAX_RESULTS_LIMIT))
    if not tokenize(query or ""):
        return {"query": query, "results": [], "message": "Empty query: provide keywords describing the problem."}
    hits = _index().search(query, limit)
    results = [
        {"id": a.id, "title": a.title, "score": round(score, 4), "excerpt": _excerpt(a.body, query)}
        for score, a in hits
    ]
    out: dict = {"query": query, "results": results}
    if not results:
        out["message"] = (
            "No knowledge-base article matched this query. Try other keywords, or tell the user "
            "no article covers it and offer to open a ticket."
        )
    return out
