"""Session locks, caller slots and session ownership on both stores: files (flock) and S3, the real
local S3 server (local_runtime.s3_server: moto's, conditional writes atomic, as S3's).

The S3 lock's races are run deterministically: `InterleavedClient` (a test double around the real
client of the local server) injects, before or after a chosen call, what a competing request does at
that moment on S3 (release the lock, take it over, answer 409).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from agent_runtime.errors import ApiError
from agent_runtime.sessions import (
    LOCK_ATTEMPTS,
    caller_slot,
    namespace,
    new_session_id,
    session_exists,
    session_lock,
    session_manager,
)
from agent_runtime.settings import RuntimeSettings
from tests.local_runtime.support import DUMMY_AWS, SESSION_BUCKET, s3_client


@pytest.fixture(scope="module")
def s3(local_s3):
    return s3_client(local_s3, max_pool_connections=16)


@pytest.fixture
def caller() -> str:
    return f"caller-{uuid.uuid4().hex[:12]}"  # one bucket for the whole run: every test its own namespace


class Store:
    """One store's settings and, for S3, the client of the local server (None: files)."""

    def __init__(self, settings: RuntimeSettings, client=None) -> None:
        self.settings, self.client = settings, client

    def lock(self, caller: str, session_id: str, client=None):
        return session_lock(self.settings, caller, session_id, client or self.client)

    def slot(self, caller: str, settings: RuntimeSettings | None = None):
        return caller_slot(settings or self.settings, caller, self.client)

    def exists(self, caller: str, session_id: str) -> bool:
        return session_exists(self.settings, caller, session_id, self.client)


@pytest.fixture
def s3_store(s3, local_s3, tmp_path, monkeypatch) -> Store:
    """S3 settings, with the process's own client (Strands' session manager uses it) on the local server."""
    from agent_runtime import sessions

    for name, value in {**DUMMY_AWS, "AWS_ENDPOINT_URL_S3": local_s3}.items():
        monkeypatch.setenv(name, value)
    sessions.s3_client.cache_clear()
    yield Store(RuntimeSettings(endpoint_name="e", session_bucket=SESSION_BUCKET, session_dir=tmp_path), s3)
    sessions.s3_client.cache_clear()


@pytest.fixture(params=["files", "s3"])
def store(request, tmp_path) -> Store:
    if request.param == "files":
        return Store(RuntimeSettings(endpoint_name="e", session_dir=tmp_path))
    return request.getfixturevalue("s3_store")


# -- both stores ----------------------------------------------------------------------------------


def test_a_busy_session_rejects_a_second_request(store, caller):
    with store.lock(caller, "session-0001"):
        with pytest.raises(ApiError) as error, store.lock(caller, "session-0001"):
            pass
        assert (error.value.status, error.value.code) == (409, "SessionBusy")
        with store.lock(caller, "session-0002"):  # other sessions are independent
            pass
        with store.lock(f"{caller}-b", "session-0001"):  # and so is another caller's namespace
            pass
    with store.lock(caller, "session-0001"):  # released
        pass


def test_a_caller_holds_at_most_its_turn_slots_and_other_callers_are_not_affected(store, caller):
    three = store.settings.model_copy(update={"max_turns_per_caller": 3})
    held = [store.slot(caller, three) for _ in range(3)]
    with pytest.raises(ApiError) as refused:
        store.slot(caller, three)
    assert (refused.value.status, refused.value.code, refused.value.headers()) == (
        429,
        "TooManyTurns",
        {"Retry-After": "2"},
    )
    with store.slot(f"{caller}-b", three):  # another caller still gets through
        pass
    held[1].release()
    held[1].release()  # once only
    with store.slot(caller, three):  # a freed slot is taken again
        pass
    for slot in held:
        slot.release()


def test_a_session_exists_only_in_its_caller_s_namespace(store, caller):
    session_id = new_session_id()
    assert not store.exists(caller, session_id)
    session_manager(store.settings, caller, session_id)  # Strands creates the session
    assert store.exists(caller, session_id)
    assert not store.exists(f"{caller}-b", session_id)


def test_where_each_store_keeps_locks_slots_and_sessions(store, caller, tmp_path):
    session_id = new_session_id()
    session_manager(store.settings, caller, session_id)
    with (
        store.lock(caller, session_id),
        store.slot(caller, store.settings.model_copy(update={"max_turns_per_caller": 1})),
    ):
        if store.client is None:
            names = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()}
            assert f"{caller}/{session_id}.lock" in names and f"{caller}/.turns/0.lock" in names
            assert f"{caller}/session_{session_id}/session.json" in names
        else:
            listed = store.client.list_objects_v2(Bucket=SESSION_BUCKET, Prefix=namespace(store.settings, caller))
            keys = {item["Key"] for item in listed["Contents"]}
            prefix = f"sessions/{caller}/"
            assert {f"{prefix}{session_id}/.lock", f"{prefix}.turns/0"} <= keys
            assert f"{prefix}session_{session_id}/session.json" in keys


# -- S3: takeover, release, races -----------------------------------------------------------------


def lock_key(store: Store, caller: str, session_id: str) -> str:
    return f"{namespace(store.settings, caller)}{session_id}/.lock"


def plant_lock(store: Store, key: str, acquired_at: float) -> str:
    """A lock another request holds (or abandoned): its ETag."""
    body = json.dumps({"acquired_at": acquired_at, "token": "someone-else"}).encode()
    return store.client.put_object(Bucket=SESSION_BUCKET, Key=key, Body=body)["ETag"]


def lock_body(store: Store, key: str) -> dict:
    return json.loads(store.client.get_object(Bucket=SESSION_BUCKET, Key=key)["Body"].read())


def test_a_fresh_lock_held_elsewhere_means_busy(s3_store, caller):
    plant_lock(s3_store, lock_key(s3_store, caller, "s3-lock-01"), time.time())
    with pytest.raises(ApiError) as error, s3_store.lock(caller, "s3-lock-01"):
        pass
    assert error.value.status == 409


def test_an_abandoned_lock_is_taken_over_and_then_held(s3_store, caller):
    key = lock_key(s3_store, caller, "s3-lock-02")
    plant_lock(s3_store, key, 0)  # 1970: far older than twice the request timeout
    with s3_store.lock(caller, "s3-lock-02"):
        assert lock_body(s3_store, key).get("token") != "someone-else"  # ours now
        with pytest.raises(ApiError), s3_store.lock(caller, "s3-lock-02"):
            pass
    with pytest.raises(ClientError):  # released
        lock_body(s3_store, key)


def test_abandoned_caller_slots_are_taken_over(s3_store, caller):
    two = s3_store.settings.model_copy(update={"max_turns_per_caller": 2})
    for number in range(2):
        plant_lock(s3_store, f"{namespace(two, caller)}.turns/{number}", 0)
    with s3_store.slot(caller, two), s3_store.slot(caller, two):
        with pytest.raises(ApiError) as refused:
            s3_store.slot(caller, two)
        assert refused.value.status == 429


def test_a_late_release_leaves_the_lock_of_whoever_took_it_over(s3_store, caller):
    key = lock_key(s3_store, caller, "s3-lock-03")
    overran = s3_store.lock(caller, "s3-lock-03")
    # The request overran twice the timeout; another one took its lock over (delete, then its own put).
    s3_store.client.delete_object(Bucket=SESSION_BUCKET, Key=key)
    plant_lock(s3_store, key, time.time())
    overran.release()  # before: an unconditional delete of the other request's lock
    assert lock_body(s3_store, key)["token"] == "someone-else"


class InterleavedClient:
    """Test double: the real client of the local S3 server, running `action(kwargs)` before or after
    the next call of an operation, whether it succeeds or not (each action once, in the order given):
    a competing request's step, at the moment real S3 could interleave it."""

    def __init__(self, client) -> None:
        self._client = client
        self._actions: dict[tuple[str, str], list[Callable[[dict], None]]] = {}
        self.calls: list[str] = []

    def before(self, operation: str, action: Callable[[dict], None]) -> InterleavedClient:
        self._actions.setdefault(("before", operation), []).append(action)
        return self

    def after(self, operation: str, action: Callable[[dict], None]) -> InterleavedClient:
        self._actions.setdefault(("after", operation), []).append(action)
        return self

    def _run(self, when: str, operation: str, kwargs: dict) -> None:
        actions = self._actions.get((when, operation))
        if actions:
            actions.pop(0)(kwargs)

    def __getattr__(self, operation: str):
        method = getattr(self._client, operation)

        def call(**kwargs):
            self.calls.append(operation)
            self._run("before", operation, kwargs)
            try:
                return method(**kwargs)
            finally:  # after a refused call too (e.g. a put answered 412)
                self._run("after", operation, kwargs)

        return call


def conflict(kwargs: dict) -> None:
    """What S3 answers a conditional write racing another write on the key (the local server, whose
    writes are serialized, never does)."""
    raise ClientError(
        {
            "Error": {"Code": "ConditionalRequestConflict", "Message": "A conflicting operation is in progress."},
            "ResponseMetadata": {"HTTPStatusCode": 409},
        },
        "PutObject",
    )


def test_a_lock_released_between_the_refused_put_and_the_read_is_taken_not_a_500(s3_store, caller):
    key = lock_key(s3_store, caller, "s3-race-01")
    plant_lock(s3_store, key, time.time())  # held, fresh
    # The holder releases right after our conditional put was refused: our read finds no lock.
    racing = InterleavedClient(s3_store.client).after(
        "put_object", lambda kwargs: s3_store.client.delete_object(Bucket=SESSION_BUCKET, Key=key)
    )
    with s3_store.lock(caller, "s3-race-01", racing):  # before: NoSuchKey from get_object, the turn's 500
        assert lock_body(s3_store, key).get("token") != "someone-else"
    assert racing.calls[:3] == ["put_object", "get_object", "put_object"]


def test_a_409_conditional_request_conflict_retries_the_put(s3_store, caller):
    racing = InterleavedClient(s3_store.client).before("put_object", conflict)
    with s3_store.lock(caller, "s3-race-02", racing):  # before: read as "held", then NoSuchKey: a 500
        pass
    assert racing.calls[:2] == ["put_object", "put_object"]


def test_a_key_that_stays_contended_answers_busy_after_bounded_attempts(s3_store, caller):
    racing = InterleavedClient(s3_store.client)
    for _ in range(LOCK_ATTEMPTS + 1):
        racing.before("put_object", conflict)
    with pytest.raises(ApiError) as busy, s3_store.lock(caller, "s3-race-03", racing):
        pass
    assert busy.value.status == 409 and racing.calls == ["put_object"] * LOCK_ATTEMPTS


def test_two_requests_taking_over_one_abandoned_lock_leave_it_to_one(s3_store, caller):
    """Both read the abandoned lock before either deletes it; A takes it over first, then B deletes.
    Before: B's unconditional delete removed A's new lock and B took the session too."""
    key = lock_key(s3_store, caller, "s3-race-04")
    plant_lock(s3_store, key, 0)
    a_read, b_read, a_done = threading.Event(), threading.Event(), threading.Event()
    a = InterleavedClient(s3_store.client).after("get_object", lambda kwargs: (a_read.set(), b_read.wait(30)))
    b = InterleavedClient(s3_store.client).after("get_object", lambda kwargs: (b_read.set(), a_done.wait(30)))
    outcomes: dict[str, object] = {}

    def request(name: str, client) -> None:
        try:
            outcomes[name] = s3_store.lock(caller, "s3-race-04", client)
        except ApiError as error:
            outcomes[name] = error.status

    first = threading.Thread(target=request, args=("a", a))
    second = threading.Thread(target=request, args=("b", b))
    first.start()
    second.start()
    first.join(60)
    a_done.set()
    second.join(60)
    assert outcomes["b"] == 409, outcomes  # B found A's lock
    assert lock_body(s3_store, key).get("token") != "someone-else"
    assert b.calls == ["put_object", "get_object", "delete_object", "put_object", "get_object"]
    outcomes["a"].release()


def test_other_s3_errors_are_not_mistaken_for_a_busy_session(s3_store, caller):
    def denied(kwargs: dict) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
            "PutObject",
        )

    with (
        pytest.raises(ClientError),
        s3_store.lock(caller, "s3-denied", InterleavedClient(s3_store.client).before("put_object", denied)),
    ):
        pass
