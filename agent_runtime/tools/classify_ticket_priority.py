"""classify_ticket_priority tool: deterministic, explainable P1-P4 triage rules.

The rules mirror the knowledge-base article "incident-severity-escalation". Each rule adds or
removes points from a baseline; the total maps to a priority, and every rule that fired is
returned as a reason so the agent (and the human reading the ticket) can see why.
"""

from __future__ import annotations

import re

from strands import tool

BASELINE = 2  # an ordinary single-user issue lands on P3
THRESHOLDS = ((9, "P1"), (6, "P2"), (2, "P3"))  # score >= n -> priority; below the last: P4
LABELS = {"P1": "Critical", "P2": "High", "P3": "Medium", "P4": "Low"}
RESPONSE_TARGETS = {
    "P1": "15 minutes, 24x7; page the on-call engineer",
    "P2": "1 hour during business hours",
    "P3": "1 business day",
    "P4": "3 business days",
}


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b")


# Impact and scope rules read the summary; environment rules read the service, then the summary.
SECURITY = _rx(
    r"security incident",
    r"breach(?:ed)?",
    r"compromised?",
    r"ransomware",
    r"malware",
    r"phishing",
    r"unauthori[sz]ed access",
    r"data leak(?:ed)?",
    r"leaked",
    r"stolen",
)
DATA_LOSS = _rx(
    r"data loss",
    r"lost (?:all |the |our |my )?data",
    r"data (?:was |has been )?(?:deleted|wiped)",
    r"corrupt(?:ed|ion)?",
)
OUTAGE = _rx(
    r"outages?",
    r"down",
    r"unavailable",
    r"offline",
    r"unreachable",
    r"crash(?:ed|es|ing)?",
    r"not (?:loading|responding|reachable)",
    r"(?:5\d\d|500) errors?",
)
DEGRADED = _rx(
    r"slow(?:s|ed|ing|ness)?",
    r"degraded",
    r"intermittent(?:ly)?",
    r"time ?outs?",
    r"timing out",
    r"errors?",
    r"fail(?:s|ed|ing|ure)?",
    r"broken",
    r"not working",
)
MINOR = _rx(
    r"typos?",
    r"cosmetic",
    r"questions?",
    r"how (?:do|can|to)",
    r"feature requests?",
    r"would be nice",
    r"documentation",
    r"misaligned",
    r"wording",
    r"spelling",
)
WORKAROUND = _rx(r"work ?arounds?", r"worked around", r"temporary fix")
NO_WORKAROUND = _rx(
    r"no (?:known |available )?work ?arounds?",
    r"without (?:a |any )?work ?arounds?",
    r"work ?arounds? (?:does not|doesn't|do not|don't) work",
)
ALL_USERS = _rx(
    r"all (?:users|customers|employees|staff)",
    r"everyone",
    r"everybody",
    r"company[- ]wide",
    r"(?:entire|whole) (?:company|organi[sz]ation|office)",
)
PRODUCTION = _rx(r"(?<!non-)(?<!non )prod(?:uction)?", r"prd", r"live site", r"customer[- ]facing")
# Broad on the service field; in free text only unambiguous environment names count.
NON_PRODUCTION_SERVICE = _rx(
    r"staging", r"stage", r"dev", r"development", r"test(?:ing)?", r"qa", r"uat", r"sandbox", r"non[- ]?prod(?:uction)?"
)
NON_PRODUCTION_TEXT = _rx(
    r"staging",
    r"sandbox",
    r"uat",
    r"non[- ]?prod(?:uction)?",
    r"(?:dev|test|qa) (?:environment|env|server|cluster|account)",
)
# "drop-down menu", "scroll down", "slowed down": keep the first word, drop the "down".
_NOT_OUTAGE = re.compile(r"\b(drop|scroll|slow|slowed|slowing)[\s-]*down\b")


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(0) if m else None


@tool
def classify_ticket_priority(summary: str, affected_users: int = 1, service: str = "") -> dict:
    """Classify a support ticket as P1 (Critical), P2 (High), P3 (Medium) or P4 (Low).

    Deterministic rules; the result lists every rule that fired. Start at 2 points, then:
    security incident words (breach, compromised, phishing, stolen, ...) +6 and always at least P1;
    data loss or corruption +4; outage words (outage, down, unavailable, crashed, ...) +3, else
    degradation words (slow, errors, failing, intermittent, ...) +1; 100+ affected users (or
    "all users"/"everyone" in the summary) +3, 20+ users +2, 5+ users +1; production or
    customer-facing service +2, non-production (staging/dev/test) -1; a workaround mentioned -2
    (not when it says there is no workaround); cosmetic issue, question or feature request -3.
    Score 9+ is P1, 6-8 P2, 2-5 P3, below 2 P4.

    Args:
        summary: The ticket's title and description in the user's words.
        affected_users: How many people are affected (use your best estimate; 1 if unknown).
        service: The affected system or environment, e.g. "payments-api prod", "staging",
            "internal wiki". Empty if unknown.

    Returns:
        {"priority", "label", "score", "response_target", "reasons": [...]}.
    """
    text = _NOT_OUTAGE.sub(r"\1", (summary or "").lower())
    svc = (service or "").lower()
    users = max(1, int(affected_users))
    score, reasons, floor_p1 = BASELINE, [], False

    def fire(points: int, reason: str) -> None:
        nonlocal score
        score += points
        reasons.append(f"{reason} ({points:+d})")

    if term := _first(SECURITY, text):
        fire(6, f"security incident indicator '{term}'")
        floor_p1 = True
    if term := _first(DATA_LOSS, text):
        fire(4, f"data loss indicator '{term}'")
    if term := _first(OUTAGE, text):
        fire(3, f"outage indicator '{term}'")
    elif term := _first(DEGRADED, text):
        fire(1, f"degradation indicator '{term}'")

    if (term := _first(ALL_USERS, text)) and users < 100:
        fire(3, f"summary says '{term}' is affected (treated as 100+ users)")
    elif users >= 100:
        fire(3, f"{users} affected users (100 or more)")
    elif users >= 20:
        fire(2, f"{users} affected users (20 or more)")
    elif users >= 5:
        fire(1, f"{users} affected users (5 or more)")

    if term := (_first(PRODUCTION, svc) or _first(PRODUCTION, text)):
        fire(2, f"production or customer-facing service ('{term}')")
    elif term := (_first(NON_PRODUCTION_SERVICE, svc) or _first(NON_PRODUCTION_TEXT, text)):
        fire(-1, f"non-production environment ('{term}')")

    if not _first(NO_WORKAROUND, text) and (term := _first(WORKAROUND, text)):
        fire(-2, f"workaround available ('{term}')")
    if term := _first(MINOR, text):
        fire(-3, f"cosmetic issue, question or feature request ('{term}')")

    priority = next((p for limit, p in THRESHOLDS if score >= limit), "P4")
    if floor_p1 and priority != "P1":
        priority = "P1"
        reasons.append("raised to P1: security incidents are always P1")
    if not reasons:
        reasons.append("no rule fired: ordinary single-user issue")
    return {
        "priority": priority,
        "label": LABELS[priority],
        "score": score,
        "response_target": RESPONSE_TARGETS[priority],
        "reasons": reasons,
    }
