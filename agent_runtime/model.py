"""The Strands `SageMakerAIModel` for the configured endpoint, with explicit timeouts and retries,
and its response stream read in one worker thread per model call.

Strands' provider reads the response stream with `await asyncio.to_thread(next, events, END)` per
event (strands/models/sagemaker.py, `stream`): an executor submit, a worker wake-up, a GIL hand-off
and a loop wake-up for every event — ≈ 0.17 ms of CPU each here (OpenTelemetry's threading
instrumentation, which Strands turns on, wraps every submit), so ≈ 50 ms for a 300-token answer.
`pump_event_streams()` gives the provider module an `asyncio` whose `to_thread(next, events, END)`,
for the provider's own event generator (`_parse_event_stream`), instead reads the whole stream in
one executor job (the same default executor, so a session still holds at most one thread) that
hands each event to the loop (`call_soon_threadsafe`); everything else goes to `asyncio.to_thread`.
The provider's code, and what it yields and raises, are unchanged (tests/agent_runtime/test_model.py
compares them with the original provider's on the same streams).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import weakref

from agent_runtime.settings import RuntimeSettings


def stream_usage() -> dict:
    """The body fields that ask for the usage chunk of a streamed completion.

    vLLM (and LMI's vLLM async mode, which runs vLLM's chat-completions code) sends that chunk only
    when asked; Strands' SageMakerAIModel does not ask, so without this the token counts, and the
    cost metrics built on them, read 0 on AWS. vLLM: `should_include_usage` in
    vllm/entrypoints/serve/utils/api_utils.py, https://github.com/vllm-project/vllm. LMI's older
    rolling-batch mode (`OPTION_ROLLING_BATCH=vllm`) streams chat chunks without any usage, asked or
    not: `_jsonlines_chat_output_formatter` in engines/python/setup/djl_python/output_formatter.py,
    https://github.com/deepjavalibrary/djl-serving
    """
    return {"stream_options": {"include_usage": True}}


def payload_config(settings: RuntimeSettings) -> dict:
    """SageMakerAIModel's payload_config: the model parameters, streaming, and the usage request
    (Strands merges `additional_args` into the request body)."""
    return {**settings.payload_parameters(), "stream": True, "additional_args": stream_usage()}


def build_model(settings: RuntimeSettings):
    from botocore.config import Config
    from strands.models.sagemaker import SageMakerAIModel

    endpoint = {"endpoint_name": settings.endpoint_name, "region_name": settings.region}
    if settings.target_variant:
        endpoint["target_variant"] = settings.target_variant
    if settings.inference_component:
        endpoint["inference_component_name"] = settings.inference_component
    from agent_runtime.attempts import count_attempts
    from agent_runtime.logging_setup import defer_provider_payload_formatting

    model = SageMakerAIModel(
        endpoint_config=endpoint,
        payload_config=payload_config(settings),
        boto_client_config=Config(
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            # Adaptive: client-side rate limiting on throttles, bounded attempts. `total_max_attempts`
            # counts the first call; botocore's `max_attempts` would add one more on top.
            retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
            tcp_keepalive=True,
            # One connection per session in flight. botocore's default pool holds 10
            # (https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html); past it
            # urllib3 opens a new connection for each call and discards it after ("Connection pool is full").
            max_pool_connections=max(10, settings.max_concurrent_sessions),
        ),
    )
    count_attempts(model.client)
    # The provider's adaptations, in one place: one thread hop per model call, not per stream event,
    # and no payload pretty-printing for log levels that are off.
    pump_event_streams()
    defer_provider_payload_formatting()
    return model


class _EventPump:
    """One model call's event stream, read by one executor job, consumed from the event loop."""

    def __init__(self, events, end) -> None:
        self._end = end
        self._queue: asyncio.Queue = asyncio.Queue()
        self._abandoned = False
        loop = asyncio.get_running_loop()
        read = functools.partial(contextvars.copy_context().run, self._read, events, loop)  # as to_thread does
        loop.run_in_executor(None, read)

    def _read(self, events, loop) -> None:
        def hand(item, error=None) -> None:
            loop.call_soon_threadsafe(self._queue.put_nowait, (item, error))

        try:
            for item in events:
                hand(item)
                if self._abandoned:  # the consumer was cancelled: stop reading, as next() would not be called
                    events.close()
                    return
            hand(self._end)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            events.close()
        except BaseException as error:
            try:
                hand(None, error)
            except RuntimeError:
                pass

    async def next(self):
        try:
            item, error = await self._queue.get()
        except asyncio.CancelledError:
            self._abandoned = True
            raise
        if error is not None:
            raise error
        return item


class _PumpingAsyncio:
    """`asyncio` for Strands' SageMaker provider module: `to_thread(next, events, end)` on its event
    generator goes through an `_EventPump`; every other attribute is asyncio's own."""

    def __init__(self, provider) -> None:
        self._stream_code = provider._parse_event_stream.__code__
        self._pumps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    async def to_thread(self, func, /, *args, **kwargs):
        if (
            func is next
            and len(args) == 2
            and not kwargs
            and inspect.isgenerator(args[0])
            and args[0].gi_code is self._stream_code
        ):
            events, end = args
            pump = self._pumps.get(events)
            if pump is None:
                pump = self._pumps[events] = _EventPump(events, end)
            return await pump.next()
        return await asyncio.to_thread(func, *args, **kwargs)


def pump_event_streams() -> None:
    """Install `_PumpingAsyncio` in Strands' SageMaker provider (idempotent; imports the provider)."""
    import strands.models.sagemaker as provider

    if not isinstance(provider.asyncio, _PumpingAsyncio):
        provider.asyncio = _PumpingAsyncio(provider)
