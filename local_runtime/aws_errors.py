"""AWS-shaped errors, so botocore raises exactly what it raises against the real service.

The runtime API is rest-json: botocore takes the code from the `x-amzn-ErrorType` header
(text before ':') and the message from the body's `message`; modeled members such as
ModelError's OriginalStatusCode come from the body. The control plane is awsJson1.1: the code
comes from the body's `__type`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from local_runtime.endpoints import LocalEndpoint

MAX_MESSAGE = 1024  # AWS truncates the container's message it quotes


@dataclass
class AwsError(Exception):
    status: int
    code: str
    message: str
    extra: dict = field(default_factory=dict)

    def rest_json(self) -> tuple[int, dict, dict]:
        headers = {"x-amzn-ErrorType": f"{self.code}:http://internal.amazon.com/coral/com.amazon.sagemaker/"}
        return self.status, headers, {**self.extra, "message": self.message}

    def aws_json(self) -> tuple[int, dict]:
        return self.status, {"__type": self.code, "message": self.message}


def validation(message: str) -> AwsError:
    return AwsError(400, "ValidationError", message)


def endpoint_not_found(name: str, account: str) -> AwsError:
    return validation(f"Endpoint {name} of account {account} not found.")


# Inference components (InvokeEndpoint's `X-Amzn-SageMaker-Inference-Component` header). SageMaker's
# own texts where they are published; each is a ValidationError (HTTP 400), the runtime's only client error.
# - At zero copies: the scale-to-zero launch post, "Unlock cost savings with the new scale down to zero
#   feature in SageMaker Inference" (AWS Machine Learning Blog, Dec 2024), which quotes the exception.
NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
# - No header on an endpoint of components: as reported against InvokeEndpoint and
#   InvokeEndpointWithResponseStream (github.com/langchain-ai/langchain/issues/14344,
#   github.com/aws-samples/amazon-kendra-langchain-extensions/issues/64).
COMPONENT_REQUIRED = (
    "Inference Component Name header is required for endpoints to which you plan to deploy inference "
    "components. Please include Inference Component Name header or consider using SageMaker models."
)
# - The header on an endpoint without components: the text LiteLLM's tests quote (BerriAI/litellm,
#   tests of its SageMaker provider); not in AWS's documentation.
COMPONENT_NOT_ALLOWED = (
    "Inference Component Name header is not allowed for endpoints to which you dont plan to deploy inference "
    "components. Please remove the Inference Component Name header and try again."
)
COMPONENT_NAME_PATTERN = r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"  # botocore sagemaker-runtime model
COMPONENT_NAME_MAX = 63


def component_not_found(name: str, endpoint: LocalEndpoint) -> AwsError:
    """A component the endpoint does not host. SageMaker's text for this is published nowhere we found
    (AWS docs, botocore, SDK and issue trackers searched): status and code are the runtime's ValidationError,
    the wording follows its unknown-endpoint message ("Endpoint X of account N not found.")."""
    return validation(f"Inference Component {name} of account {endpoint.account} not found.")


def constraint(value: str, member: str, rule: str) -> AwsError:
    """AWS's input-constraint message (the shape every AWS service answers a value outside its model with)."""
    return validation(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    )


def throttled() -> AwsError:
    return AwsError(400, "ThrottlingException", "Rate exceeded")


def service_unavailable(message: str) -> AwsError:
    return AwsError(503, "ServiceUnavailable", message)


def _log_group_url(endpoint: LocalEndpoint) -> str:
    return (
        f"https://{endpoint.region}.console.aws.amazon.com/cloudwatch/home?region={endpoint.region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{endpoint.name}"
    )


def model_error(endpoint: LocalEndpoint, status: int, body: bytes) -> AwsError:
    """The container answered non-2xx: SageMaker wraps it in ModelError (HTTP 424)."""
    original = body.decode("utf-8", "replace")[:MAX_MESSAGE]
    kind = "client" if 400 <= status < 500 else "server"
    message = (
        f'Received {kind} error ({status}) from primary with message "{original}". '
        f"See {_log_group_url(endpoint)} in account {endpoint.account} for more information."
    )
    return _model_error(
        endpoint,
        status,
        original,
        message,
        "CLIENT_ERROR_FROM_MODEL" if kind == "client" else "SERVER_ERROR_FROM_MODEL",
    )


def model_timeout(endpoint: LocalEndpoint) -> AwsError:
    original = (
        "Your invocation timed out while waiting for a response from container primary. Review the latency "
        "metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
    )
    message = f'Received server error (0) from primary with message "{original}". See {_log_group_url(endpoint)} in account {endpoint.account} for more information.'
    return _model_error(endpoint, 0, original, message, "INVOCATION_TIMEOUT")


def _model_error(endpoint: LocalEndpoint, status: int, original: str, message: str, error_code: str) -> AwsError:
    log_stream = f"arn:aws:logs:{endpoint.region}:{endpoint.account}:log-group:/aws/sagemaker/Endpoints/{endpoint.name}"
    extra = {
        "ErrorCode": error_code,
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": log_stream,
    }
    return AwsError(424, "ModelError", message, extra)
