"""The real small LLM (SmolLM2-135M-Instruct on llama.cpp) behind the emulator, with boto3 and
Strands, plus the OpenAI-request handling it shares with LMI (flattening, Hermes tool calls)."""

from __future__ import annotations

import json

from strands import Agent

from agent_runtime.model import build_model
from agent_runtime.settings import RuntimeSettings
from local_runtime.model_servers.llama import ToolCallFilter, chat_messages, split_tool_calls
from tests.local_runtime.support import chat, stream_chunks

ENDPOINT = "governed-agents-dev-llm"
COMPONENT = "governed-agents-dev-llm-primary"  # dev hosts its model as an inference component


def _answer(runtime, **options) -> dict:
    body = json.dumps(
        {
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Name three colors."}]}],
            "temperature": 0,
            **options,
        }
    )
    return json.loads(
        runtime.invoke_endpoint(
            EndpointName=ENDPOINT, InferenceComponentName=COMPONENT, Body=body, ContentType="application/json"
        )["Body"].read()
    )


def test_the_real_model_answers_through_the_emulator(real_runtime):
    reply = _answer(real_runtime, max_tokens=24)
    text = reply["choices"][0]["message"]["content"]
    assert reply["model"] == "SmolLM2-135M-Instruct" and len(text.split()) >= 2
    assert 1 <= reply["usage"]["completion_tokens"] <= 24 and reply["usage"]["prompt_tokens"] > 5


def test_max_tokens_and_stop_are_honoured(real_runtime):
    short = _answer(real_runtime, max_tokens=3)
    assert short["usage"]["completion_tokens"] <= 3 and short["choices"][0]["finish_reason"] == "length"
    full = _answer(real_runtime, max_tokens=24)["choices"][0]["message"]["content"]
    word = full.split()[2].strip(".,:;!*")  # greedy decoding: the same prompt gives the same text
    stopped = _answer(real_runtime, max_tokens=24, stop=[word])["choices"][0]["message"]["content"]
    assert word not in stopped and full.startswith(stopped.rstrip())


def test_the_real_model_streams_lmis_json_lines_with_a_usage_chunk(real_runtime):
    response = real_runtime.invoke_endpoint_with_response_stream(
        EndpointName=ENDPOINT,
        InferenceComponentName=COMPONENT,
        Body=chat(
            "Count from one to five.", stream=True, max_tokens=20, temperature=0, stream_options={"include_usage": True}
        ),
    )
    assert response["ContentType"] == "application/jsonlines"
    parts = [event["PayloadPart"]["Bytes"] for event in response["Body"]]
    chunks = stream_chunks(b"".join(parts))
    assert len(parts) > 5  # token by token, not one buffered body
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text.strip() and chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] <= 20


def test_the_agents_strands_model_talks_to_the_real_model(real_runtime):
    model = build_model(
        RuntimeSettings(
            endpoint_name=ENDPOINT, inference_component=COMPONENT, region="us-east-1", max_tokens=256, temperature=0
        )
    )
    result = Agent(model=model, callback_handler=None, system_prompt="Answer in one short sentence.")(
        "What is the capital of France?"
    )
    assert str(result).strip()
    usage = result.metrics.accumulated_usage  # streamed: counted only because the agent asks for the usage chunk
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0


def test_content_parts_are_flattened_and_tools_offered_in_hermes_form():
    request = {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Oslo?"}]},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "rain"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "weather", "description": "d", "parameters": {"type": "object"}}}
        ],
    }
    messages = chat_messages(request)
    assert all(isinstance(m["content"], str) for m in messages)
    assert messages[0]["content"].startswith("Be kind.") and '"name": "weather"' in messages[0]["content"]
    assert messages[1] == {"role": "user", "content": "Weather in Oslo?"}
    assert '<tool_call>\n{"name": "weather", "arguments": {"city": "Oslo"}}\n</tool_call>' in messages[2]["content"]
    assert messages[3] == {"role": "user", "content": "<tool_response>\nrain\n</tool_response>"}


def test_hermes_tool_calls_are_parsed_and_never_streamed_as_text():
    text, calls = split_tool_calls('Sure. <tool_call>{"name": "weather", "arguments": {"city": "Oslo"}}</tool_call>')
    assert text == "Sure." and calls[0]["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'}
    stream_filter = ToolCallFilter()
    pieces = ["Let", " me", " check <", "tool", '_call>{"name": "weather", ', '"arguments": {}}</tool_call>']
    streamed = "".join(stream_filter.feed(piece) for piece in pieces)
    rest, calls = stream_filter.finish()
    assert streamed == "Let me check " and rest == "" and calls[0]["function"]["name"] == "weather"
    plain = ToolCallFilter()
    assert "".join(plain.feed(p) for p in ["a < b", " and c"]) + plain.finish()[0] == "a < b and c"
