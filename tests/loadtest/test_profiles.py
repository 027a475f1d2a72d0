"""Profiles are always bounded; flags cannot lift the hard caps; prompt sets are validated."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kit_config.project import PROJECT_DIR
from loadtest.profiles import MAX_CONCURRENCY, MAX_REQUESTS, PROFILES, LoadtestError, load_prompt_set, resolve_profile


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_is_bounded_by_time_and_requests(name):
    profile = PROFILES[name]
    assert 0 < profile.total_seconds <= 3600 and 0 < profile.max_requests <= MAX_REQUESTS
    assert all(1 <= stage.concurrency <= MAX_CONCURRENCY for stage in profile.stages)
    assert load_prompt_set(profile.prompt_set).conversations  # the shipped prompt set exists and validates


def test_smoke_is_short_and_ramp_climbs():
    assert PROFILES["smoke"].total_seconds <= 30 and PROFILES["smoke"].max_requests <= 20
    assert [s.concurrency for s in PROFILES["ramp"].stages] == sorted(s.concurrency for s in PROFILES["ramp"].stages)


def test_overrides_apply_within_the_caps():
    profile = resolve_profile("steady", concurrency=8, duration=20, requests=50, max_tokens=64)
    assert (profile.stages[0].concurrency, profile.stages[0].seconds, profile.max_requests, profile.max_tokens) == (
        8,
        20,
        50,
        64,
    )
    staged = resolve_profile("ramp", stages="1:10, 3:5")
    assert [(s.concurrency, s.seconds) for s in staged.stages] == [(1, 10), (3, 5)]


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        ({"concurrency": MAX_CONCURRENCY + 1}, "--concurrency"),
        ({"concurrency": 0}, "--concurrency"),
        ({"duration": 1e9}, "--duration"),
        ({"duration": 0}, "--duration"),
        ({"requests": MAX_REQUESTS + 1}, "--requests"),
        ({"requests": 0}, "--requests"),
        ({"max_tokens": 100_000}, "--max-tokens"),
        ({"stages": "64:1800,64:1800,64:1800"}, "--stages"),  # each stage allowed, the total is not
        ({"stages": "4"}, "--stages"),
    ],
)
def test_absurd_values_are_refused_naming_the_flag(overrides, flag):
    with pytest.raises(LoadtestError, match=flag):
        resolve_profile("steady", **overrides)


def test_a_multi_stage_profile_needs_the_whole_schedule():
    with pytest.raises(LoadtestError, match="--stages"):
        resolve_profile("ramp", concurrency=4)


def test_prompt_set_file_errors_name_the_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconversations:\n  - id: a\n    turns: []\n")
    with pytest.raises(LoadtestError, match=r"bad.yaml: conversations\[0\].turns"):
        load_prompt_set(str(bad))
    with pytest.raises(LoadtestError, match="no such prompt set"):
        load_prompt_set("no_such_set")
    twice = tmp_path / "twice.yaml"
    twice.write_text("name: x\nname: y\nconversations: []\n")
    with pytest.raises(LoadtestError, match=r"twice.yaml: not valid YAML: .*'name' is given twice \(lines 1 and 2\)"):
        load_prompt_set(str(twice))


def test_shipped_session_length_is_the_mean_of_turns():
    prompts = load_prompt_set("support_triage")
    assert prompts.mean_turns_per_session == sum(len(c.turns) for c in prompts.conversations) / len(
        prompts.conversations
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--concurrency", "5000"],
        ["--profile", "forever"],
        ["--requests", "-1"],
        ["--prompts", "missing.yaml"],
        ["--env", "nowhere"],
        ["--timeout", "99999"],
    ],
)
def test_cli_refuses_bad_input_with_exit_2_and_no_traceback(argv):
    result = subprocess.run(
        [sys.executable, "-m", "loadtest", *argv], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "Traceback" not in result.stderr
