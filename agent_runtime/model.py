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

A failure the model reports inside its stream ends the model call with `ModelStreamFailed`
(`raise_stream_failures()`). The container sends it after the first chunk, so the stream still ends
normally with HTTP 200 and no AWS error; Strands' provider reads only `choices` and `usage` from each
event and skips the report, so without this the truncated text would be returned as the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    # The provider's adaptations, in one place: a failure reported mid-stream fails the call, one
    # thread hop per model call, not per stream event, and no payload pretty-printing for log levels
    # that are off.
    raise_stream_failures(model.client)
    pump_event_streams()
    defer_provider_payload_formatting()
    return model


class ModelStreamFailed(Exception):
    """The model reported a failure inside its response stream (agent_runtime.errors: 502 ModelError).

    `kind` and `code` are the report's own (e.g. vLLM's `InternalServerError`, 500; LMI's 424); its
    message is kept out of the exception's text, which is logged: it is the server's `str()` of an
    exception and may quote the prompt or the generated text."""

    def __init__(self, kind: str, code: object, message: str) -> None:
        super().__init__(f"the model reported a failure mid-stream: {kind} (code {code})")
        self.kind, self.code, self.message = kind, code, message


def stream_failure(event: object) -> ModelStreamFailed | None:
    """The failure an event of a streamed completion reports, or None for an ordinary chunk.

    The forms a SageMaker endpoint can send once the stream has started (its HTTP status is 200 by then;
    djl-serving read at branch 0.36.0-lmi27-dlc, commit 7e13b081383bd46293d4b49ab214d4757b1effd5):
    - vLLM's error chunk, `{"error": {"message", "type", "param", "code"}}`: what LMI's vLLM async mode
      passes on as one more JSON line (its `vllm_stream_output_formatter` strips only `data: `), and what
      vLLM's own OpenAI server sends as an SSE `data:` line; the stream then ends as usual. vLLM:
      `chat_completion_stream_generator` in vllm/entrypoints/openai/chat_completion/serving.py
      (`create_streaming_error_response`), https://github.com/vllm-project/vllm. djl-serving:
      engines/python/setup/djl_python/lmi_vllm/request_response_utils.py, https://github.com/deepjavalibrary/djl-serving.
    - LMI's own error object, `{"code": 424, "error": "<message>"}`, written by its frontend as the last
      bytes of the stream (no newline) when the Python side reports an error with a code mid-stream: the
      rolling-batch engines (`stop_on_any_exception`, engines/python/setup/djl_python/rolling_batch/
      rolling_batch.py: code 424) or an output formatter that fails in async mode (`handle_streaming_response`,
      djl_python/async_utils.py); engines/python/src/main/java/ai/djl/python/engine/Request.java, `addResponse`.
    A chunk of a completion always has `choices`; an error report never does.
    """
    if not isinstance(event, dict) or not event.get("error") or event.get("choices"):
        return None
    error = event["error"]
    if isinstance(error, dict):  # vLLM's
        kind, code, message = error.get("type"), error.get("code"), error.get("message")
    else:  # LMI's frontend's, which names no kind
        kind, code, message = None, event.get("code"), error
    return ModelStreamFailed(str(kind or "error")[:64], code, str(message or ""))


# The bodies of this kit's model calls (botocore EventStreams), so only its model fails on a reported
# failure: another SageMakerAIModel in the process keeps the provider's behaviour.
_CHECKED_BODIES: weakref.WeakSet = weakref.WeakSet()


def raise_stream_failures(client) -> None:
    """Make the provider raise `ModelStreamFailed` when a stream `client` returns reports a failure.

    The provider parses each model call's stream with its module's `_parse_event_stream(body)`; this
    wraps that function (once per process) so that, for a body of `client`, an event that reports a
    failure raises instead of being skipped. The events before it are yielded as before: the tokens
    already streamed to a caller stay sent, and the turn fails."""
    import strands.models.sagemaker as provider

    client.meta.events.register(
        "after-call.sagemaker-runtime.InvokeEndpointWithResponseStream", _check_body, unique_id="agent-stream-failures"
    )
    if not hasattr(provider._parse_event_stream, "__wrapped__"):
        provider._parse_event_stream = _failing_on_reports(provider._parse_event_stream)


def _check_body(parsed=None, **_) -> None:
    if parsed and parsed.get("Body") is not None:
        _CHECKED_BODIES.add(parsed["Body"])


def _failing_on_reports(parse):
    @functools.wraps(parse)
    def parse_event_stream(body):
        events = parse(body)
        if body not in _CHECKED_BODIES:
            yield from events
            return
        with contextlib.closing(events):
            for event in events:
                if (failure := stream_failure(event)) is not None:
                    raise failure
                yield event

    return parse_event_stream


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
        self._provider = provider  # its `_parse_event_stream` is looked up per call: it may be wrapped later
        self._pumps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    async def to_thread(self, func, /, *args, **kwargs):
        if (
            func is next
            and len(args) == 2
            and not kwargs
            and inspect.isgenerator(args[0])
            and args[0].gi_code is self._provider._parse_event_stream.__code__
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
