"""Unmodified Strands SageMakerAIModel through the emulator: a tool call, streaming and not, and
the streamed token usage that arrives only when the request asks for it (as from vLLM/LMI)."""

from __future__ import annotations

import pytest
from strands import Agent, tool
from strands.models.sagemaker import SageMakerAIModel

from agent_runtime.model import build_model
from agent_runtime.settings import RuntimeSettings

ASK_FOR_USAGE = {"stream_options": {"include_usage": True}}
# Dev hosts its model as an inference component: Strands names it (`inference_component_name`).
DEV = {"endpoint_name": "governed-agents-dev-llm", "inference_component_name": "governed-agents-dev-llm-primary"}


def _agent(stream: bool, tools, scenario: str) -> Agent:
    model = SageMakerAIModel(
        endpoint_config={
            **DEV,
            "region_name": "us-east-1",
            "additional_args": {"CustomAttributes": f"scenario={scenario}"},
        },
        payload_config={"max_tokens": 64, "stream": stream, **({"additional_args": ASK_FOR_USAGE} if stream else {})},
    )
    return Agent(model=model, tools=tools, callback_handler=None)


@pytest.mark.parametrize("stream", [True, False])
def test_agent_calls_a_tool_and_answers_with_its_result(runtime, stream):
    calls = []

    @tool
    def lookup_order(order_id: str, include_items: bool) -> str:
        """Look up an order."""
        calls.append((order_id, include_items))
        return f"order {order_id} shipped"

    result = _agent(stream, [lookup_order], "tool_call")("Where is my order?")
    assert calls == [("example", True)]  # scripted arguments from the tool's schema
    assert str(result).strip() == "The tool returned: order example shipped"
    assert result.stop_reason == "end_turn"
    usage = result.metrics.accumulated_usage
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0  # the final usage chunk reached Strands


def test_agent_streams_parts_split_mid_event(runtime):
    result = _agent(True, [], "echo;split=1")("split events please")
    assert str(result).strip() == "You said: split events please"


def test_model_error_reaches_the_agent_as_botocores_exception(runtime):
    agent = _agent(True, [], "server_error")
    with pytest.raises(Exception) as caught:
        agent("fail please")
    error = caught.value
    while error is not None and type(error).__name__ != "ModelError":
        error = error.__cause__ or error.__context__
    assert error is not None and error.response["OriginalStatusCode"] == 500


def test_streamed_usage_reads_zero_when_the_provider_does_not_ask(runtime):
    # Strands' provider alone sends no stream_options: vLLM/LMI then send no usage chunk, and the
    # local servers must not hide that by sending one anyway.
    model = SageMakerAIModel(
        endpoint_config={**DEV, "region_name": "us-east-1"},
        payload_config={"max_tokens": 64, "stream": True},
    )
    result = Agent(model=model, callback_handler=None)("count my tokens")
    assert str(result).strip() == "You said: count my tokens"
    assert (
        result.metrics.accumulated_usage["inputTokens"] == 0 and result.metrics.accumulated_usage["outputTokens"] == 0
    )


def test_the_agents_model_asks_for_usage_and_gets_the_token_counts(runtime, recording_model):
    recording_model.bodies.clear()
    model = build_model(RuntimeSettings(endpoint_name="recorded", region="us-east-1", max_tokens=64))
    result = Agent(model=model, callback_handler=None)("[scenario:echo] count my tokens")
    (body,) = recording_model.bodies  # what the model server received
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    usage = result.metrics.accumulated_usage
    assert str(result).strip() == "You said: count my tokens"
    assert usage["outputTokens"] == 5 and usage["inputTokens"] > 0  # the scripted model counts a token a word


def test_a_failure_mid_stream_reaches_strands_as_a_short_answer_not_an_error(runtime):
    # vLLM reports a failure after the first chunk as a line {"error": {...}} in a 200 stream (LMI
    # passes it on). Strands' provider reads only `choices`/`usage`, so the turn ends normally with
    # the text so far: a caller that must not mistake this for an answer has to look for the line
    # itself (the agent does, agent_runtime.model.stream_failure; so does the load test,
    # loadtest.targets.stream_failure).
    result = _agent(True, [], "stream_error;after_tokens=2")("a b c d e")
    assert str(result).strip() == "You said:"
    assert result.stop_reason == "end_turn"
