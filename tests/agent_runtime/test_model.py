"""The kit's adaptations of the real Strands SageMaker provider (agent_runtime/model.py), through the
emulator to the scripted model (test double): the event-stream pump yields the same events and the same
faults as the provider's own per-event thread hops, with one thread hop per model call instead of one per
event; and a failure the model reports inside its stream, in each form an endpoint sends it, fails the
model call instead of ending it as a short answer."""

from __future__ import annotations

import asyncio

import pytest
import strands.models.sagemaker as provider

from agent_runtime.model import ModelStreamFailed, _PumpingAsyncio, build_model
from agent_runtime.settings import RuntimeSettings
from agent_runtime.tools import load_tools, tool_specs

SCENARIOS = [
    "plain answer",
    "[scenario:slow_tokens] delay_ms=1 many small tokens arrive one by one in parts",
    "[scenario:tool_call] look it up",
    "[scenario:malformed_event] skip the bad line",
    "[scenario:stream_error] then an error line",
    "[scenario:stream_break] cut after three tokens",
    "[scenario:server_error] fails",
]


@pytest.fixture
def model(agent_env, monkeypatch):
    for name, value in agent_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(provider, "asyncio", provider.asyncio)  # restored after the test
    return build_model(RuntimeSettings())


def stream(model, prompt: str, specs) -> tuple[list, Exception | None]:
    """(events yielded, the exception raised or None) of one provider stream."""

    async def consume():
        events = []
        try:
            async for event in model.stream([{"role": "user", "content": [{"text": prompt}]}], specs, "Be brief."):
                events.append(event)
        except Exception as error:
            return events, error
        return events, None

    return asyncio.run(consume())


def run(model, prompt: str, specs) -> tuple[list, str | None]:
    """(events yielded, 'ExceptionType: message' or None) of one provider stream."""
    events, error = stream(model, prompt, specs)
    return events, None if error is None else f"{type(error).__name__}: {error}"


def streamed_text(events: list) -> str:
    return "".join(
        event["contentBlockDelta"]["delta"].get("text", "") for event in events if "contentBlockDelta" in event
    )


@pytest.mark.parametrize("prompt", SCENARIOS)
def test_the_pump_yields_and_raises_what_the_provider_does(model, prompt):
    specs = tool_specs(load_tools(["classify_ticket_priority"]))
    assert isinstance(provider.asyncio, _PumpingAsyncio)  # build_model installed it
    pumped = run(model, prompt, specs)
    provider.asyncio = asyncio  # the provider as shipped: one thread hop per event
    original = run(model, prompt, specs)
    assert pumped == original
    assert pumped[0] or pumped[1]  # each scenario produced something to compare


def test_one_thread_hop_per_model_call(model, monkeypatch):
    hops = []
    to_thread = asyncio.to_thread

    async def counting(func, /, *args, **kwargs):
        hops.append(getattr(func, "__name__", repr(func)))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    events, error = run(model, "[scenario:slow_tokens] delay_ms=1 one two three four five six seven", None)
    assert error is None and sum("contentBlockDelta" in event for event in events) >= 7
    assert hops == ["invoke_endpoint_with_response_stream"]  # the stream itself: one executor job, no hop per event


# (scenario parameters, the report's kind, code and message) for each form a failure reported after the
# stream started takes (agent_runtime.model.stream_failure; the scripted model's `stream_error`).
FAILURE_REPORTS = [
    ("stream_error", "InternalServerError", 500, "Internal server error"),  # LMI's vLLM async mode: a JSON line
    ("stream_error;split=1", "InternalServerError", 500, "Internal server error"),  # ...cut across two parts
    ("stream_error;framing=sse", "InternalServerError", 500, "Internal server error"),  # vLLM's own server: SSE
    # LMI's frontend: its error object as the stream's last bytes, no newline (rolling batch, a failing formatter)
    ("stream_error;error=lmi", "error", 424, "exception occurred during rolling batch inference"),
    ("stream_error;error=lmi;split=1", "error", 424, "exception occurred during rolling batch inference"),
]


@pytest.mark.parametrize(
    "event",
    [
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "x"}}]},
        {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 1}},  # vLLM's usage
        {"error": None, "choices": [{"index": 0, "delta": {}}]},
        "[DONE]",
        None,
    ],
)
def test_ordinary_chunks_report_no_failure(event):
    from agent_runtime.model import stream_failure

    assert stream_failure(event) is None


@pytest.mark.parametrize("scenario, kind, code, message", FAILURE_REPORTS, ids=[r[0] for r in FAILURE_REPORTS])
def test_a_failure_reported_mid_stream_fails_the_model_call(model, scenario, kind, code, message):
    events, error = stream(model, f"[scenario:{scenario}] a b c d e", None)
    assert isinstance(error, ModelStreamFailed), error
    assert (error.kind, error.code, error.message) == (kind, code, message)
    assert message not in str(error)  # the text is logged; the server's message may quote the prompt
    assert streamed_text(events) == "You said: a"  # the tokens before the report (after_tokens=3) were streamed


def test_another_sagemaker_model_in_the_process_keeps_the_providers_behaviour(model):
    # The check is the kit model's: Strands' provider, used on its own, still ends such a stream as a
    # short answer (tests/local_runtime/test_strands.py shows it).
    from strands.models.sagemaker import SageMakerAIModel

    plain = SageMakerAIModel(
        endpoint_config={
            "endpoint_name": model.endpoint_config["endpoint_name"],
            "inference_component_name": model.endpoint_config["inference_component_name"],  # dev's
            "region_name": "us-east-1",
        },
        payload_config={"max_tokens": 64, "stream": True},
    )
    events, error = stream(plain, "[scenario:stream_error] a b c d e", None)
    assert error is None and streamed_text(events) == "You said: a"
    assert isinstance(stream(model, "[scenario:stream_error] a b c d e", None)[1], ModelStreamFailed)
