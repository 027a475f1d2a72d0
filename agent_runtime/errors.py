"""How failures become HTTP answers: a JSON body, a fitting status, never a stack trace."""

from __future__ import annotations

from dataclasses import dataclass

RETRY_AFTER_SECONDS = 5

# An endpoint of inference components scaled to zero refuses requests with a ValidationError (HTTP 400)
# that begins with this text until a copy of the model is running again; the refusal itself (the
# NoCapacityInvocationFailures alarm and its step policy) starts that copy. Text: the scale-to-zero launch
# post, "Unlock cost savings with the new scale down to zero feature in SageMaker Inference" (AWS Machine
# Learning Blog, Dec 2024); local_runtime/aws_errors.py answers it word for word.
NO_CAPACITY_PREFIX = "Inference Component has no capacity to process this request"
# Retry-After of that answer: 60 s. AWS: "the provisioning process takes several minutes. During that time,
# any attempts to invoke the endpoint will produce an error" ("Scale an endpoint to zero instances",
# https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html); the launch
# post measured ≈ 1 min for the alarm to trigger the step policy, then ≈ 1.7 min for the instance and
# ≈ 2.3 min for the copy: ≈ 5 min for an 8B model (≈ 6 min for 70B). 60 s is the step policy's own clock
# (the alarm's period and the policy's cooldown): a caller that retries on it is answered within about a
# minute of the copy being up, and the five or so refusals before that are front-door 400s that use no GPU.
SCALE_FROM_ZERO_RETRY_AFTER_SECONDS = 60
SCALE_FROM_ZERO_MINUTES = "about 5"  # the launch post's figure for an 8B model (dev serves a 7B one)


@dataclass(frozen=True)
class ApiError(Exception):
    status: int
    code: str
    message: str
    retry_after: int | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()  # e.g. a 401's WWW-Authenticate

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}

    def headers(self) -> dict[str, str]:
        headers = dict(self.extra_headers)
        if self.retry_after:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def from_exception(error: BaseException) -> ApiError:
    """Map an upstream failure (botocore, Strands, timeouts) to the documented status."""
    if isinstance(error, ApiError):
        return error
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        EventStreamError,
        ReadTimeoutError,
    )
    from strands.types.exceptions import ConcurrencyException, ContextWindowOverflowException, ModelThrottledException

    from agent_runtime.model import ModelStreamFailed

    cause = error
    # Strands wraps provider errors; look through the chain for the botocore one (or the kit's own).
    while cause.__cause__ is not None and not isinstance(cause, (ClientError, EventStreamError, ModelStreamFailed)):
        cause = cause.__cause__
    if isinstance(cause, ModelStreamFailed):
        # The model failed after its stream had started (the endpoint answered HTTP 200): what it had
        # written is not an answer. The same status as a stream that breaks.
        return ApiError(502, "ModelError", "The model failed while answering.")
    if isinstance(error, TimeoutError) or isinstance(cause, (ReadTimeoutError, TimeoutError)):
        return ApiError(504, "UpstreamTimeout", "The model endpoint did not answer in time.")
    if isinstance(cause, (ConnectTimeoutError, EndpointConnectionError)):
        return ApiError(503, "EndpointUnavailable", "The model endpoint cannot be reached.", RETRY_AFTER_SECONDS)
    model = _model_error_details(cause)
    # botocore keeps ModelError's modelled members (OriginalStatusCode, OriginalMessage), not ErrorCode.
    if model.get("ErrorCode") == "ModelInvocationTimeExceeded" or "timed out" in str(model.get("OriginalMessage", "")):
        return ApiError(504, "UpstreamTimeout", "The model did not answer within the endpoint's invocation timeout.")
    if (
        isinstance(error, ModelThrottledException)
        or _code(cause) in {"ThrottlingException", "TooManyRequestsException"}
        or model.get("OriginalStatusCode") == 429
    ):  # the container itself is overloaded
        return ApiError(
            429, "Throttled", "The model endpoint is throttling requests; retry later.", RETRY_AFTER_SECONDS
        )
    if _code(cause) in {"ServiceUnavailable", "ModelNotReadyException", "InternalFailure", "InternalStreamFailure"}:
        return ApiError(
            503, "EndpointUnavailable", "The model endpoint is not available right now.", RETRY_AFTER_SECONDS
        )
    if isinstance(cause, EventStreamError) or _code(cause) in {"ModelStreamError", "ModelError"}:
        return ApiError(502, "ModelError", "The model failed while answering.")
    if _code(cause) == "ValidationError" and _message(cause).startswith(NO_CAPACITY_PREFIX):
        return ApiError(
            503,
            "EndpointScalingFromZero",
            "The model endpoint is scaling from zero: it had no copy of the model running (scaled to zero while "
            f"idle) and is starting one, which takes several minutes ({SCALE_FROM_ZERO_MINUTES} per AWS). "
            f"Retry after {SCALE_FROM_ZERO_RETRY_AFTER_SECONDS} seconds.",
            SCALE_FROM_ZERO_RETRY_AFTER_SECONDS,
        )
    if _code(cause) == "ValidationError":
        return ApiError(502, "UpstreamRejected", "The model endpoint rejected the request.")
    if isinstance(error, ConcurrencyException):
        return ApiError(409, "SessionBusy", "This session is already answering another request.")
    if isinstance(error, ContextWindowOverflowException):
        return ApiError(413, "ConversationTooLong", "The conversation no longer fits the model's context window.")
    return ApiError(500, "InternalError", "The agent failed unexpectedly.")


def _model_error_details(error: BaseException) -> dict:
    """ModelError carries the container's status (OriginalStatusCode) and an ErrorCode; a streamed
    ModelStreamError carries an ErrorCode (StreamBroken, ModelInvocationTimeExceeded)."""
    response = getattr(error, "response", None) or {}
    return response if (response.get("Error") or {}).get("Code") in {"ModelError", "ModelStreamError"} else {}


def _code(error: BaseException) -> str:
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Code", "")


def _message(error: BaseException) -> str:
    response = getattr(error, "response", None) or {}
    return (response.get("Error") or {}).get("Message") or ""
