"""The Strands `SageMakerAIModel` for the configured endpoint, with explicit timeouts and retries."""

from __future__ import annotations

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
    return model
