"""The model's event-stream pump (agent_runtime/model.py) against the real Strands SageMaker provider,
through the emulator to the scripted model (test double): the same events and the same faults as the
provider's own per-event thread hops, with one thread hop per model call instead of one per event."""

from __future__ import annotations

import asyncio

import pytest
import strands.models.sagemaker as provider

from agent_runtime.model import _PumpingAsyncio, build_model
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


def run(model, prompt: str, specs) -> tuple[list, str | None]:
    """(events yielded, 'ExceptionType: message' or None) of one provider stream."""

    async def consume():
        events = []
        try:
            async for event in model.stream([{"role": "user", "content": [{"text": prompt}]}], specs, "Be brief."):
                events.append(event)
        except Exception as error:
            return events, f"{type(error).__name__}: {error}"
        return events, None

    return asyncio.run(consume())


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
