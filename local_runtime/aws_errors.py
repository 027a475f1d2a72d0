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
