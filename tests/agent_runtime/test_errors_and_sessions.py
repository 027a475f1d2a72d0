"""Upstream faults map to documented statuses; session ids are checked; one request per session at a time."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError, ReadTimeoutError

from agent_runtime.errors import ApiError, from_exception
from agent_runtime.sessions import session_lock, validate_session_id
from agent_runtime.settings import RuntimeSettings


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "InvokeEndpoint")


@pytest.mark.parametrize("error, status, retry_after", [
    (client_error("ThrottlingException", 429), 429, "5"),
    (client_error("ModelNotReadyException", 429), 503, "5"),
    (client_error("ServiceUnavailable", 503), 503, "5"),
    (client_error("ModelError", 424), 502, None),
    (client_error("ValidationError"), 502, None),
    (EventStreamError({"Error": {"Code": "ModelStreamError", "Message": "broken"}}, "InvokeEndpointWithResponseStream"), 502, None),
    (ReadTimeoutError(endpoint_url="http://x"), 504, None),
    (TimeoutError(), 504, None),
    (EndpointConnectionError(endpoint_url="http://x"), 503, "5"),
    (RuntimeError("bug"), 500, None),
])
def test_upstream_faults_map_to_documented_statuses(error, status, retry_after):
    mapped = from_exception(error)
    assert mapped.status == status
    assert mapped.headers().get("Retry-After") == retry_after
    assert set(mapped.body()["error"]) == {"code", "message"} and "Traceback" not in mapped.message


def test_wrapped_botocore_errors_are_found_through_the_cause_chain():
    try:
        try:
            raise client_error("ThrottlingException", 429)
        except ClientError as inner:
            raise RuntimeError("provider failed") from inner
    except RuntimeError as outer:
        assert from_exception(outer).status == 429


@pytest.mark.parametrize("session_id", ["short", "has space in it", "../../etc/passwd", "x" * 200, 12345678, None])
def test_bad_session_ids_are_rejected(session_id):
    with pytest.raises(ApiError) as error:
        validate_session_id(session_id)
    assert error.value.status == 400


def test_a_busy_session_rejects_a_second_request(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
    settings = RuntimeSettings(session_dir=tmp_path)
    with session_lock(settings, "session-0001"):
        with pytest.raises(ApiError) as error, session_lock(settings, "session-0001"):
            pass
        assert error.value.status == 409
        with session_lock(settings, "session-0002"):  # other sessions are independent
            pass
    with session_lock(settings, "session-0001"):  # released
        pass


def test_model_error_from_an_overloaded_container_is_a_throttle_and_its_timeout_a_504():
    overloaded = ClientError({"Error": {"Code": "ModelError", "Message": "x"}, "OriginalStatusCode": 429}, "InvokeEndpoint")
    timed_out = ClientError({"Error": {"Code": "ModelError", "Message": "x"}, "OriginalStatusCode": 0,
                             "OriginalMessage": "Your invocation timed out while waiting for a response"}, "InvokeEndpoint")
    assert from_exception(overloaded).status == 429
    assert from_exception(timed_out).status == 504


class TestS3SessionLock:
    """The S3 lock's protocol, against botocore's Stubber (a test double of the S3 API)."""

    @pytest.fixture
    def s3(self):
        import boto3
        from botocore.stub import Stubber

        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        with Stubber(client) as stubber:
            yield client, stubber
            stubber.assert_no_pending_responses()

    @pytest.fixture
    def settings(self, monkeypatch):
        monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
        return RuntimeSettings(session_bucket="sessions-bucket", request_timeout_seconds=60)

    KEY = {"Bucket": "sessions-bucket", "Key": "sessions/s3-lock-01/.lock"}

    def lock_held_since(self, stubber, acquired_at: float) -> None:
        """The conditional write fails, and reading the lock shows when it was taken."""
        import io
        import json

        from botocore.response import StreamingBody

        stubber.add_client_error("put_object", "PreconditionFailed", http_status_code=412)
        body = json.dumps({"acquired_at": acquired_at}).encode()
        stubber.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))}, self.KEY)

    def test_acquires_with_a_conditional_write_and_releases(self, s3, settings):
        from botocore.stub import ANY

        from agent_runtime.sessions import _s3_lock

        client, stubber = s3
        stubber.add_response("put_object", {}, {**self.KEY, "Body": ANY, "IfNoneMatch": "*"})
        stubber.add_response("delete_object", {}, self.KEY)
        with _s3_lock(settings, "s3-lock-01", client):
            pass

    def test_a_fresh_lock_held_elsewhere_means_busy(self, s3, settings):
        import time

        from agent_runtime.sessions import _s3_lock

        client, stubber = s3
        self.lock_held_since(stubber, time.time())
        with pytest.raises(ApiError) as error, _s3_lock(settings, "s3-lock-01", client):
            pass
        assert error.value.status == 409

    def test_an_abandoned_lock_is_taken_over(self, s3, settings):
        from botocore.stub import ANY

        from agent_runtime.sessions import _s3_lock

        client, stubber = s3
        self.lock_held_since(stubber, 0)  # 1970: far older than twice the request timeout
        stubber.add_response("delete_object", {}, self.KEY)
        stubber.add_response("put_object", {}, {**self.KEY, "Body": ANY, "IfNoneMatch": "*"})
        stubber.add_response("delete_object", {}, self.KEY)
        with _s3_lock(settings, "s3-lock-01", client):
            pass

    def test_other_s3_errors_are_not_mistaken_for_a_busy_session(self, s3, settings):
        from botocore.exceptions import ClientError

        from agent_runtime.sessions import _s3_lock

        client, stubber = s3
        stubber.add_client_error("put_object", "AccessDenied", http_status_code=403)
        with pytest.raises(ClientError), _s3_lock(settings, "s3-lock-01", client):
            pass
