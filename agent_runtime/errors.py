"""How failures become HTTP answers: a JSON body, a fitting status, never a stack trace."""

from __future__ import annotations

from dataclasses import dataclass

RETRY_AFTER_SECONDS = 5


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
