"""Upstream faults map to documented statuses; session ids are checked; sessions live in their caller's
namespace; one request per session at a time; at most N turns per caller."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError, ReadTimeoutError
from botocore.stub import ANY

from agent_runtime.errors import ApiError, from_exception
from agent_runtime.sessions import new_session_id, session_exists, session_lock, validate_session_id
from agent_runtime.settings import RuntimeSettings
from local_runtime import aws_errors
from tests.helpers import stubbed_client


def client_error(code: str, status: int = 400, message: str = "x") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "InvokeEndpoint"
    )


@pytest.mark.parametrize(
    "error, status, retry_after",
    [
        (client_error("ThrottlingException", 429), 429, "5"),
        (client_error("ModelNotReadyException", 429), 503, "5"),
        (client_error("ServiceUnavailable", 503), 503, "5"),
        (client_error("ModelError", 424), 502, None),
        (client_error("ValidationError"), 502, None),
        # An endpoint of inference components scaled to zero (local_runtime/aws_errors.py: NO_CAPACITY).
        (client_error("ValidationError", message=aws_errors.NO_CAPACITY), 503, "60"),
        (
            EventStreamError(
                {"Error": {"Code": "ModelStreamError", "Message": "broken"}}, "InvokeEndpointWithResponseStream"
            ),
            502,
            None,
        ),
        (ReadTimeoutError(endpoint_url="http://x"), 504, None),
        (TimeoutError(), 504, None),
        (EndpointConnectionError(endpoint_url="http://x"), 503, "5"),
        (RuntimeError("bug"), 500, None),
    ],
)
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


@pytest.mark.parametrize("session_id", ["short", "has space in it", "../../etc/passwd", "x" * 200, 12345678, ""])
def test_bad_session_ids_are_rejected(session_id):
    with pytest.raises(ApiError) as error:
        validate_session_id(session_id)
    assert error.value.status == 400


def test_no_session_id_means_a_new_session_with_an_unguessable_issued_id():
    assert validate_session_id(None) is None
    issued = {new_session_id() for _ in range(1000)}
    assert len(issued) == 1000 and all(validate_session_id(i) == i and len(i) == 32 for i in issued)  # 128 bits


def test_model_error_from_an_overloaded_container_is_a_throttle_and_its_timeout_a_504():
    overloaded = ClientError(
        {"Error": {"Code": "ModelError", "Message": "x"}, "OriginalStatusCode": 429}, "InvokeEndpoint"
    )
    timed_out = ClientError(
        {
            "Error": {"Code": "ModelError", "Message": "x"},
            "OriginalStatusCode": 0,
            "OriginalMessage": "Your invocation timed out while waiting for a response",
        },
        "InvokeEndpoint",
    )
    assert from_exception(overloaded).status == 429
    assert from_exception(timed_out).status == 504


class TestS3SessionExists:
    """The existence check's answers, against botocore's Stubber (a test double of the S3 API: a 403 the
    local S3 server never gives). The lock protocol runs against the real local S3 server:
    tests/agent_runtime/test_session_store.py."""

    @pytest.fixture
    def s3(self):
        with stubbed_client("s3") as stubbed:
            yield stubbed

    @pytest.fixture
    def settings(self, monkeypatch):
        monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
        return RuntimeSettings(session_bucket="sessions-bucket", request_timeout_seconds=60)

    @pytest.mark.parametrize("head, exists", [(None, True), ("404", False), ("NoSuchKey", False)])
    def test_a_session_exists_when_its_caller_s_prefix_holds_it(self, s3, settings, head, exists):
        client, stubber = s3
        key = {"Bucket": "sessions-bucket", "Key": "sessions/caller-a/session_s3-session-1/session.json"}
        if head is None:
            stubber.add_response("head_object", {}, key)
        else:
            stubber.add_client_error("head_object", head, http_status_code=404, expected_params=key)
        assert session_exists(settings, "caller-a", "s3-session-1", client) is exists

    def test_a_failing_existence_check_is_not_taken_for_a_missing_session(self, s3, settings):
        from botocore.exceptions import ClientError

        client, stubber = s3
        stubber.add_client_error("head_object", "403", http_status_code=403)
        with pytest.raises(ClientError):
            session_exists(settings, "caller-a", "s3-session-1", client)


class TestOneS3ClientPerProcess:
    """Requests share one S3 client: building a boto3 Session and client per request cost ~190 ms of
    CPU each time. Stubber stands in for S3; a counting boto3.Session shows how many were made."""

    @pytest.fixture
    def sessions_made(self, monkeypatch):
        import boto3
        from botocore.stub import Stubber

        from agent_runtime import sessions

        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        made = []

        class CountingSession:
            def __init__(self, **kwargs) -> None:
                made.append(kwargs)

            def client(self, service_name, **kwargs):
                return client

        monkeypatch.setattr(boto3, "Session", CountingSession)
        sessions.s3_client.cache_clear()
        with Stubber(client) as stubber:
            yield client, stubber, made
            stubber.assert_no_pending_responses()
        sessions.s3_client.cache_clear()

    @pytest.fixture
    def settings(self, monkeypatch):
        monkeypatch.setenv("AGENT_ENDPOINT_NAME", "e")
        return RuntimeSettings(session_bucket="sessions-bucket")

    @staticmethod
    def new_session(stubber, session_id: str, prefix: str = "sessions/caller-a/") -> None:
        """What S3SessionManager asks S3 when it opens a session that does not exist yet."""
        key = {"Bucket": "sessions-bucket", "Key": f"{prefix}session_{session_id}/session.json"}
        stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404, expected_params=key)
        stubber.add_client_error("head_object", "404", http_status_code=404, expected_params=key)
        stubber.add_response("put_object", {}, {**key, "Body": ANY, "ContentType": "application/json"})

    def test_session_managers_and_locks_of_every_request_share_one_client(self, sessions_made, settings):
        from agent_runtime.sessions import session_manager

        client, stubber, made = sessions_made
        for number in range(3):
            session_id = f"shared-{number:04d}"
            self.new_session(stubber, session_id)
            assert session_manager(settings, "caller-a", session_id).client is client
            stubber.add_response("put_object", {"ETag": '"lock"'})
            stubber.add_response("delete_object", {})
            with session_lock(settings, "caller-a", session_id):
                pass
        assert made == [{"region_name": "us-east-1"}]  # one Session, in the configured region

    def test_strands_default_would_build_a_session_per_request(self, sessions_made, settings):
        # The rejecting direction: what session_manager did before (no boto_session) is counted.
        from strands.session.s3_session_manager import S3SessionManager

        _, stubber, made = sessions_made
        for number in range(2):
            self.new_session(stubber, f"default-{number:04d}", prefix="sessions/")
            S3SessionManager(
                session_id=f"default-{number:04d}",
                bucket="sessions-bucket",
                prefix="sessions/",
                region_name="us-east-1",
            )
        assert len(made) == 2

    def test_only_the_s3_client_is_handed_out(self):
        from agent_runtime.sessions import _SharedClient

        with pytest.raises(ValueError, match="only the S3 client"):
            _SharedClient(object()).client("dynamodb")


@pytest.mark.parametrize("sessions, pool", [(1, 10), (32, 32), (64, 64)])
def test_the_s3_client_s_connection_pool_covers_the_sessions_in_flight(sessions, pool):
    # botocore's default pool holds 10: with a worker's 32-64 sessions in flight, every S3 call past the
    # 10th opened a connection and dropped it after ("Connection pool is full"). As the model client's.
    from agent_runtime import sessions as module

    settings = RuntimeSettings(endpoint_name="e", session_bucket="b", max_concurrent_sessions=sessions)
    module.s3_client.cache_clear()
    try:
        assert module.settings_s3_client(settings).meta.config.max_pool_connections == pool
    finally:
        module.s3_client.cache_clear()
