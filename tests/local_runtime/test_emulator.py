"""boto3 against the emulator in front of the scripted model (a test double): routes, headers,
streaming, A/B routing, and every fault surfacing as botocore raises it against AWS."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError, EventStreamError

from tests.local_runtime.support import INVOCATION_TIMEOUT, chat, stream_chunks

DEV_ENDPOINT = "governed-agents-dev-llm"  # read from config/dev.yaml by the fixture
DEV_COMPONENT = "governed-agents-dev-llm-primary"  # dev hosts its model as an inference component
DEV = {"EndpointName": DEV_ENDPOINT, "InferenceComponentName": DEV_COMPONENT}


def _collect(response) -> tuple[list[bytes], list[float]]:
    parts, stamps = [], []
    for event in response["Body"]:
        assert set(event) == {"PayloadPart"}
        parts.append(event["PayloadPart"]["Bytes"])
        stamps.append(time.monotonic())
    return parts, stamps


def test_invoke_endpoint_returns_the_containers_body_and_headers(runtime):
    response = runtime.invoke_endpoint(
        **DEV,
        Body=chat("hello there"),
        ContentType="application/json",
        Accept="application/json",
        CustomAttributes="trace=abc",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "primary"
    assert response["CustomAttributes"] == "trace=abc"  # to the container and back
    body = json.loads(response["Body"].read())
    assert body["choices"][0]["message"]["content"] == "You said: hello there"
    assert body["usage"] == {
        "prompt_tokens": 2,
        "completion_tokens": 4,
        "total_tokens": 6,
        "prompt_tokens_details": None,
    }


@pytest.mark.parametrize("streaming", [False, True])
def test_request_headers_reach_the_container_as_sagemaker_sends_them(runtime, header_capture, streaming):
    invoke = runtime.invoke_endpoint_with_response_stream if streaming else runtime.invoke_endpoint
    response = invoke(
        EndpointName="capture",
        Body=b'{"x": 1}',
        ContentType="application/json",
        Accept="application/jsonlines",
        CustomAttributes="a=1;b=2",
        InferenceId="inf-1",
        SessionId="sess-1",
    )
    seen = header_capture.seen[-1]
    assert seen["path"] == "/invocations" and seen["body"] == b'{"x": 1}'
    headers = {name.lower(): value for name, value in seen["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/jsonlines"  # streaming: sent as X-Amzn-SageMaker-Accept
    assert headers["x-amzn-sagemaker-custom-attributes"] == "a=1;b=2"
    assert headers["x-amzn-sagemaker-inference-id"] == "inf-1" and headers["x-amzn-sagemaker-session-id"] == "sess-1"
    assert response["ContentType"] == "application/x-captured"  # streaming: from X-Amzn-SageMaker-Content-Type
    assert response["CustomAttributes"] == "from=container" and response["InvokedProductionVariant"] == "AllTraffic"
    if streaming:
        assert [event["PayloadPart"]["Bytes"] for event in response["Body"]] == [b"{}"]
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-sagemaker-content-type"] == "application/x-captured"
    else:
        assert response["Body"].read() == b"{}"


def test_streaming_yields_payload_parts_that_rebuild_the_containers_json_lines(runtime):
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV,
        Body=chat("one two three", stream=True, stream_options={"include_usage": True}),
        ContentType="application/json",
        Accept="text/event-stream",
    )
    # LMI sets its streamed Content-Type whatever the Accept; SageMaker returns it as X-Amzn-SageMaker-Content-Type.
    assert response["ContentType"] == "application/jsonlines"
    assert response["InvokedProductionVariant"] == "primary"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    parts, _ = _collect(response)
    chunks = stream_chunks(b"".join(parts))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == "You said: one two three"
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


def test_streaming_passes_tokens_through_as_they_come(runtime):
    started = time.monotonic()
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV,
        Body=chat("a b c d e", stream=True),
        CustomAttributes="scenario=slow_tokens;delay_ms=150",
    )
    _, stamps = _collect(response)
    total = stamps[-1] - started
    assert total >= 0.9  # 7 tokens, 6 gaps of 150 ms
    assert stamps[1] - started < total / 3, "the first token must not wait for the whole response"


def test_parts_follow_the_containers_chunks_even_mid_event(runtime):
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV, Body=chat("split me", stream=True), CustomAttributes="scenario=echo;split=1"
    )
    parts, _ = _collect(response)
    assert any(not part.endswith(b"\n") for part in parts), "expected parts cut mid-line"
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in stream_chunks(b"".join(parts)))
        == "You said: split me"
    )


def test_fixed_latency_and_multi_turn_scenarios(runtime):
    started = time.monotonic()
    runtime.invoke_endpoint(**DEV, Body=chat("x"), CustomAttributes="scenario=fixed_latency;latency_ms=300")
    assert time.monotonic() - started >= 0.3
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "again [scenario:multi_turn]"},
        ]
    }
    reply = json.loads(runtime.invoke_endpoint(**DEV, Body=json.dumps(body))["Body"].read())
    assert reply["choices"][0]["message"]["content"] == "Turn 2: again"


def test_variants_split_traffic_and_target_variant_pins_one(runtime):
    seen = Counter()
    for _ in range(40):
        response = runtime.invoke_endpoint(EndpointName="ab-test", Body=chat("ab"))
        text = json.loads(response["Body"].read())["choices"][0]["message"]["content"]
        variant = response["InvokedProductionVariant"]
        # primary runs the echo scenario, canary multi_turn: the reply proves which server answered
        assert text == {"primary": "You said: ab", "canary": "Turn 1: ab"}[variant]
        seen[variant] += 1
    assert seen["primary"] >= 5 and seen["canary"] >= 5, seen
    for _ in range(5):
        response = runtime.invoke_endpoint_with_response_stream(
            EndpointName="ab-test", Body=chat("x", stream=True), TargetVariant="canary"
        )
        assert response["InvokedProductionVariant"] == "canary"
        _collect(response)


def _client_error(call) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("streaming", [False, True])
def test_unknown_endpoint_is_a_validation_error(runtime, streaming):
    invoke = runtime.invoke_endpoint_with_response_stream if streaming else runtime.invoke_endpoint
    error = _client_error(lambda: invoke(EndpointName="nope", Body=chat("x")))
    assert isinstance(error, runtime.exceptions.ValidationError)
    assert error.response["Error"] == {
        "Code": "ValidationError",
        "Message": "Endpoint nope of account 111111111111 not found.",
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_variant_is_a_validation_error(runtime):
    error = _client_error(lambda: runtime.invoke_endpoint(**DEV, Body=chat("x"), TargetVariant="blue"))
    assert error.response["Error"]["Code"] == "ValidationError" and "blue" in error.response["Error"]["Message"]


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("scenario,status,kind", [("throttle", 429, "client"), ("server_error", 500, "server")])
def test_container_errors_become_model_error_with_the_original_status(runtime, streaming, scenario, status, kind):
    invoke = runtime.invoke_endpoint_with_response_stream if streaming else runtime.invoke_endpoint
    error = _client_error(
        lambda: invoke(**DEV, Body=chat("x", stream=streaming), CustomAttributes=f"scenario={scenario}")
    )
    assert isinstance(error, runtime.exceptions.ModelError)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error.response["OriginalStatusCode"] == status
    original = json.loads(error.response["OriginalMessage"])  # LMI's error body
    assert set(original) == {"code", "error"} and original["code"] == status and original["error"]
    assert (
        error.response["LogStreamArn"]
        == "arn:aws:logs:us-east-1:111111111111:log-group:/aws/sagemaker/Endpoints/governed-agents-dev-llm"
    )
    assert error.response["Error"]["Message"].startswith(f"Received {kind} error ({status}) from primary with message")


def test_stream_options_without_stream_reach_the_client_as_lmis_424_in_a_model_error(runtime):
    error = _client_error(
        lambda: runtime.invoke_endpoint(**DEV, Body=chat("x", stream_options={"include_usage": True}))
    )
    assert isinstance(error, runtime.exceptions.ModelError) and error.response["OriginalStatusCode"] == 424
    assert (
        "Stream options can only be defined when `stream=True`."
        in json.loads(error.response["OriginalMessage"])["error"]
    )
    assert error.response["Error"]["Message"].startswith("Received client error (424) from primary with message")


def test_a_container_that_does_not_answer_in_time_is_a_model_error(runtime):
    started = time.monotonic()
    error = _client_error(
        lambda: runtime.invoke_endpoint(**DEV, Body=chat("x"), CustomAttributes="scenario=timeout;sleep_s=5")
    )
    assert INVOCATION_TIMEOUT <= time.monotonic() - started < INVOCATION_TIMEOUT + 2
    assert error.response["Error"]["Code"] == "ModelError" and error.response["OriginalStatusCode"] == 0
    assert (
        "Your invocation timed out while waiting for a response from container primary"
        in error.response["Error"]["Message"]
    )


@pytest.mark.parametrize("scenario", ["stream_break", "malformed_chunk"])
def test_a_stream_that_breaks_mid_response_raises_model_stream_error(runtime, scenario):
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV,
        Body=chat("a b c d e f", stream=True),
        CustomAttributes=f"scenario={scenario};after_tokens=2",
    )
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["Body"]:
            received.append(event["PayloadPart"]["Bytes"])
    assert caught.value.response["Error"]["Code"] == "ModelStreamError"
    assert "reset or closed" in caught.value.response["Error"]["Message"]
    lines = b"".join(received).split(b"\n")
    assert [json.loads(line)["object"] for line in lines[:-1]] == [
        "chat.completion.chunk"
    ] * 3  # role + two tokens before the break
    assert lines[-1] == b""  # the break came between lines


def test_a_stream_that_stalls_past_the_timeout_raises_invocation_time_exceeded(runtime):
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV,
        Body=chat("a b c", stream=True),
        CustomAttributes="scenario=slow_tokens;delay_ms=2500",
    )
    with pytest.raises(EventStreamError) as caught:
        for _ in response["Body"]:
            pass
    assert caught.value.response["Error"]["Code"] == "ModelStreamError"
    assert "time exceeded" in caught.value.response["Error"]["Message"]


def test_a_broken_non_streaming_response_is_a_model_error(runtime):
    error = _client_error(
        lambda: runtime.invoke_endpoint(**DEV, Body=chat("x"), CustomAttributes="scenario=stream_break")
    )
    assert error.response["Error"]["Code"] == "ModelError"


def test_a_malformed_event_passes_through_as_bytes(runtime):
    response = runtime.invoke_endpoint_with_response_stream(
        **DEV, Body=chat("a b", stream=True), CustomAttributes="scenario=malformed_event"
    )
    parts, _ = _collect(response)
    assert b"\ndata: {this is not json\n{" in b"".join(parts)


def test_rate_above_the_endpoint_limit_is_a_throttling_exception(runtime):
    codes = []
    for _ in range(3):
        try:
            runtime.invoke_endpoint(EndpointName="throttled", Body=chat("x"))["Body"].read()
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert codes[0] == "ok" and "ThrottlingException" in codes[1:]


def test_a_variant_whose_model_server_is_down_is_service_unavailable(runtime):
    error = _client_error(lambda: runtime.invoke_endpoint(EndpointName="no-model", Body=chat("x")))
    assert isinstance(error, runtime.exceptions.ServiceUnavailable)
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_keep_alive_connection_is_reused_across_calls(runtime, emulator):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]), timeout=5)
    for _ in range(3):
        connection.request(
            "POST",
            f"/endpoints/{DEV_ENDPOINT}/invocations",
            body=chat("k"),
            headers={"Content-Type": "application/json", "X-Amzn-SageMaker-Inference-Component": DEV_COMPONENT},
        )
        response = connection.getresponse()
        assert response.status == 200 and not response.will_close
        response.read()
    first_socket = connection.sock
    connection.request("GET", "/ping")
    connection.getresponse().read()
    assert connection.sock is first_socket
    connection.close()


def test_a_chunked_request_body_is_read_whole(emulator):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]), timeout=5)
    body = chat("chunked body").encode()
    connection.request(
        "POST",
        f"/endpoints/{DEV_ENDPOINT}/invocations",
        body=iter([body[:10], body[10:]]),
        headers={"Content-Type": "application/json", "X-Amzn-SageMaker-Inference-Component": DEV_COMPONENT},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["choices"][0]["message"]["content"] == "You said: chunked body"
    connection.close()
