"""Unmodified Strands SageMakerAIModel through the emulator: a tool call, streaming and not."""

from __future__ import annotations

import pytest
from strands import Agent, tool
from strands.models.sagemaker import SageMakerAIModel


def _agent(stream: bool, tools, scenario: str, endpoint: str = "governed-agents-dev-llm") -> Agent:
    model = SageMakerAIModel(
        endpoint_config={"endpoint_name": endpoint, "region_name": "us-east-1",
                         "additional_args": {"CustomAttributes": f"scenario={scenario}"}},
        payload_config={"max_tokens": 64, "stream": stream},
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
