"""Conversation state per (caller, session id), a lock so two requests never interleave on one
session, and per-caller turn slots.

Ownership. Everything a caller stores lives under its caller id (agent_runtime.identity): the S3
prefix `<session_prefix><caller_id>/` or the folder `<session_dir>/<caller_id>/`. Session ids are
issued by the server (`new_session_id`: 128 random bits); a request naming a session that this
caller's namespace does not hold answers 404 SessionNotFound, the same bytes whether the session
is someone else's or nobody's, and it is checked before Strands' session manager runs (which would
create it). Sessions stored before ownership (directly under the prefix) are not reachable.

Storage is Strands' own session managers: S3 (objects encrypted by the bucket's KMS key) when
`AGENT_SESSION_BUCKET` is set, a local directory otherwise. Locks must hold across processes
(Lambda runs concurrent requests in separate environments), so they live next to the state: an S3
object created with a conditional write (`If-None-Match: *`), or an `flock` on a local file. A lock
older than twice the request timeout is considered abandoned (a crashed request) and taken over.
A busy session answers 409. The same primitive bounds a caller's turns in flight across every
worker: `max_turns_per_caller` slot objects per caller; when all are held, 429 TooManyTurns.

One S3 client per process serves the locks and the session manager of every request. Building a
client costs ~8 ms of CPU, and the `boto3.Session` that Strands' S3SessionManager creates for
itself when given none ~180 ms more (measured here; a new session also resolves credentials again),
which was paid on every request. A client may be shared by threads, a session may not ("Multithreading
or multiprocessing with clients", https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html).
Its connection pool holds one connection per session in flight, as the model client's does
(agent_runtime.model): botocore's default of 10 is fewer than the 32-64 sessions a Fargate worker
serves, and past it urllib3 opens and discards a connection per call.

Off the event loop. Every read and write here blocks; a turn makes them all through
`agent_runtime.storage_calls`, whatever the store: the caller slot (api.py), the lock with the
agent's construction (which loads the session), the turn's writes (`TurnWrites.commit`) and the
releases (agent_runtime.service). Strands' own hooks call the manager on the loop
(strands/session/session_manager.py `register_hooks`), but during a turn its repository is
`TurnWrites`, which only queues the writes in memory (agent_runtime/turn_writes.py).

The S3 lock protocol (`_s3_lock`), each step against S3's documented behaviour:
- take: PutObject with `If-None-Match: *`; the body carries a random token, so each lock's ETag is
  its own. 412 PreconditionFailed: held. 409 ConditionalRequestConflict: a concurrent write to the
  key was in progress, and S3's answer is to retry the put
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, `If-None-Match`).
- held: read it. NoSuchKey there means the holder released it between our put and our read: try
  the put again (this read used to raise, and the turn answered 500).
- abandoned (older than twice the request timeout): DeleteObject with `If-Match: <the ETag read>`,
  then the conditional put again. Of two requests taking over one abandoned lock, only one delete
  matches; the other gets 412 (or 404 once it is gone), and its put then finds the winner's lock
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html). An unconditional
  delete let the second request delete the first one's new lock, and both held the session.
- release: DeleteObject with `If-Match: <our ETag>`: a lock taken over from a request that overran
  is not deleted by that request's late release.
Attempts are bounded (`LOCK_ATTEMPTS`); contention beyond them answers busy (409/429), never 500.
Conditional deletes with an ETag need s3:GetObject as well as s3:DeleteObject on the key (same
page); the agent's role has both on the session prefix (kit_constructs/agent_service.py).
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import random
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from botocore.exceptions import ClientError

from agent_runtime.errors import ApiError
from agent_runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$")
STRANDS_SESSION_PREFIX = "session_"  # how Strands' file and S3 managers name a session's folder
TURN_SLOTS = ".turns"  # a caller's in-flight slots, next to its sessions
# A turn takes seconds: by then one of the caller's turns has likely answered.
TOO_MANY_TURNS_RETRY_AFTER = 2
# Rounds of the S3 lock protocol (put, read, conditional delete) before a contended lock counts as busy.
LOCK_ATTEMPTS = 4
_CONFLICT_BACKOFF_SECONDS = 0.02  # times the attempt, jittered: S3's 409 asks for a retry of the put


def validate_session_id(session_id: object) -> str | None:
    """None: start a new session. Otherwise the id must look like one this server issues."""
    if session_id is None:
        return None
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise ApiError(400, "InvalidSessionId", "session_id must be 8-128 letters, digits, '-' or '_'.")
    return session_id


def new_session_id() -> str:
    """Unguessable: a session is reachable only by its owner, but the id should not be enumerable either."""
    return secrets.token_hex(16)


def session_not_found() -> ApiError:
    # One body for "someone else's" and "no such session": no existence oracle.
    return ApiError(404, "SessionNotFound", "No such session for this caller; omit session_id to start a new one.")


def namespace(settings: RuntimeSettings, caller_id: str) -> str:
    """The caller's S3 prefix (`sessions/<caller_id>/`)."""
    prefix = settings.session_prefix.strip("/")
    return f"{prefix}/{caller_id}/" if prefix else f"{caller_id}/"


def caller_dir(settings: RuntimeSettings, caller_id: str) -> Path:
    return settings.session_dir / caller_id


def s3_pool_size(settings: RuntimeSettings) -> int:
    """Connections the S3 client keeps: one per session in flight (botocore's default is 10,
    https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html)."""
    return max(10, settings.max_concurrent_sessions)


def settings_s3_client(settings: RuntimeSettings):
    return s3_client(settings.region, s3_pool_size(settings))


@functools.cache
def s3_client(region: str, max_pool_connections: int = 10):
    """The process's S3 client (built on first use), configured as S3SessionManager builds its own,
    with a connection pool for every session in flight. Its endpoint is AWS's, or `AWS_ENDPOINT_URL_S3`
    (boto3 reads it: local mode and the tests point it at the local S3 server, local_runtime.s3_server)."""
    import boto3
    from botocore.config import Config

    config = Config(user_agent_extra="strands-agents", max_pool_connections=max_pool_connections)
    return boto3.Session(region_name=region).client("s3", config=config)


class _SharedClient:
    """Passed as S3SessionManager's `boto_session`: hands it the process's client instead of a new one."""

    def __init__(self, client) -> None:
        self._client = client

    def client(self, service_name: str, **_) -> object:
        if service_name != "s3":
            raise ValueError(f"only the S3 client is shared, not {service_name!r}")
        return self._client


def session_manager(settings: RuntimeSettings, caller_id: str, session_id: str):
    """Strands' session manager for the store. Blocking: it reads the session (and creates it when
    new) as it is built; call it off the event loop (agent_runtime.storage_calls)."""
    if settings.session_bucket:
        from strands.session.s3_session_manager import S3SessionManager

        return S3SessionManager(
            session_id=session_id,
            bucket=settings.session_bucket,
            prefix=namespace(settings, caller_id),
            boto_session=_SharedClient(settings_s3_client(settings)),
        )
    from strands.session.file_session_manager import FileSessionManager

    storage = caller_dir(settings, caller_id)
    storage.mkdir(parents=True, exist_ok=True)
    return FileSessionManager(session_id=session_id, storage_dir=str(storage))


def session_exists(settings: RuntimeSettings, caller_id: str, session_id: str, client=None) -> bool:
    """Whether this caller's namespace holds the session (Strands' `session.json` is written first)."""
    if not settings.session_bucket:
        return (caller_dir(settings, caller_id) / f"{STRANDS_SESSION_PREFIX}{session_id}" / "session.json").is_file()
    client = client or settings_s3_client(settings)
    key = f"{namespace(settings, caller_id)}{STRANDS_SESSION_PREFIX}{session_id}/session.json"
    try:
        client.head_object(Bucket=settings.session_bucket, Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise


class Held:
    """A lock or slot taken; `release()` (or leaving the `with`) gives it back, once. A class rather
    than @contextmanager: that one sets `__traceback__` on an exception passing through it, which a
    frozen ApiError refuses."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    @property
    def released(self) -> bool:
        return self._release is None

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def session_lock(settings: RuntimeSettings, caller_id: str, session_id: str, client=None) -> Held:
    """The session's lock, or 409 SessionBusy."""
    if settings.session_bucket:
        held = _s3_lock(settings, f"{namespace(settings, caller_id)}{session_id}/.lock", client)
    else:
        held = _file_lock(caller_dir(settings, caller_id) / f"{session_id}.lock")
    if held is None:
        raise ApiError(
            409, "SessionBusy", "This session is already answering another request; retry when it is done.", 1
        )
    return held


def caller_slot(settings: RuntimeSettings, caller_id: str, client=None) -> Held:
    """One of the caller's `max_turns_per_caller` turn slots, or 429 TooManyTurns. Slots are tried
    from a random one on, so concurrent requests rarely contend for the same object."""
    slots = settings.max_turns_per_caller
    first = random.randrange(slots)
    for offset in range(slots):
        number = (first + offset) % slots
        if settings.session_bucket:
            held = _s3_lock(settings, f"{namespace(settings, caller_id)}{TURN_SLOTS}/{number}", client)
        else:
            held = _file_lock(caller_dir(settings, caller_id) / TURN_SLOTS / f"{number}.lock")
        if held is not None:
            return held
    raise ApiError(
        429,
        "TooManyTurns",
        f"This caller already has {slots} turns in flight; retry when one has answered.",
        TOO_MANY_TURNS_RETRY_AFTER,
    )


def _file_lock(path: Path) -> Held | None:
    """An flock on `path`, or None when another process (or request) holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return Held(lambda: os.close(descriptor))  # closing releases the flock


def _s3_lock(settings: RuntimeSettings, key: str, client=None) -> Held | None:
    """An object created with `If-None-Match: *`, or None when a live one exists (or the key stays
    contended for `LOCK_ATTEMPTS` rounds). The protocol and its sources: the module docstring."""
    client = client or settings_s3_client(settings)
    bucket = settings.session_bucket
    for attempt in range(LOCK_ATTEMPTS):
        # A token of our own: two locks never share an ETag, so If-Match names exactly one of them.
        body = json.dumps({"acquired_at": time.time(), "token": secrets.token_hex(8)}).encode()
        try:
            etag = client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")["ETag"]
            return Held(functools.partial(_release_s3_lock, client, bucket, key, etag))
        except ClientError as error:
            code = _error_code(error)
            if code == "ConditionalRequestConflict":  # 409: retry the put, as S3 documents
                time.sleep(_CONFLICT_BACKOFF_SECONDS * (attempt + 1) * random.random())
                continue
            if code != "PreconditionFailed":
                raise  # e.g. AccessDenied: a real fault, not a busy lock
        try:
            held = client.get_object(Bucket=bucket, Key=key)
            etag, holder = held["ETag"], _lock_body(held["Body"].read())
        except ClientError as error:
            if _error_code(error) in _MISSING:
                continue  # released between our put and this read: take it now
            raise
        if time.time() - holder.get("acquired_at", 0) < settings.request_timeout_seconds * 2:
            return None
        try:  # abandoned by a crashed request: remove exactly the lock we read, then compete for the key
            client.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
        except ClientError as error:
            if _error_code(error) not in _MISSING | _CHANGED:
                raise
            # Another request took it over (or released it) first: its lock decides in the next round.
    return None


_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_CHANGED = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


def _error_code(error) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _lock_body(raw: bytes) -> dict:
    """A lock's content; one that does not parse counts as taken at the epoch (abandoned)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _release_s3_lock(client, bucket: str, key: str, etag: str) -> None:
    """Delete our lock only: a 412 or 404 means it was taken over (we overran twice the request
    timeout) or is gone, and either way it is no longer ours to delete."""
    try:
        client.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as error:
        if _error_code(error) not in _MISSING | _CHANGED:
            raise
        log.warning("lock %s was no longer ours at release (%s)", key, _error_code(error))
