"""Logs on both hosts: every line the process writes is one JSON object, each request has one
structured line with its ids, and no prompt, answer or system prompt text appears at the default
levels. Real processes: the agent under uvicorn, and a stand-in Lambda host importing the handler,
both answering through the emulator with the scripted model (test double) and tracing to MLflow.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agent_runtime.logging_setup import level_from_env
from kit_config.project import PROJECT_DIR
from tests.agent_runtime.conftest import IDENTITY, AgentProcess, bearer, post, sse
from tests.agent_runtime.lambda_host import Context

MARK = "okapi4410"  # in every prompt: plain letters and digits survive any JSON escaping intact
PROMPT = f"{MARK} my badge reader beeps twice at the north door"
SUBJECT = "wombat2291"  # the caller's token subject: never in the logs, its pseudonym is
LAMBDA_PRINCIPAL = "arn:aws:sts::111111111111:assumed-role/portal/portal"  # the signer in events/function_url.json
SYSTEM_PROMPT = (Path(PROJECT_DIR) / "agent_runtime" / "prompts" / "support_triage.md").read_text()


def plain_runs(text: str, words: int = 5) -> list[str]:
    """Runs of `words` plain words from a text: needles that JSON escaping cannot disguise."""
    return re.findall(rf"[A-Za-z0-9]+(?: [A-Za-z0-9]+){{{words - 1}}}", text)


def json_lines(text: str) -> list[dict]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line[:300]}")
    return records


def request_lines(records: list[dict]) -> dict[str, dict]:
    return {r["request_id"]: r for r in records if r.get("message") == "request" and "request_id" in r}


def content_needles(answers: list[str]) -> list[str]:
    """The prompt's mark, the system prompt's opening words, and words from every answer."""
    needles = [MARK, plain_runs(SYSTEM_PROMPT)[0]]
    for answer in answers:
        runs = plain_runs(answer.replace(MARK, ""))
        assert runs, f"no plain words to look for in {answer!r}"
        needles += runs[:3]
    return needles


def uvicorn_run(agent_env: dict, log: Path, **env: str):
    """Three turns (answer, tool call, streamed) and a malformed model event; the whole output."""
    agent = AgentProcess({**agent_env, **env}, log).start()
    try:
        turns = [
            post(f"{agent.url}/invoke", {"prompt": PROMPT}, headers={"X-Request-Id": "req-logs-echo"}, caller=SUBJECT),
            post(
                f"{agent.url}/invoke",
                {"prompt": f"[scenario:tool_call] {PROMPT}"},
                headers={"X-Request-Id": "req-logs-tool"},
                caller=SUBJECT,
            ),
            post(
                f"{agent.url}/invoke",
                {"prompt": f"[scenario:malformed_event] {PROMPT}"},
                headers={"X-Request-Id": "req-logs-malformed"},
                caller=SUBJECT,
            ),
        ]
        request = urllib.request.Request(
            f"{agent.url}/invoke/stream",
            data=json.dumps({"prompt": PROMPT}).encode(),
            headers={"Content-Type": "application/json", "X-Request-Id": "req-logs-stream", **bearer(SUBJECT)},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            final = sse(response.read().decode())[-1][1]
    finally:
        agent.stop()
    for status, _, body in turns:
        assert status == 200, body
    return log.read_text(errors="replace"), [body for _, _, body in turns] + [final]


def lambda_run(agent_env: dict, tmp_path: Path, **env: str):
    out = tmp_path / "responses.json"
    bodies = [{"prompt": PROMPT}, {"prompt": f"[scenario:tool_call] {PROMPT}"}]
    host = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("lambda_host.py")), str(out), json.dumps(bodies)],
        cwd=PROJECT_DIR,
        env={
            **os.environ,
            **agent_env,
            "AWS_LAMBDA_FUNCTION_NAME": Context.function_name,
            "AGENT_AUTH_MODE": "iam",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=180,
        text=True,
    )
    assert host.returncode == 0, host.stdout[-3000:]
    responses = json.loads(out.read_text())
    for response in responses:
        assert response["status"] == 200, response
    return host.stdout, responses


@pytest.fixture(scope="module")
def uvicorn_default(agent_env, tmp_path_factory):
    return uvicorn_run(agent_env, tmp_path_factory.mktemp("logs") / "agent.log")


def test_uvicorn_writes_only_json_and_no_prompt_or_answer(uvicorn_default):
    output, bodies = uvicorn_default
    records = json_lines(output)
    # Two defences: the payload loggers held at WARNING (so no INFO payload lines at all) ...
    assert not [
        r
        for r in records
        if r.get("name", "").startswith(("strands.", "botocore.")) and r["level"] in ("DEBUG", "INFO")
    ]
    # ... and, whatever still gets through, no content (see also the malformed-event WARNING below).
    answers = [body["answer"] for body in bodies]
    assert answers[0] == f"You said: {PROMPT}" and answers[1].startswith("The tool returned: ")
    for needle in content_needles(answers):
        assert needle not in output, f"{needle!r} is in the logs"


def caller_id(principal: str) -> str:
    from agent_runtime.identity import Pseudonyms
    from agent_runtime.settings import RuntimeSettings

    return Pseudonyms(
        RuntimeSettings(endpoint_name="logs", caller_id_secret=IDENTITY.agent_settings()["AGENT_CALLER_ID_SECRET"])
    ).compute(principal)


def test_uvicorn_logs_the_pseudonymous_caller_and_never_the_subject_or_the_token(uvicorn_default):
    from agent_runtime.identity import jwt_principal

    output, bodies = uvicorn_default
    expected = caller_id(jwt_principal(IDENTITY.issuer, SUBJECT))
    lines = request_lines(json_lines(output))
    assert {lines[body["request_id"]]["caller_id"] for body in bodies} == {expected}
    token = bearer(SUBJECT)["Authorization"].split()[1]
    for secret in (SUBJECT, token, token.split(".")[2]):
        assert secret not in output


def test_uvicorn_logs_one_structured_line_per_request_with_its_ids(uvicorn_default):
    output, bodies = uvicorn_default
    lines = request_lines(json_lines(output))
    for body, path in zip(bodies, ["/invoke", "/invoke", "/invoke", "/invoke/stream"], strict=True):
        line = lines[body["request_id"]]
        assert (line["method"], line["path"], line["status"]) == ("POST", path, 200)
        assert line["session_id"] == body["session_id"]
        assert line["trace_id"] == body["trace_id"] and line["trace_id"]  # the MLflow trace (the id the server stores)
        assert line["duration_ms"] > 0 and line["level"] == "INFO" and line["service"] == "agent"
        assert line["timestamp"].endswith("+00:00")
    # the start-up health polls: passing checks are not worth a line each at INFO
    assert not [r for r in json_lines(output) if r.get("path") == "/health"]
    # uvicorn's own lines take the same shape (its colour-coded duplicate of the message dropped)
    started = [r for r in json_lines(output) if r.get("name") == "uvicorn.error"]
    assert started and all("color_message" not in r for r in started)


def test_a_library_warning_during_a_turn_carries_the_ids_but_not_the_model_output(uvicorn_default):
    output, bodies = uvicorn_default
    # Strands logs the raw malformed line (model output) at WARNING: kept as its template only.
    warning = next(r for r in json_lines(output) if r.get("name") == "strands.models.sagemaker")
    assert warning["level"] == "WARNING" and warning["redacted"] is True
    assert warning["message"] == "line=<%s> | skipping malformed event"
    assert (warning["request_id"], warning["session_id"]) == ("req-logs-malformed", bodies[2]["session_id"])
    assert warning["caller_id"] == lines_caller(output, "req-logs-malformed")
    assert "this is not json" not in output  # the scripted model's malformed line


def lines_caller(output: str, request_id: str) -> str:
    return request_lines(json_lines(output))[request_id]["caller_id"]


def test_debugging_the_kit_still_keeps_content_out(agent_env, tmp_path):
    output, bodies = uvicorn_run(agent_env, tmp_path / "debug.log", AGENT_LOG_LEVEL="DEBUG")
    records = json_lines(output)
    assert any(r.get("level") == "DEBUG" for r in records)  # DEBUG is really on
    assert any(r.get("path") == "/health" and r["level"] == "DEBUG" for r in records)
    for needle in content_needles([body["answer"] for body in bodies]):
        assert needle not in output, f"{needle!r} is in the DEBUG logs"


def test_lowering_the_payload_level_lets_the_prompt_through(agent_env, tmp_path):
    # The switch for debugging, and the proof that the checks above can fail.
    output, _ = uvicorn_run(agent_env, tmp_path / "payloads.log", AGENT_PAYLOAD_LOG_LEVEL="INFO")
    leaking = {r.get("name") for r in json_lines(output) if MARK in json.dumps(r)}
    assert "strands.models.sagemaker" in leaking


def test_lambda_writes_only_json_with_the_invocation_context_and_no_content(agent_env, tmp_path):
    output, responses = lambda_run(agent_env, tmp_path)
    records = json_lines(output)  # also: the runtime's text handler was replaced, not doubled
    for needle in content_needles([response["body"]["answer"] for response in responses]):
        assert needle not in output, f"{needle!r} is in the Lambda logs"
    lines = request_lines(records)
    for number, response in enumerate(responses, start=1):
        body, line = response["body"], lines[f"req-lambda-log-{number}"]
        assert body["request_id"] == f"req-lambda-log-{number}"
        assert (line["method"], line["path"], line["status"]) == ("POST", "/invoke", 200)
        assert line["session_id"] == body["session_id"] and line["trace_id"] == body["trace_id"]
        # AGENT_IAM_CALLER=role (the default): the caller is the signer's role, its session name dropped.
        assert line["caller_id"] == caller_id(f"iam:{LAMBDA_PRINCIPAL.rsplit('/', 1)[0]}")
        # Powertools' inject_lambda_context: the invocation's context on every line
        assert line["function_request_id"] == response["aws_request_id"]
        assert line["function_name"] == Context.function_name and line["cold_start"] is (number == 1)
    assert not [r for r in records if r.get("name") == "mangum.http"]  # its access line would be a second one
    assert "assumed-role/portal" not in output  # the principal itself is never logged


def test_lambda_payload_level_lets_the_prompt_through(agent_env, tmp_path):
    output, _ = lambda_run(agent_env, tmp_path, AGENT_PAYLOAD_LOG_LEVEL="INFO")
    assert any(MARK in json.dumps(r) and r.get("name") == "strands.models.sagemaker" for r in json_lines(output))


@pytest.mark.parametrize("name", ["AGENT_LOG_LEVEL", "AGENT_PAYLOAD_LOG_LEVEL"])
def test_a_misspelt_level_is_refused_by_name(monkeypatch, name):
    monkeypatch.setenv(name, "LOUD")
    with pytest.raises(ValueError, match=rf"{name}='LOUD' is not a log level; use one of DEBUG, INFO"):
        level_from_env(name, "INFO")
    monkeypatch.setenv(name, "debug")
    assert level_from_env(name, "INFO") == 10  # case does not matter


class TestProviderPayloadFormatting:
    """Strands' SageMaker provider pretty-prints payloads as log arguments; with its loggers off
    (the default) that work is skipped, with them on the line is the same as before."""

    @pytest.fixture
    def provider(self, monkeypatch):
        import strands.models.sagemaker as provider

        from agent_runtime.logging_setup import defer_provider_payload_formatting

        monkeypatch.setattr(provider, "json", provider.json)  # restored after the test
        defer_provider_payload_formatting()
        defer_provider_payload_formatting()  # idempotent
        return provider

    @staticmethod
    def counting(calls: list):
        def default(value):  # json's hook for values it cannot encode: counts encodings
            calls.append(value)
            return "<opaque>"

        return default

    def test_an_off_logger_never_encodes_the_payload(self, provider, caplog):
        calls: list = []
        caplog.set_level(logging.WARNING, logger="strands.models.sagemaker")
        provider.logger.info(
            "payload=<%s>", provider.json.dumps({"x": object()}, indent=2, default=self.counting(calls))
        )
        assert calls == []
        # The rejecting direction: the json module itself encodes eagerly, whatever the level.
        provider.logger.info("payload=<%s>", json.dumps({"x": object()}, indent=2, default=self.counting(calls)))
        assert len(calls) == 1

    def test_an_enabled_logger_writes_exactly_the_pretty_printed_payload(self, provider):
        payload = {"messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}], "max_tokens": 8}
        written: list[str] = []

        class Capture(logging.Handler):  # on the provider's own logger: sees the line before any redaction
            def emit(self, record: logging.LogRecord) -> None:
                written.append(record.getMessage())

        handler, level = Capture(), provider.logger.level
        provider.logger.setLevel(logging.INFO)
        provider.logger.addHandler(handler)
        try:
            provider.logger.info("payload=<%s>", provider.json.dumps(payload, indent=2))
        finally:
            provider.logger.removeHandler(handler)
            provider.logger.setLevel(level)
        assert written == [f"payload=<{json.dumps(payload, indent=2)}>"]

    def test_the_request_body_is_still_a_string(self, provider):
        body = {"messages": [], "stream": True}
        assert provider.json.dumps(body) == json.dumps(body)  # no indent: the real, eager dump
        assert provider.json.loads("[1]") == [1] and provider.json.JSONDecodeError is json.JSONDecodeError

    def test_the_provider_indents_json_only_in_log_arguments(self):
        # The deferral is safe only while every indented dump in the provider is a log argument:
        # a Strands upgrade that indents a request body would fail here, not at runtime.
        import strands.models.sagemaker as provider

        source = Path(provider.__file__).read_text()
        indented = [line.strip() for line in source.splitlines() if "json.dumps(" in line and "indent=" in line]
        assert indented, "the provider no longer pretty-prints anything: the deferral can go"
        assert [line for line in indented if not re.match(r"logger\.(debug|info|warning)\(", line)] == []
        # The check rejects an indented dump that is not a log argument.
        assert not re.match(r"logger\.(debug|info|warning)\(", '"Body": json.dumps(payload, indent=2),')
